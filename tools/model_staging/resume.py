"""A large file's upload that a later run resumes part by part.

boto3's transfer manager aborts its multipart upload when the upload fails or is interrupted, so
an interrupted 10 GB shard starts again from zero. Here a large file goes up as our own multipart
upload, left in place when the run stops (the model bucket's lifecycle rule removes uploads left
unfinished for 7 days); the next run finds it, keeps every part whose size and MD5 match the
local file's bytes, sends the rest and completes it. The parts are the transfer settings' parts,
so the object's ETag is the one the plan expects.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def unfinished_upload(s3: Any, bucket: str, key: str) -> tuple[str, dict[int, dict]] | None:
    """The newest multipart upload of `key` left unfinished, and its parts by number."""
    uploads = [
        upload
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key)
        for upload in page.get("Uploads", [])
        if upload["Key"] == key
    ]
    if not uploads:
        return None
    upload_id = max(uploads, key=lambda u: u["Initiated"])["UploadId"]
    parts = {
        part["PartNumber"]: part
        for page in s3.get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload_id)
        for part in page.get("Parts", [])
    }
    return upload_id, parts


def upload_resumable(
    s3: Any,
    bucket: str,
    key: str,
    path: Path,
    chunk: int,
    max_concurrency: int,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> int:
    """Upload `path` to `key` in parts of `chunk` bytes, resuming an unfinished upload; the number
    of parts kept from it."""
    found = unfinished_upload(s3, bucket, key)
    done: dict[int, dict] = {}
    if found is None:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    else:
        upload_id, done = found
    size = path.stat().st_size
    kept: list[int] = []

    def send(number: int) -> dict:
        with path.open("rb") as handle:
            handle.seek((number - 1) * chunk)
            data = handle.read(chunk)
        old = done.get(number)
        if old is not None and old["Size"] == len(data) and old["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest():
            kept.append(number)
            part = {"PartNumber": number, "ETag": old["ETag"]}
        else:
            answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, ChecksumAlgorithm="SHA256")
            part = {"PartNumber": number, "ETag": answer["ETag"]}
            old = answer
        if old.get("ChecksumSHA256"):
            part["ChecksumSHA256"] = old["ChecksumSHA256"]
        on_bytes(len(data))
        return part

    with ThreadPoolExecutor(max_workers=max_concurrency) as pool:
        parts = list(pool.map(send, range(1, math.ceil(size / chunk) + 1)))
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return len(kept)
