"""Run llm-bench against the loopback server with a known schedule (makes the README plot).

Usage: .venv/bin/python benchmarks/bench_loopback_sample.py [--output-dir docs/bench-loopback]

The server streams 64 tokens per request: first token 200 ms after a slot frees, then one every
20 ms, 4 slots (requests beyond them queue). The figures are the loopback server's, not a model's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import aws_test_environment
from tools.loopback.aws import Endpoint, LoopbackAws, Scheduled

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "docs" / "bench-loopback")
    args = parser.parse_args()
    aws = LoopbackAws()
    aws.add_endpoint(Endpoint("loopback-schedule", answers=[Scheduled(0.2, 0.02, 64, threading.Semaphore(4))]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(aws.url)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tools.cli.bench",
                "--endpoint-name",
                "loopback-schedule",
                "--variant",
                "tgi",
                "--concurrency",
                "1,2,4,8,16",
                "--requests-per-level",
                "16",
                "--output-dir",
                str(args.output_dir),
                "--title",
                "loopback server: TTFT 200 ms, 20 ms/token, 4 slots (not a model)",
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
    finally:
        aws.close()


if __name__ == "__main__":
    main()
