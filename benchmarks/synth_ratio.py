"""Synth time of the full app against a one-bucket CDK app, measured in the same run.

Usage: .venv/bin/python benchmarks/synth_ratio.py [--runs N]

Both apps run as the CDK CLI runs them (a fresh `python app.py` process writing a cloud assembly),
alternating, so machine noise hits both alike. Prints the medians, the ratio (target: <= 1.3),
and what importing the sagemaker SDK would cost if it were on the synth path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from blueprint.loader import CDK_CLI_CONTEXT, project_context

ROOT = Path(__file__).resolve().parent.parent

CONTEXT = {**project_context(), **CDK_CLI_CONTEXT}

ONE_BUCKET_APP = """
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App()
stack = cdk.Stack(app, "OneBucket")
s3.Bucket(stack, "Bucket")
app.synth()
"""


def timed(argv: list[str], outdir: str, context: dict | None = None) -> float:
    env = {
        **os.environ,
        "CDK_OUTDIR": outdir,
        "CDK_CONTEXT_JSON": json.dumps(CONTEXT if context is None else context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    full, bucket = [], []
    with tempfile.TemporaryDirectory() as tmp:
        timed([sys.executable, "app.py"], f"{tmp}/warm")  # warm file caches
        for i in range(args.runs):
            full.append(timed([sys.executable, "app.py"], f"{tmp}/full{i}"))
            bucket.append(timed([sys.executable, "-c", ONE_BUCKET_APP], f"{tmp}/bucket{i}"))
    sdk = [timed([sys.executable, "-c", "import sagemaker.core.image_uris"], "/tmp") for _ in range(2)]
    full_s, bucket_s = statistics.median(full), statistics.median(bucket)
    print(f"full app synth (3 stacks, cdk-nag AwsSolutions): median {full_s:.2f} s over {args.runs} runs")
    print(f"one-bucket app synth:                            median {bucket_s:.2f} s over {args.runs} runs")
    print(f"ratio full / one-bucket: {full_s / bucket_s:.2f} (target <= 1.3)")
    print(f"sagemaker SDK import (kept off the synth path): {min(sdk):.2f} s")


if __name__ == "__main__":
    main()
