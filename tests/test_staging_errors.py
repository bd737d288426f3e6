"""Staging against a real boto3 S3 client whose responses are stubbed (botocore's Stubber).

The client validates every request against the S3 model and parses the canned responses and
errors as it would S3's; no request leaves the process. The end-to-end runs against moto's S3
server are in tests/test_stage_model.py.
"""

from __future__ import annotations

import hashlib
import os
from io import BytesIO
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from tools.model_staging import s3_staging
from tools.model_staging.errors import CheckFailed, DestinationError
from tools.model_staging.manifest import MANIFEST_NAME, FileEntry, Manifest, TransferSettings
from tools.model_staging.sources import local_directory

BUCKET, PREFIX = "models-bucket", "models/acme/m/main/"
SMALL = TransferSettings(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=1)


@pytest.fixture
def s3():
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()


def listing(s3, objects: dict[str, tuple[int, str]], prefix: str = PREFIX, pages: int = 1) -> None:
    """Stub the paginated listing of `objects` (key relative to `prefix`: size, etag) in `pages` pages."""
    items = [{"Key": prefix + key, "Size": size, "ETag": f'"{etag}"'} for key, (size, etag) in objects.items()]
    per_page = max(1, -(-len(items) // pages))
    chunks = [items[i : i + per_page] for i in range(0, len(items), per_page)] or [[]]
    for n, chunk in enumerate(chunks):
        response: dict = {"IsTruncated": n < len(chunks) - 1, "KeyCount": len(chunk)}
        if chunk:
            response["Contents"] = chunk
        if n < len(chunks) - 1:
            response["NextContinuationToken"] = f"token-{n}"
        expected = {"Bucket": BUCKET, "Prefix": prefix} | ({"ContinuationToken": f"token-{n - 1}"} if n else {})
        s3.stubber.add_response("list_objects_v2", response, expected)


def error(s3, operation: str, code: str, message: str = "it failed", status: int = 400) -> None:
    s3.stubber.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=status)


def test_listing_collects_every_page_relative_to_the_prefix_without_etag_quotes(s3):
    listing(s3, {"a.json": (3, "e1"), "sub/b.bin": (4, "e2-2"), "c.txt": (0, "e3")}, pages=3)
    assert s3_staging.list_prefix(s3, BUCKET, PREFIX) == {
        "a.json": s3_staging.RemoteObject(3, "e1"),
        "sub/b.bin": s3_staging.RemoteObject(4, "e2-2"),
        "c.txt": s3_staging.RemoteObject(0, "e3"),
    }


def test_an_empty_prefix_lists_nothing(s3):
    listing(s3, {})
    assert s3_staging.list_prefix(s3, BUCKET, PREFIX) == {}


@pytest.mark.parametrize(
    ("code", "status", "says"),
    [
        ("NoSuchBucket", 404, f"bucket {BUCKET} does not exist (deploy the LlmModelBucket stack first)"),
        ("404", 404, f"bucket {BUCKET} does not exist"),
        ("AccessDenied", 403, f"access denied to bucket {BUCKET}"),
        ("403", 403, f"access denied to bucket {BUCKET}"),
        ("AllAccessDisabled", 403, f"access denied to bucket {BUCKET}"),
        ("SlowDown", 503, f"bucket {BUCKET}: SlowDown: it failed"),
    ],
)
def test_listing_errors_name_the_bucket_and_the_cause(s3, code, status, says):
    error(s3, "list_objects_v2", code, status=status)
    with pytest.raises(DestinationError) as raised:
        s3_staging.list_prefix(s3, BUCKET, PREFIX)
    assert says in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_error_without_code_or_message_still_names_the_bucket():
    assert str(s3_staging._destination_error(ClientError({}, "ListObjectsV2"), BUCKET)).startswith(f"bucket {BUCKET}: : ")
    only_code = ClientError({"Error": {"Code": "Teapot"}}, "ListObjectsV2")
    assert str(s3_staging._destination_error(only_code, BUCKET)) == f"bucket {BUCKET}: Teapot: {only_code}"


def write(directory: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_plan_uploads_only_what_differs_and_describes_every_file(s3, tmp_path):
    write(tmp_path, {"config.json": b"{}", "model.safetensors": b"weights", "tokenizer.model": b"tok", "notes.md": b"not a weight"})
    listing(s3, {"config.json": (2, md5(b"{}")), "model.safetensors": (7, "stale"), "tokenizer.model": (99, md5(b"tok"))})
    scanned: list[str] = []
    source = local_directory(tmp_path, repo_id="acme/m", revision="main")
    plan = s3_staging.plan(s3, BUCKET, PREFIX, source, SMALL, on_scan=scanned.append)
    assert scanned == ["config.json", "model.safetensors", "tokenizer.model"]
    assert [e.path for e, _ in plan.files] == scanned
    assert [(e.path, p) for e, p in plan.to_upload] == [
        ("model.safetensors", str(tmp_path / "model.safetensors")),
        ("tokenizer.model", str(tmp_path / "tokenizer.model")),
    ]
    assert plan.bytes_to_upload == 7 + 3
    assert plan.manifest.source == source.description
    assert plan.manifest.files == [e for e, _ in plan.files]
    assert plan.manifest.transfer == {"multipart_threshold": SMALL.multipart_threshold, "multipart_chunksize": SMALL.multipart_chunksize}


def test_plan_without_a_scan_callback(s3, tmp_path):
    write(tmp_path, {"a.json": b"1"})
    listing(s3, {"a.json": (1, md5(b"1"))})
    plan = s3_staging.plan(s3, BUCKET, PREFIX, local_directory(tmp_path, repo_id="r", revision="v"), SMALL)
    assert plan.to_upload == [] and plan.bytes_to_upload == 0


def put(s3, key: str, body: object = ANY, **extra: object) -> None:
    s3.stubber.add_response(
        "put_object", {"ETag": '"x"'}, {"Bucket": BUCKET, "Key": key, "Body": body, "ChecksumAlgorithm": "SHA256", **extra}
    )


def test_upload_puts_each_planned_file_then_the_manifest_last(s3, tmp_path):
    write(tmp_path, {"a.json": b"aa", "b.bin": b"bbb"})
    listing(s3, {"a.json": (2, md5(b"aa"))})
    plan = s3_staging.plan(s3, BUCKET, PREFIX, local_directory(tmp_path, repo_id="r", revision="v"), SMALL)
    put(s3, PREFIX + "b.bin")
    put(s3, PREFIX + MANIFEST_NAME, plan.manifest.to_json().encode(), ContentType="application/json")
    s3_staging.upload(s3, BUCKET, PREFIX, plan, SMALL)  # the stubber fails on any other call or order


class UploadSpy:
    """The real client, with the arguments of each upload_file call kept (the call still runs)."""

    def __init__(self, client) -> None:
        self.client = client
        self.uploads: list[dict] = []

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def upload_file(self, *args, **kwargs):
        self.uploads.append(kwargs)
        return self.client.upload_file(*args, **kwargs)


def test_upload_hands_the_transfer_settings_and_the_progress_callback_to_boto3(s3, tmp_path):
    write(tmp_path, {"a.json": b"aa"})
    listing(s3, {})
    transfer = TransferSettings(multipart_threshold=6 * 1024 * 1024, multipart_chunksize=7 * 1024 * 1024, max_concurrency=3)
    plan = s3_staging.plan(s3, BUCKET, PREFIX, local_directory(tmp_path, repo_id="r", revision="v"), transfer)
    put(s3, PREFIX + "a.json")
    put(s3, PREFIX + MANIFEST_NAME, ANY, ContentType="application/json")
    spy = UploadSpy(s3)
    progress = [].append
    s3_staging.upload(spy, BUCKET, PREFIX, plan, transfer, on_bytes=progress)
    [call] = spy.uploads
    config = call["Config"]
    assert (config.multipart_threshold, config.multipart_chunksize, config.max_concurrency) == (6 * 1024 * 1024, 7 * 1024 * 1024, 3)
    assert call["Callback"] is progress
    assert call["ExtraArgs"] == {"ChecksumAlgorithm": "SHA256"}


def test_upload_of_a_large_file_is_multipart_with_the_planned_part_size(s3, tmp_path):
    data = b"x" * (SMALL.multipart_chunksize + 10)
    write(tmp_path, {"big.safetensors": data})
    listing(s3, {})
    plan = s3_staging.plan(s3, BUCKET, PREFIX, local_directory(tmp_path, repo_id="r", revision="v"), SMALL)
    key = PREFIX + "big.safetensors"
    # No upload of it left unfinished by an earlier run: a new one.
    s3.stubber.add_response("list_multipart_uploads", {"Uploads": []}, {"Bucket": BUCKET, "Prefix": key})
    s3.stubber.add_response(
        "create_multipart_upload",
        {"UploadId": "u1", "Bucket": BUCKET, "Key": key},
        {"Bucket": BUCKET, "Key": key, "ChecksumAlgorithm": "SHA256"},
    )
    for number in (1, 2):
        s3.stubber.add_response(
            "upload_part",
            {"ETag": f'"p{number}"'},
            {"Bucket": BUCKET, "Key": key, "UploadId": "u1", "PartNumber": number, "Body": ANY, "ChecksumAlgorithm": "SHA256"},
        )
    parts = {"Parts": [{"PartNumber": 1, "ETag": '"p1"'}, {"PartNumber": 2, "ETag": '"p2"'}]}
    s3.stubber.add_response("complete_multipart_upload", {}, {"Bucket": BUCKET, "Key": key, "UploadId": "u1", "MultipartUpload": parts})
    put(s3, PREFIX + MANIFEST_NAME, ANY, ContentType="application/json")
    s3_staging.upload(s3, BUCKET, PREFIX, plan, SMALL)
    assert plan.files[0][0].etag.endswith("-2")  # the manifest expects the two parts sent


def test_an_upload_error_stops_before_the_manifest(s3, tmp_path):
    write(tmp_path, {"a.json": b"aa"})
    listing(s3, {})
    plan = s3_staging.plan(s3, BUCKET, PREFIX, local_directory(tmp_path, repo_id="r", revision="v"), SMALL)
    manifest_only = s3_staging.Plan(plan.files, [], plan.manifest)
    error(s3, "put_object", "AccessDenied", status=403)
    with pytest.raises(DestinationError, match=f"access denied to bucket {BUCKET}") as raised:
        s3_staging.upload(s3, BUCKET, PREFIX, manifest_only, SMALL)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def manifest_of(entries: list[FileEntry]) -> bytes:
    return Manifest(source={"kind": "local"}, files=entries).to_json().encode()


ENTRIES = [FileEntry("a.json", 2, "sha-a", "ea"), FileEntry("b.bin", 3, "sha-b", "eb")]


def stub_check(s3, remote: dict[str, tuple[int, str]], entries: list[FileEntry] = ENTRIES) -> None:
    body = manifest_of(entries)
    listing(s3, {**remote, MANIFEST_NAME: (len(body), "m")})
    s3.stubber.add_response(
        "get_object", {"Body": StreamingBody(BytesIO(body), len(body))}, {"Bucket": BUCKET, "Key": PREFIX + MANIFEST_NAME}
    )


def test_check_returns_the_manifest_when_every_file_matches(s3):
    stub_check(s3, {"a.json": (2, "ea"), "b.bin": (3, "eb"), "extra.txt": (1, "z")})
    manifest = s3_staging.check(s3, BUCKET, PREFIX)
    assert manifest.files == ENTRIES


def test_check_without_a_manifest_says_nothing_is_staged(s3):
    listing(s3, {"a.json": (2, "ea")})
    with pytest.raises(CheckFailed, match=f"s3://{BUCKET}/{PREFIX} has no {MANIFEST_NAME}"):
        s3_staging.check(s3, BUCKET, PREFIX)


def test_check_names_each_missing_resized_or_changed_file(s3):
    stub_check(s3, {"b.bin": (4, "eb")})
    with pytest.raises(CheckFailed) as raised:
        s3_staging.check(s3, BUCKET, PREFIX)
    assert str(raised.value) == f"s3://{BUCKET}/{PREFIX} does not match its manifest: a.json missing; b.bin has 4 bytes, expected 3"


def test_check_names_a_changed_etag(s3):
    stub_check(s3, {"a.json": (2, "ea"), "b.bin": (3, "other")})
    with pytest.raises(CheckFailed, match=r"b.bin content differs \(ETag other, expected eb\)$"):
        s3_staging.check(s3, BUCKET, PREFIX)


@pytest.mark.parametrize(("missing", "suffix"), [(5, ""), (6, " (+1 more)"), (8, " (+3 more)")])
def test_check_lists_the_first_five_mismatches_and_counts_the_rest(s3, missing, suffix):
    entries = [FileEntry(f"f{i}.bin", 1, "s", "e") for i in range(missing)]
    stub_check(s3, {}, entries)
    with pytest.raises(CheckFailed) as raised:
        s3_staging.check(s3, BUCKET, PREFIX)
    message = str(raised.value)
    assert message.endswith("f4.bin missing" + suffix)
    assert "f5.bin" not in message


def test_check_reports_a_manifest_that_cannot_be_read(s3):
    listing(s3, {MANIFEST_NAME: (10, "m")})
    error(s3, "get_object", "AccessDenied", status=403)
    with pytest.raises(DestinationError, match=f"access denied to bucket {BUCKET}") as raised:
        s3_staging.check(s3, BUCKET, PREFIX)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_delete_removes_every_listed_key_in_batches_of_a_thousand(s3):
    objects = {f"k{i:04}": (1, "e") for i in range(1001)}
    listing(s3, objects, pages=2)
    keys = [PREFIX + k for k in objects]
    for batch in (keys[:1000], keys[1000:]):
        s3.stubber.add_response("delete_objects", {}, {"Bucket": BUCKET, "Delete": {"Objects": [{"Key": k} for k in batch], "Quiet": True}})
    assert s3_staging.delete_prefix(s3, BUCKET, PREFIX) == 1001


def test_delete_of_an_empty_prefix_calls_nothing(s3):
    listing(s3, {})
    assert s3_staging.delete_prefix(s3, BUCKET, PREFIX) == 0


def test_delete_errors_name_the_bucket(s3):
    listing(s3, {"a": (1, "e")})
    error(s3, "delete_objects", "NoSuchBucket", status=404)
    with pytest.raises(DestinationError, match=f"bucket {BUCKET} does not exist") as raised:
        s3_staging.delete_prefix(s3, BUCKET, PREFIX)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_batches():
    assert list(s3_staging._batches([], 2)) == []
    assert list(s3_staging._batches(["a", "b", "c"], 2)) == [["a", "b"], ["c"]]
    assert list(s3_staging._batches(["a", "b"], 2)) == [["a", "b"]]


def test_a_file_unchanged_since_the_last_run_is_not_read_again_and_a_changed_one_is(tmp_path):
    from tools.model_staging.manifest import HashCache, describe_file

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x" * 3000)
    cache_file = tmp_path / "cache" / "hashes.json"
    read: list[int] = []
    first = describe_file(weights, "model.safetensors", SMALL, HashCache(cache_file), read.append)
    assert sum(read) == 3000 and cache_file.is_file()
    read.clear()
    again = describe_file(weights, "model.safetensors", SMALL, HashCache(cache_file), read.append)  # a new run: the file's cache
    assert (again, sum(read)) == (first, 0)
    weights.write_bytes(b"y" * 3000)  # same size, new content and modification time
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000))
    changed = describe_file(weights, "model.safetensors", SMALL, HashCache(cache_file), read.append)
    assert sum(read) == 3000 and changed.sha256 != first.sha256 and changed.size == first.size
    cache_file.write_text("{not json")  # a damaged cache costs a re-read, nothing else
    read.clear()
    assert describe_file(weights, "model.safetensors", SMALL, HashCache(cache_file), read.append) == changed and sum(read) == 3000


def test_the_newest_unfinished_upload_of_the_key_resumes_keeping_matching_parts(s3, tmp_path):
    import datetime
    import hashlib

    from tools.model_staging import resume

    chunk = 8
    path = tmp_path / "big.bin"
    path.write_bytes(b"a" * chunk + b"b" * chunk + b"c" * 3)  # parts of 8, 8 and 3 bytes
    key = PREFIX + "big.bin"
    day = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    uploads = [
        {"Key": key, "UploadId": "old", "Initiated": day},
        {"Key": key, "UploadId": "new", "Initiated": day + datetime.timedelta(hours=1)},
        {"Key": key + ".other", "UploadId": "x", "Initiated": day + datetime.timedelta(hours=2)},  # another key with this prefix
    ]
    s3.stubber.add_response("list_multipart_uploads", {"Uploads": uploads}, {"Bucket": BUCKET, "Prefix": key})
    md5 = hashlib.md5(b"a" * chunk, usedforsecurity=False).hexdigest()
    parts = [
        {"PartNumber": 1, "ETag": f'"{md5}"', "Size": chunk, "ChecksumSHA256": "c1"},  # right: kept
        {"PartNumber": 2, "ETag": f'"{md5}"', "Size": chunk},  # the first part's bytes where the second's belong: sent again
        {"PartNumber": 3, "ETag": '"e3"', "Size": 2},  # wrong size: sent again
    ]
    s3.stubber.add_response("list_parts", {"Parts": parts}, {"Bucket": BUCKET, "Key": key, "UploadId": "new"})
    for number, body in ((2, b"b" * chunk), (3, b"ccc")):
        s3.stubber.add_response(
            "upload_part",
            {"ETag": f'"n{number}"', "ChecksumSHA256": f"s{number}"},
            {"Bucket": BUCKET, "Key": key, "UploadId": "new", "PartNumber": number, "Body": body, "ChecksumAlgorithm": "SHA256"},
        )
    completed = {
        "Parts": [
            {"PartNumber": 1, "ETag": f'"{md5}"', "ChecksumSHA256": "c1"},
            {"PartNumber": 2, "ETag": '"n2"', "ChecksumSHA256": "s2"},
            {"PartNumber": 3, "ETag": '"n3"', "ChecksumSHA256": "s3"},
        ]
    }
    s3.stubber.add_response(
        "complete_multipart_upload", {}, {"Bucket": BUCKET, "Key": key, "UploadId": "new", "MultipartUpload": completed}
    )
    sent: list[int] = []
    assert resume.upload_resumable(s3, BUCKET, key, path, chunk, 1, sent.append) == 1
    assert sent == [8, 8, 3]  # every part counts toward the progress, kept or sent


def test_no_unfinished_upload_of_the_key_is_none(s3):
    from tools.model_staging import resume

    key = PREFIX + "big.bin"
    s3.stubber.add_response("list_multipart_uploads", {"Uploads": [{"Key": key + "x", "UploadId": "x"}]}, {"Bucket": BUCKET, "Prefix": key})
    assert resume.unfinished_upload(s3, BUCKET, key) is None
