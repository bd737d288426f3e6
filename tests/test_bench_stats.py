"""The benchmark's per-level figures: percentiles as numpy computes them, throughput, errors, cost."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.llm_bench.runner import LevelRecord, RequestRecord
from tools.llm_bench.stats import percentile, summarize


def numpy_linear(values: list[float], q: float) -> float:
    """numpy.percentile's default ('linear'), written out: rank (n - 1) * q / 100, interpolated."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    below, above = math.floor(rank), math.ceil(rank)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=20),
    q=st.sampled_from([0, 1, 25, 50, 90, 99, 100]) | st.floats(min_value=0, max_value=100),
)
def test_percentile_interpolates_linearly_between_ranks(values, q):
    got = percentile(values, q)
    assert got == pytest.approx(numpy_linear(values, q), rel=1e-9, abs=1e-6)
    assert min(values) <= got + 1e-6 and got - 1e-6 <= max(values)


def test_percentile_examples():
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    assert percentile([10.0, 20.0], 0) == 10.0
    assert percentile([10.0, 20.0], 100) == 20.0
    assert percentile([1.0, 2.0, 3.0], 75) == 2.5


def record(ttft: float | None = 0.1, itl: float | None = 0.02, e2e: float = 1.0, tokens: int = 50, ok: bool = True) -> RequestRecord:
    return RequestRecord(
        ok=ok, time_to_first_token_s=ttft, inter_token_latency_s=itl, end_to_end_s=e2e, output_tokens=tokens, error=None if ok else "boom"
    )


def test_summary_of_a_level():
    requests = [
        record(ttft=0.1, itl=0.01, e2e=1.0, tokens=10),
        record(ttft=0.3, itl=0.03, e2e=2.0, tokens=40),
        record(ttft=0.2, itl=None, e2e=4.0, tokens=20),
        record(ttft=None, itl=0.02, e2e=0.0, tokens=0),
        record(ttft=9.0, itl=9.0, e2e=9.0, tokens=1000, ok=False),  # failed: only counted as an error
    ]
    s = summarize(LevelRecord(concurrency=4, wall_s=10.0, requests=requests), price_per_hour=7.2)
    assert (s.concurrency, s.requests, s.errors) == (4, 5, 1)
    assert (s.ttft_p50_s, s.ttft_p90_s, s.ttft_p99_s) == (
        percentile([0.1, 0.3, 0.2], 50),
        percentile([0.1, 0.3, 0.2], 90),
        percentile([0.1, 0.3, 0.2], 99),
    )
    assert s.ttft_p50_s == pytest.approx(0.2)
    assert (s.itl_p50_s, s.itl_p90_s, s.itl_p99_s) == tuple(percentile([0.01, 0.03, 0.02], q) for q in (50, 90, 99))
    assert (s.e2e_p50_s, s.e2e_p90_s, s.e2e_p99_s) == tuple(percentile([1.0, 2.0, 4.0, 0.0], q) for q in (50, 90, 99))
    assert s.request_tokens_per_s_p50 == statistics.median([10.0, 20.0, 5.0])  # a zero-length request has no rate
    assert s.aggregate_tokens_per_s == pytest.approx(70 / 10.0)
    assert s.requests_per_minute == pytest.approx(4 / 10.0 * 60)
    assert s.cost_per_million_output_tokens_usd == pytest.approx(7.2 / (7.0 * 3600) * 1e6)
    assert s.as_dict()["errors"] == 1 and s.as_dict()["concurrency"] == 4
    assert set(s.as_dict()) >= {"ttft_p99_s", "cost_per_million_output_tokens_usd"}


def test_summary_without_price_successes_or_time():
    failed = LevelRecord(concurrency=1, wall_s=5.0, requests=[record(ok=False)])
    s = summarize(failed, price_per_hour=None)
    assert (s.requests, s.errors, s.ttft_p50_s, s.request_tokens_per_s_p50) == (1, 1, None, None)
    assert (s.aggregate_tokens_per_s, s.requests_per_minute, s.cost_per_million_output_tokens_usd) == (0.0, 0.0, None)
    no_time = summarize(LevelRecord(concurrency=1, wall_s=0.0, requests=[record()]), price_per_hour=1.0)
    assert (no_time.aggregate_tokens_per_s, no_time.requests_per_minute, no_time.cost_per_million_output_tokens_usd) == (0.0, 0.0, None)
    short = summarize(LevelRecord(concurrency=1, wall_s=0.5, requests=[record(tokens=10)]), price_per_hour=None)
    assert (short.aggregate_tokens_per_s, short.requests_per_minute) == (20.0, 120.0)
    free = summarize(LevelRecord(concurrency=1, wall_s=2.0, requests=[record()]), price_per_hour=0.0)
    assert free.cost_per_million_output_tokens_usd is None
    assert free.requests_per_minute == 30.0 and free.aggregate_tokens_per_s == 25.0
