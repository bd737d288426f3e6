"""Per-level figures: percentiles of the latencies, throughput, errors and cost."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from tools.llm_bench.bounds import LevelBound
from tools.llm_bench.runner import LevelRecord


@dataclass(frozen=True)
class LevelSummary:
    concurrency: int
    requests: int
    errors: int
    ttft_p50_s: float | None
    ttft_p90_s: float | None
    ttft_p99_s: float | None
    itl_p50_s: float | None
    itl_p90_s: float | None
    itl_p99_s: float | None
    e2e_p50_s: float | None
    e2e_p90_s: float | None
    e2e_p99_s: float | None
    request_tokens_per_s_p50: float | None
    aggregate_tokens_per_s: float
    requests_per_minute: float
    cost_per_million_output_tokens_usd: float | None
    # The roofline bound of the level (tools/llm_bench/bounds.py) and how much of it was reached:
    # bound / measured inter-token latency (p50), measured / bound aggregate tokens/s (<= 1 both).
    itl_bound_s: float | None = None
    aggregate_tokens_per_s_bound: float | None = None
    itl_p50_share_of_bound: float | None = None
    aggregate_share_of_bound: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(level: LevelRecord, price_per_hour: float | None, bound: LevelBound | None = None) -> LevelSummary:
    ok = [r for r in level.requests if r.ok]
    ttft = [r.time_to_first_token_s for r in ok if r.time_to_first_token_s is not None]
    itl = [r.inter_token_latency_s for r in ok if r.inter_token_latency_s is not None]
    e2e = [r.end_to_end_s for r in ok]
    per_request = [r.output_tokens / r.end_to_end_s for r in ok if r.end_to_end_s > 0]
    tokens = sum(r.output_tokens for r in ok)
    aggregate = tokens / level.wall_s if level.wall_s > 0 else 0.0
    cost = price_per_hour / (aggregate * 3600) * 1e6 if price_per_hour and aggregate else None
    itl_p50 = percentile(itl, 50)
    return LevelSummary(
        concurrency=level.concurrency,
        requests=len(level.requests),
        errors=len(level.requests) - len(ok),
        ttft_p50_s=percentile(ttft, 50),
        ttft_p90_s=percentile(ttft, 90),
        ttft_p99_s=percentile(ttft, 99),
        itl_p50_s=itl_p50,
        itl_p90_s=percentile(itl, 90),
        itl_p99_s=percentile(itl, 99),
        e2e_p50_s=percentile(e2e, 50),
        e2e_p90_s=percentile(e2e, 90),
        e2e_p99_s=percentile(e2e, 99),
        request_tokens_per_s_p50=statistics.median(per_request) if per_request else None,
        aggregate_tokens_per_s=aggregate,
        requests_per_minute=len(ok) / level.wall_s * 60 if level.wall_s > 0 else 0.0,
        cost_per_million_output_tokens_usd=cost,
        itl_bound_s=bound.itl_s if bound else None,
        aggregate_tokens_per_s_bound=bound.aggregate_tokens_per_s if bound else None,
        itl_p50_share_of_bound=bound.itl_s / itl_p50 if bound and itl_p50 else None,
        aggregate_share_of_bound=aggregate / bound.aggregate_tokens_per_s if bound else None,
    )
