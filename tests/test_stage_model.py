"""llm-stage-model with the real boto3 transfer code against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import boto3
import pytest

from tests.conftest import ROOT, aws_test_environment
from tools.cli import stage_model
from tools.model_staging.manifest import MANIFEST_NAME, Manifest, TransferSettings, describe_file

# Slow end to end (CLI subprocesses, servers on 127.0.0.1): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e

BUCKET = "llm-models-111122223333-us-east-1"
PART = 5 * 2**20  # S3's smallest part size, so a 12 MiB file is a 3-part multipart upload


@pytest.fixture
def env(moto_url, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HF_"))}
    environment |= aws_test_environment(moto_url) | {"HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1"}
    environment["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # the hash cache stays in the test's directory
    return environment


@pytest.fixture
def s3(env):
    client = boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        versions = [
            {"Key": item["Key"], "VersionId": item["VersionId"]} for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if versions:  # a page holds at most 1,000: one DeleteObjects call each
            assert not client.delete_objects(Bucket=BUCKET, Delete={"Objects": versions, "Quiet": True}).get("Errors")


def make_model(directory: Path, shards: int = 2, shard_bytes: int = 12 * 2**20) -> Path:
    """A small model directory: configs, tokenizer, safetensors shards, and files to leave out."""
    directory.mkdir(parents=True)
    (directory / "config.json").write_text('{"num_hidden_layers": 2}')
    (directory / "tokenizer.model").write_bytes(os.urandom(4096))
    for i in range(1, shards + 1):
        (directory / f"model-{i:05d}-of-{shards:05d}.safetensors").write_bytes(os.urandom(shard_bytes))
    (directory / "README.md").write_text("not a weight file")
    return directory


STAGE = ("--bucket", BUCKET, "--quiet", "--part-size-mib", "5")


def stage(env, *args: str, bucket: bool = True) -> subprocess.CompletedProcess:
    """llm-stage-model's main() in this process, with `env` as its whole environment: the code a
    mutation run sees, without a Python start per call. The tests of the console script as users
    run it (a kill mid-upload, a missing bucket, the hub's cache read at import) use `stage_process`.
    `bucket=False` leaves out --bucket (the bucket then comes from a stack's outputs)."""
    argv = [*(STAGE if bucket else STAGE[2:]), *args]
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = stage_model.main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(["llm-stage-model", *argv], code, out.getvalue(), err.getvalue())


def stage_process(env, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "tools.cli.stage_model", *STAGE, *args]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def listing(s3, prefix: str) -> dict[str, tuple[int, str]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix) :]: (o["Size"], o["ETag"].strip('"')) for p in pages for o in p.get("Contents", [])}


def test_full_upload_stages_weight_files_and_manifest(env, s3, tmp_path):
    model = make_model(tmp_path / "model")
    result = stage(env, "--source-dir", str(model), "--model-id", "acme/tiny", "--revision", "main")
    assert result.returncode == 0, result.stderr
    objects = listing(s3, "models/acme/tiny/main/")
    assert sorted(objects) == sorted(
        ["config.json", "tokenizer.model", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", MANIFEST_NAME]
    )
    transfer = TransferSettings(multipart_threshold=PART, multipart_chunksize=PART)
    shard = describe_file(model / "model-00001-of-00002.safetensors", "x", transfer)
    assert objects["model-00001-of-00002.safetensors"] == (shard.size, shard.etag)
    assert shard.etag.endswith("-3")  # multipart: the ETag moto computed matches the local one
    manifest = Manifest.from_json(s3.get_object(Bucket=BUCKET, Key=f"models/acme/tiny/main/{MANIFEST_NAME}")["Body"].read().decode())
    expected_sha = hashlib.sha256((model / "model-00002-of-00002.safetensors").read_bytes()).hexdigest()
    assert {f.path: f.sha256 for f in manifest.files}["model-00002-of-00002.safetensors"] == expected_sha
    assert manifest.source == {"kind": "local", "repo_id": "acme/tiny", "revision": "main", "directory": str(model)}


def test_rerun_uploads_nothing(env, s3, tmp_path):
    model = make_model(tmp_path / "model")
    assert stage(env, "--source-dir", str(model), "--prefix", "p/").returncode == 0
    before = s3.list_objects_v2(Bucket=BUCKET, Prefix="p/")["Contents"]
    again = stage(env, "--source-dir", str(model), "--prefix", "p/")
    assert again.returncode == 0
    assert "uploaded 0 (0 bytes)" in again.stderr and "4 unchanged" in again.stderr
    after = s3.list_objects_v2(Bucket=BUCKET, Prefix="p/")["Contents"]
    assert [o["LastModified"] for o in after if o["Key"] != f"p/{MANIFEST_NAME}"] == [
        o["LastModified"] for o in before if o["Key"] != f"p/{MANIFEST_NAME}"
    ]


def test_changed_file_is_uploaded_again(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=1024)
    assert stage(env, "--source-dir", str(model), "--prefix", "c/").returncode == 0
    (model / "config.json").write_text('{"num_hidden_layers": 3}')
    again = stage(env, "--source-dir", str(model), "--prefix", "c/")
    assert "uploaded 1 " in again.stderr
    assert s3.get_object(Bucket=BUCKET, Key="c/config.json")["Body"].read() == b'{"num_hidden_layers": 3}'


def test_interrupted_upload_resumes_to_identical_objects_with_manifest_last(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=60, shard_bytes=2**20)
    argv = [
        sys.executable,
        "-m",
        "tools.cli.stage_model",
        "--bucket",
        BUCKET,
        "--quiet",
        "--concurrency",
        "1",
        "--source-dir",
        str(model),
        "--prefix",
        "i/",
    ]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(listing(s3, "i/")) < 5 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # moto's server may still finish a PUT whose body arrived before the kill: list until it is still.
    partial, settled = None, listing(s3, "i/")
    while settled != partial:
        partial = settled
        time.sleep(0.2)
        settled = listing(s3, "i/")
    assert 5 <= len(partial) < 62, "the kill must land mid-upload"
    assert MANIFEST_NAME not in partial  # a half-finished upload never looks complete
    assert stage(env, "--source-dir", str(model), "--prefix", "i/", "--check").returncode == 6

    resumed = stage(env, "--source-dir", str(model), "--prefix", "i/")
    assert resumed.returncode == 0, resumed.stderr
    uploaded = int(resumed.stderr.split("uploaded ")[1].split(" ")[0])
    assert uploaded == 62 - len(partial)  # only what was missing
    final = listing(s3, "i/")
    transfer = TransferSettings(multipart_threshold=64 * 2**20, multipart_chunksize=64 * 2**20)
    for name in ("model-00001-of-00060.safetensors", "model-00060-of-00060.safetensors"):
        assert final[name][1] == describe_file(model / name, name, transfer).etag
    assert stage(env, "--source-dir", str(model), "--prefix", "i/", "--check").returncode == 0


def test_check_detects_a_corrupted_object(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=4096)
    assert stage(env, "--source-dir", str(model), "--prefix", "k/").returncode == 0
    assert stage(env, "--prefix", "k/", "--check").returncode == 0
    s3.put_object(Bucket=BUCKET, Key="k/model-00001-of-00001.safetensors", Body=os.urandom(4096))  # same size
    result = stage(env, "--prefix", "k/", "--check")
    assert result.returncode == 6
    assert "model-00001-of-00001.safetensors content differs" in result.stderr


def test_check_of_an_empty_prefix_fails(env, s3):
    result = stage(env, "--prefix", "nothing-here/", "--check")
    assert result.returncode == 6 and "has no staging-manifest.json" in result.stderr


def test_dry_run_uploads_nothing(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=1024)
    result = stage(env, "--source-dir", str(model), "--prefix", "d/", "--dry-run")
    assert result.returncode == 0 and "dry run: 3 of 3 files" in result.stderr
    assert listing(s3, "d/") == {}


def test_delete_needs_confirmation_then_removes_the_prefix(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=1024)
    assert stage(env, "--source-dir", str(model), "--prefix", "x/").returncode == 0
    refused = stage(env, "--prefix", "x/", "--delete")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    assert len(listing(s3, "x/")) == 4
    assert stage(env, "--prefix", "x/", "--delete", "--yes").returncode == 0
    assert listing(s3, "x/") == {}


def test_app_name_reads_the_bucket_from_that_apps_stack(env, s3):
    result = stage(env, "--app-name", "team-a", "--prefix", "p/", "--check", bucket=False)
    assert result.returncode == 4
    assert "team-a-LlmModelBucket" in result.stderr and result.stderr.rstrip().endswith("pass --bucket")


def test_missing_bucket_is_one_line(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=1024)
    argv = [sys.executable, "-m", "tools.cli.stage_model", "--bucket", "no-such-bucket-here", "--quiet", "--source-dir", str(model)]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "error: bucket no-such-bucket-here does not exist (deploy the LlmModelBucket stack first)"
    assert [line for line in lines if "error" in line.lower()] == lines[-1:] and "Traceback" not in result.stderr


def hub_cache(home: Path, repo_id: str, commit: str, files: dict[str, bytes]) -> None:
    """The hub cache layout huggingface_hub reads offline: blobs, a snapshot of links, refs/main."""
    repo = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    for name, content in files.items():
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))


def test_hub_source_through_huggingface_hub_offline_cache(env, s3, tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    files = {"config.json": b"{}", "model.safetensors": os.urandom(2048), "tokenizer.model": b"tok", "notes.md": b"left out"}
    hub_cache(Path(env["HF_HOME"]), "acme/tiny-llm", commit, files)
    result = stage_process(env, "--model-id", "acme/tiny-llm", "--revision", "main")
    assert result.returncode == 0, result.stderr
    prefix = "models/acme/tiny-llm/main/"
    assert sorted(listing(s3, prefix)) == sorted(["config.json", "model.safetensors", "tokenizer.model", MANIFEST_NAME])
    manifest = Manifest.from_json(s3.get_object(Bucket=BUCKET, Key=prefix + MANIFEST_NAME)["Body"].read().decode())
    assert manifest.source == {"kind": "hub", "repo_id": "acme/tiny-llm", "revision": "main", "commit": commit}


def test_hub_revision_not_available_is_one_line(env, s3):
    result = stage_process(env, "--model-id", "acme/not-cached", "--revision", "v9")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1] == "error: acme/not-cached@v9 is not in the local hub cache and the hub cannot be reached"


def test_variant_stages_that_deployments_own_model_under_its_prefix(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=1024)
    result = stage(env, "--profile-name", "current", "--variant", "vllm", "--source-dir", str(model), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "models/Qwen/Qwen3-14B/main/" in result.stdout + result.stderr
    unknown = stage(env, "--profile-name", "current", "--variant", "tgi", "--source-dir", str(model), "--dry-run")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().endswith("--variant tgi: no such deployment in profile current; have: vllm, sglang")


def test_a_local_directory_says_its_name_and_what_it_skips_in_readable_units(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1, shard_bytes=12 * 2**20)
    (model / "README.md").write_text("notes")
    (model / "train.py").write_text("print()")
    result = stage(env, "--source-dir", str(model), "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert f"staging {model} as meta-llama/Llama-2-13b-chat-hf@main, named by the profile's model.id" in lines[0]
    assert "--model-id to name it otherwise" in lines[0]
    (skipping,) = [line for line in lines if line.startswith("skipping")]
    assert skipping.endswith(": README.md, train.py") and skipping.startswith("skipping 2 file(s) no allow pattern matches (*.json")
    assert lines[-1].startswith("dry run: 3 of 3 files (12.") and " MB of 12." in lines[-1]


def test_sizes_are_in_the_largest_whole_unit():
    assert [stage_model.size(n) for n in (0, 999, 1_000, 12_582_912, 26_000_000_000)] == [
        "0 bytes",
        "999 bytes",
        "1.00 kB",
        "12.58 MB",
        "26.00 GB",
    ]


def test_a_large_file_left_half_uploaded_resumes_from_its_parts(env, s3, tmp_path):
    model = make_model(tmp_path / "model", shards=1)  # one 12 MiB shard: three 5 MiB parts
    shard = model / "model-00001-of-00001.safetensors"
    key = f"models/acme/tiny/main/{shard.name}"
    data = shard.read_bytes()
    # What an interrupted run leaves: an unfinished upload with part 1 right and part 2 of other bytes.
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=data[:PART], ChecksumAlgorithm="SHA256")
    s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=2, Body=b"z" * PART, ChecksumAlgorithm="SHA256")
    result = stage(env, "--source-dir", str(model), "--model-id", "acme/tiny", "--revision", "main")
    assert result.returncode == 0, result.stderr
    assert f"resumed {shard.name}: 1 part(s) already uploaded kept" in result.stderr
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data  # part 2 was sent again
    manifest = Manifest.from_json(s3.get_object(Bucket=BUCKET, Key=f"models/acme/tiny/main/{MANIFEST_NAME}")["Body"].read().decode())
    (entry,) = [f for f in manifest.files if f.path == shard.name]
    assert listing(s3, "models/acme/tiny/main/")[shard.name] == (entry.size, entry.etag)  # the ETag the plan expected
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []  # nothing left behind
    check = stage(env, "--model-id", "acme/tiny", "--revision", "main", "--check")
    assert check.returncode == 0, check.stderr
