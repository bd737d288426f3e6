"""Reading, merging and deterministic packing of an LMI `serving.properties`."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

ARCHIVE_NAME = "model.tar.gz"


class ServingPropertiesError(ValueError):
    """A serving.properties line that is not `key=value`."""


def parse(text: str, source: str = "serving.properties") -> dict[str, str]:
    """Parse `key=value` lines (Java properties subset), keeping the file's order."""
    properties: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#!":
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise ServingPropertiesError(f"{source}:{number}: expected key=value, got {stripped!r}")
        properties[key.strip()] = value.strip()
    return properties


def with_options(properties: Mapping[str, str], options: Mapping[str, str]) -> dict[str, str]:
    """Apply `option.<name>` overrides given without their `option.` prefix."""
    merged = dict(properties)
    for name, value in options.items():
        merged[f"option.{name}"] = value
    return merged


def render(properties: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in properties.items())


def pack(properties: Mapping[str, str]) -> bytes:
    """A gzip tarball with serving.properties at its root, identical bytes for identical input.

    Timestamps, owners, modes and the gzip header are fixed. The compressed bytes can still differ
    between zlib builds, so the asset is identified by `content_hash`, not by these bytes.
    """
    content = render(properties).encode()
    info = tarfile.TarInfo("serving.properties")
    info.size = len(content)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(content))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue()


def content_hash(properties: Mapping[str, str]) -> str:
    """sha256 of the rendered file: what identifies the archive, whatever gzip produced."""
    return hashlib.sha256(render(properties).encode()).hexdigest()


def write_archive(archive: bytes, build_dir: Path, digest: str) -> Path:
    """Write `archive` as build_dir/<digest>/model.tar.gz (once) and return its path."""
    path = build_dir / digest[:32] / ARCHIVE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(archive)
        tmp.replace(path)
    return path
