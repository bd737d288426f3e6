"""Synth time against the number of deployments, and against a one-bucket app, in the same run.

Usage: .venv/bin/python -m benchmarks.synth_scaling [--runs N] [--counts 1,2,4,8]

Each app runs as the CDK CLI runs it (a fresh `python app.py` writing a cloud assembly, cdk-nag
included), the sizes interleaved with the one-bucket app so machine noise hits all alike. The
deployments are the `current` profile's vLLM deployment and copies of it under other names. Prints
the median per size, its ratio to the one-bucket app, and the marginal cost of one more deployment
(the least-squares slope over the sizes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile

from benchmarks.synth_ratio import CONTEXT, ONE_BUCKET_APP, timed

COPY = {
    "engine": "vllm",
    "image.framework": "vllm",
    "image.version": "0.30.0",
    "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
    "tensor_parallel_size": "4",
    "max_model_len": "8192",
}


def context(deployments: int) -> dict:
    """The current profile with `deployments` vLLM deployments (vllm, d2, d3, ...)."""
    extra = {f"variants.d{i}.{key}": value for i in range(2, deployments + 1) for key, value in COPY.items()}
    return {**CONTEXT, "profile": "current", "variants.sglang.enabled": "false", **extra}


def slope(points: list[tuple[int, float]]) -> float:
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--counts", default="1,2,4,8")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    times: dict[int, list[float]] = {n: [] for n in counts}
    bucket: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        timed([sys.executable, "app.py"], f"{tmp}/warm", context(1))  # warm file caches
        for run in range(args.runs):
            for n in counts:
                times[n].append(timed([sys.executable, "app.py"], f"{tmp}/n{n}-{run}", context(n)))
                bucket.append(timed([sys.executable, "-c", ONE_BUCKET_APP], f"{tmp}/b{n}-{run}"))
    bucket_s = statistics.median(bucket)
    print(f"one-bucket app synth: median {bucket_s:.2f} s over {len(bucket)} runs")
    print("deployments  stacks  median synth  / one-bucket")
    medians = []
    for n in counts:
        median = statistics.median(times[n])
        medians.append((n, median))
        print(f"{n:>11}  {n + 1:>6}  {median:>10.2f} s  {median / bucket_s:>11.2f}")
    print(f"marginal cost of one more deployment: {slope(medians):.2f} s (least-squares slope over {', '.join(map(str, counts))})")


if __name__ == "__main__":
    main()
