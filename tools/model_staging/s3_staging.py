"""Upload a source to `s3://bucket/prefix`, resumable and idempotent; check and delete a prefix.

What is already there is found by one paginated listing: an object whose size and ETag equal the
local file's expected ones is skipped. Small files go through boto3's transfer manager, large ones
as multipart uploads a later run resumes part by part (resume.py); SHA-256 checksums are verified
by S3 either way. The manifest is written last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tools.model_staging.errors import CheckFailed, DestinationError
from tools.model_staging.manifest import MANIFEST_NAME, FileEntry, HashCache, Manifest, TransferSettings, describe_file, part_size
from tools.model_staging.resume import upload_resumable
from tools.model_staging.sources import Source, weight_files


@dataclass(frozen=True)
class RemoteObject:
    size: int
    etag: str


@dataclass
class Plan:
    files: list[tuple[FileEntry, str]]  # entry and local path
    to_upload: list[tuple[FileEntry, str]]
    manifest: Manifest

    @property
    def bytes_to_upload(self) -> int:
        return sum(entry.size for entry, _ in self.to_upload)


def list_prefix(s3: Any, bucket: str, prefix: str) -> dict[str, RemoteObject]:
    """Every object under `prefix` (key relative to it) with size and ETag: one paginated listing."""
    found: dict[str, RemoteObject] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"][len(prefix) :]] = RemoteObject(item["Size"], item["ETag"].strip('"'))
    except ClientError as error:
        raise _destination_error(error, bucket) from None
    return found


def plan(
    s3: Any,
    bucket: str,
    prefix: str,
    source: Source,
    transfer: TransferSettings,
    on_scan: Callable[[str], None] = lambda name: None,
    cache: HashCache | None = None,
    on_hashed: Callable[[int], None] = lambda n: None,
) -> Plan:
    """What to upload: each weight file's hashes (read once, then from `cache`) against the prefix's objects."""
    remote = list_prefix(s3, bucket, prefix)
    files = []
    for relative, path in weight_files(source):
        on_scan(relative)
        files.append((describe_file(path, relative, transfer, cache, on_hashed), str(path)))
    to_upload = [(e, p) for e, p in files if remote.get(e.path) != RemoteObject(e.size, e.etag)]
    manifest = Manifest(
        source=source.description,
        files=[e for e, _ in files],
        transfer={"multipart_threshold": transfer.multipart_threshold, "multipart_chunksize": transfer.multipart_chunksize},
    )
    return Plan(files, to_upload, manifest)


def upload(
    s3: Any,
    bucket: str,
    prefix: str,
    staged: Plan,
    transfer: TransferSettings,
    on_bytes: Callable[[int], None] = lambda n: None,
    on_resumed: Callable[[str, int], None] = lambda path, parts: None,
) -> None:
    """Upload what the plan lists, then the manifest (only once everything else is in place).

    A multipart file resumes an upload an earlier run left unfinished (`on_resumed` hears how many
    of its parts were kept)."""
    config = TransferConfig(
        multipart_threshold=transfer.multipart_threshold,
        multipart_chunksize=transfer.multipart_chunksize,
        max_concurrency=transfer.max_concurrency,
    )
    extra = {"ChecksumAlgorithm": "SHA256"}
    try:
        for entry, path in staged.to_upload:
            chunk = part_size(entry.size, transfer)
            if chunk is None:
                s3.upload_file(path, bucket, prefix + entry.path, ExtraArgs=extra, Config=config, Callback=on_bytes)
            else:  # a later run resumes it part by part
                kept = upload_resumable(s3, bucket, prefix + entry.path, Path(path), chunk, transfer.max_concurrency, on_bytes)
                on_resumed(entry.path, kept)
        s3.put_object(
            Bucket=bucket,
            Key=prefix + MANIFEST_NAME,
            Body=staged.manifest.to_json().encode(),
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
        )
    except ClientError as error:
        raise _destination_error(error, bucket) from None


def check(s3: Any, bucket: str, prefix: str) -> Manifest:
    """The manifest, if every file it lists is present with its size and ETag; else CheckFailed."""
    remote = list_prefix(s3, bucket, prefix)
    if MANIFEST_NAME not in remote:
        raise CheckFailed(f"s3://{bucket}/{prefix} has no {MANIFEST_NAME}: nothing staged there, or staging did not finish")
    try:
        body = s3.get_object(Bucket=bucket, Key=prefix + MANIFEST_NAME)["Body"].read()
    except ClientError as error:
        raise _destination_error(error, bucket) from None
    manifest = Manifest.from_json(body.decode())
    bad = [line for entry in manifest.files if (line := _mismatch(entry, remote.get(entry.path)))]
    if bad:
        raise CheckFailed(
            f"s3://{bucket}/{prefix} does not match its manifest: {'; '.join(bad[:5])}"
            + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else "")
        )
    return manifest


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix` (current versions; the bucket's lifecycle ends old ones)."""
    keys = [prefix + key for key in list_prefix(s3, bucket, prefix)]
    try:
        for batch in _batches(keys, 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
    except ClientError as error:
        raise _destination_error(error, bucket) from None
    return len(keys)


def _mismatch(entry: FileEntry, remote: RemoteObject | None) -> str | None:
    if remote is None:
        return f"{entry.path} missing"
    if remote.size != entry.size:
        return f"{entry.path} has {remote.size} bytes, expected {entry.size}"
    if remote.etag != entry.etag:
        return f"{entry.path} content differs (ETag {remote.etag}, expected {entry.etag})"
    return None


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _destination_error(error: ClientError, bucket: str) -> DestinationError:
    code = error.response.get("Error", {}).get("Code", "")
    if code in {"NoSuchBucket", "404"}:
        return DestinationError(f"bucket {bucket} does not exist (deploy the LlmModelBucket stack first)")
    if code in {"AccessDenied", "403", "AllAccessDisabled"}:
        return DestinationError(f"access denied to bucket {bucket}: check the credentials' S3 permissions on it")
    return DestinationError(f"bucket {bucket}: {code}: {error.response.get('Error', {}).get('Message', error)}")
