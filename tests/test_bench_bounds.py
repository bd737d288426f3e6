"""The bench's roofline bound per concurrency level (tools/llm_bench/bounds.py)."""

from __future__ import annotations

import pytest

from blueprint.config.facts import model_facts
from blueprint.loader import load_config
from blueprint.reports.roofline import Roofline, gpu_model
from tools.llm_bench.bounds import level_bound
from tools.llm_bench.runner import LevelRecord, RequestRecord
from tools.llm_bench.stats import summarize

ROOF = Roofline(model_facts(load_config({}).model), gpu_model("A10G"), 4)  # the seed: 6.5 GB per GPU at 600 GB/s


def test_one_request_on_one_instance_is_one_sequence_per_step():
    bound = level_bound(ROOF, concurrency=1, instances=1, max_batch=17, prompt_tokens=0)
    assert bound.itl_s == pytest.approx(6.5e9 / 600e9)
    assert bound.aggregate_tokens_per_s == pytest.approx(600e9 / 6.5e9)


def test_requests_spread_over_the_instances():
    # 6 requests on 2 instances: 3 sequences per instance, two instances busy.
    bound = level_bound(ROOF, concurrency=6, instances=2, max_batch=17, prompt_tokens=512)
    step = ROOF.step_seconds(3, 512)
    assert bound.itl_s == pytest.approx(step)
    assert bound.aggregate_tokens_per_s == pytest.approx(2 * 3 / step)
    # Fewer requests than instances: only as many instances work as there are requests.
    one = level_bound(ROOF, concurrency=1, instances=4, max_batch=17, prompt_tokens=512)
    assert one.aggregate_tokens_per_s == pytest.approx(1 / ROOF.step_seconds(1, 512))


def test_beyond_what_the_kv_cache_holds_requests_wait():
    full = level_bound(ROOF, concurrency=17, instances=1, max_batch=17, prompt_tokens=512)
    assert level_bound(ROOF, concurrency=64, instances=1, max_batch=17, prompt_tokens=512) == full


def test_the_summary_says_how_much_of_the_bound_a_level_reached():
    # Two requests of 11 tokens at a steady 21.6 ms per token (twice the bound), over 0.25 s.
    requests = [
        RequestRecord(ok=True, time_to_first_token_s=0.0216, end_to_end_s=0.2376, output_tokens=11, inter_token_latency_s=0.0216)
        for _ in range(2)
    ]
    bound = level_bound(ROOF, concurrency=2, instances=1, max_batch=17, prompt_tokens=0)
    summary = summarize(LevelRecord(concurrency=2, requests=requests, wall_s=0.25), price_per_hour=7.09, bound=bound)
    assert summary.itl_bound_s == pytest.approx(bound.itl_s)
    assert summary.itl_p50_share_of_bound == pytest.approx(bound.itl_s / 0.0216)
    assert summary.aggregate_share_of_bound == pytest.approx((22 / 0.25) / bound.aggregate_tokens_per_s)
    without = summarize(LevelRecord(concurrency=2, requests=requests, wall_s=0.25), price_per_hour=7.09)
    assert (without.itl_bound_s, without.aggregate_share_of_bound, without.itl_p50_share_of_bound) == (None, None, None)
