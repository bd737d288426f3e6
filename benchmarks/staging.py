"""Upload throughput of the staging code to moto's S3 server on 127.0.0.1, and a no-op re-run.

Usage: .venv/bin/python benchmarks/staging.py [--large-mib 1024] [--small-files 100] [--concurrency 8]

Prints MB/s for one large sparse file (multipart) and for many small files (one PUT each), with
the transfer settings used, and the time a re-run over the staged small files takes when nothing
changed (target < 2 s: one listing plus local hashing, no per-object calls).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import tempfile
import time
from pathlib import Path

import boto3

from tools.model_staging import s3_staging
from tools.model_staging.manifest import TransferSettings
from tools.model_staging.sources import local_directory

ROOT = Path(__file__).resolve().parent.parent


def stage(s3, directory: Path, prefix: str, transfer: TransferSettings) -> tuple[float, int, int]:
    source = local_directory(directory, repo_id="bench/model", revision="main")
    start = time.perf_counter()
    plan = s3_staging.plan(s3, "bench", prefix, source, transfer)
    s3_staging.upload(s3, "bench", prefix, plan, transfer)
    return time.perf_counter() - start, plan.bytes_to_upload, len(plan.to_upload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--small-files", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    s3.create_bucket(Bucket="bench")
    transfer = TransferSettings(max_concurrency=args.concurrency)
    print(
        f"transfer: part size {transfer.multipart_chunksize // 2**20} MiB, multipart from {transfer.multipart_threshold // 2**20} MiB, concurrency {transfer.max_concurrency}; SHA-256 checksums on"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            large = Path(tmp, "large")
            large.mkdir()
            with open(large / "model.safetensors", "wb") as handle:  # sparse: no disk I/O to speak of
                handle.truncate(args.large_mib * 2**20)
            seconds, size, _ = stage(s3, large, "large/", transfer)
            print(f"one {args.large_mib} MiB file: {size / 1e6 / seconds:.0f} MB/s ({seconds:.1f} s, includes local hashing)")

            small = Path(tmp, "small")
            small.mkdir()
            for i in range(args.small_files):
                (small / f"shard-{i:04d}.bin").write_bytes(os.urandom(1024 * 1024))
            seconds, size, count = stage(s3, small, "small/", transfer)
            print(f"{count} files of 1 MiB: {size / 1e6 / seconds:.0f} MB/s, {count / seconds:.0f} files/s ({seconds:.1f} s)")

            seconds, size, count = stage(s3, small, "small/", transfer)
            print(f"no-op re-run over {args.small_files} staged files: {seconds:.2f} s, {count} uploaded (target < 2 s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
