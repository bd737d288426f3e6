"""The manifest of a staged prefix, and the S3 ETag a file will have once uploaded.

The manifest is written after every file is in place, so a prefix without one is never taken for
complete. Each entry holds the expected ETag (MD5, or MD5 of part MD5s for multipart uploads with
the recorded part size): a listing alone then proves which objects match, with no per-object call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from s3transfer.utils import ChunksizeAdjuster

MANIFEST_NAME = "staging-manifest.json"
FORMAT_VERSION = 1
_READ_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class TransferSettings:
    """boto3 transfer settings; part size decides multipart ETags, so it is recorded."""

    multipart_threshold: int = 64 * 1024 * 1024
    multipart_chunksize: int = 64 * 1024 * 1024
    max_concurrency: int = 8


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative, with "/" separators
    size: int
    sha256: str
    etag: str


@dataclass
class Manifest:
    source: dict
    files: list[FileEntry] = field(default_factory=list)
    transfer: dict = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(
            source=data["source"], files=[FileEntry(**f) for f in data["files"]], transfer=data.get("transfer", {}), format=data["format"]
        )


def part_size(size: int, transfer: TransferSettings) -> int | None:
    """The part size boto3 will use for a file of `size` bytes, or None for a single PUT."""
    if size < transfer.multipart_threshold:
        return None
    return ChunksizeAdjuster().adjust_chunksize(transfer.multipart_chunksize, size)


class HashCache:
    """sha256 and ETag of files already read, by path, size, modification time and part size, in a
    JSON file: a re-run (a resume, a check) does not read a 26 GB model again. A file rewritten in
    place changes its modification time, so it is read again."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, list[str]] = {}
        if path is not None and path.is_file():
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}  # a damaged cache only costs a re-read

    @staticmethod
    def key(path: Path, chunk: int | None) -> str:
        stat = path.stat()
        return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{chunk}"

    def get(self, path: Path, chunk: int | None) -> tuple[str, str] | None:
        found = self.entries.get(self.key(path, chunk))
        return (found[0], found[1]) if found else None

    def put(self, path: Path, chunk: int | None, sha256: str, etag: str) -> None:
        self.entries[self.key(path, chunk)] = [sha256, etag]
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(self.entries))
            partial.replace(self.path)  # never a half-written cache


def describe_file(
    path: Path,
    relative: str,
    transfer: TransferSettings,
    cache: HashCache | None = None,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> FileEntry:
    """Size, sha256 and expected ETag of a local file, in one read (none when `cache` knows it);
    `on_bytes` hears each block read."""
    size = path.stat().st_size
    chunk = part_size(size, transfer)
    known = cache.get(path, chunk) if cache is not None else None
    if known is not None:
        return FileEntry(relative, size, known[0], known[1])
    sha = hashlib.sha256()
    whole = hashlib.md5(usedforsecurity=False)
    parts: list[bytes] = []
    part = hashlib.md5(usedforsecurity=False)
    in_part = 0
    with path.open("rb") as handle:
        while block := handle.read(_READ_SIZE if chunk is None else min(_READ_SIZE, chunk - in_part)):
            on_bytes(len(block))
            sha.update(block)
            if chunk is None:
                whole.update(block)
                continue
            part.update(block)
            in_part += len(block)
            if in_part == chunk:
                parts.append(part.digest())
                part, in_part = hashlib.md5(usedforsecurity=False), 0
    if chunk is None:
        etag = whole.hexdigest()
    else:
        if in_part:
            parts.append(part.digest())
        etag = f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"
    if cache is not None:
        cache.put(path, chunk, sha.hexdigest(), etag)
    return FileEntry(relative, size, sha.hexdigest(), etag)
