"""Writes the figures as JSON and CSV, and plots latency and throughput against concurrency."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tools.llm_bench.stats import LevelSummary


def write_json(path: Path, summaries: list[LevelSummary], meta: dict) -> None:
    path.write_text(json.dumps({"meta": meta, "levels": [s.as_dict() for s in summaries]}, indent=1) + "\n")


def write_csv(path: Path, summaries: list[LevelSummary]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summaries[0].as_dict()))
        writer.writeheader()
        for summary in summaries:
            writer.writerow(summary.as_dict())


def plot(path: Path, summaries: list[LevelSummary], title: str) -> None:
    """Three panels against concurrency: latencies (TTFT, end-to-end; p50 and p90), inter-token
    latency and throughput, the last two with their roofline bound where it is known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [s.concurrency for s in summaries]
    figure, (latency, inter_token, throughput) = plt.subplots(1, 3, figsize=(15, 4.2))
    for attribute, label, style in (
        ("ttft_p50_s", "TTFT p50", "o-"),
        ("ttft_p90_s", "TTFT p90", "o--"),
        ("e2e_p50_s", "end-to-end p50", "s-"),
        ("e2e_p90_s", "end-to-end p90", "s--"),
    ):
        latency.plot(levels, [getattr(s, attribute) or 0 for s in summaries], style, label=label)
    latency.set(xlabel="concurrent requests", ylabel="seconds", title="Latency")
    latency.set_xscale("log", base=2)
    latency.set_xticks(levels, [str(level) for level in levels])
    latency.legend()
    inter_token.plot(levels, [(s.itl_p50_s or 0) * 1000 for s in summaries], "o-", label="p50")
    inter_token.plot(levels, [(s.itl_p90_s or 0) * 1000 for s in summaries], "o--", label="p90")
    if all(s.itl_bound_s is not None for s in summaries):
        inter_token.plot(levels, [(s.itl_bound_s or 0) * 1000 for s in summaries], "k:", label="roofline bound (no engine is faster)")
    inter_token.set(xlabel="concurrent requests", ylabel="milliseconds per token", title="Inter-token latency")
    inter_token.set_xscale("log", base=2)
    inter_token.set_xticks(levels, [str(level) for level in levels])
    inter_token.set_ylim(bottom=0)
    inter_token.legend()
    throughput.plot(levels, [s.aggregate_tokens_per_s for s in summaries], "o-", label="aggregate output tokens/s")
    if all(s.aggregate_tokens_per_s_bound is not None for s in summaries):
        throughput.plot(levels, [s.aggregate_tokens_per_s_bound or 0 for s in summaries], "k:", label="roofline bound of the aggregate")
    throughput.plot(levels, [s.request_tokens_per_s_p50 or 0 for s in summaries], "s--", label="per-request output tokens/s (p50)")
    throughput.set(xlabel="concurrent requests", ylabel="tokens per second", title="Throughput")
    throughput.set_xscale("log", base=2)
    throughput.set_xticks(levels, [str(level) for level in levels])
    throughput.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
