"""The roofline bounds: data-sheet facts for every GPU, the arithmetic, the summary's lines."""

from __future__ import annotations

import json

import pytest

from blueprint.config.facts import _instance_table, known_instance, model_facts
from blueprint.loader import load_config
from blueprint.reports.roofline import DATA, Bounds, GpuModel, Roofline, bounds, gpu_model
from blueprint.reports.synth_summary import render_summary

SEED = model_facts(load_config({}).model)  # Llama-2-13b: 13.0e9 parameters, 40 layers, hidden 5120, fp16
A10G = gpu_model("A10G")


def test_every_gpu_of_the_instance_table_has_data_sheet_figures_that_agree_with_it():
    table = json.loads(DATA.read_text())["gpu_models"]
    for name, row in _instance_table()["instance_types"].items():
        if not row["gpus"]:
            continue
        gpu = table[row["gpu_model"]]
        per_gpu_gib = row["gpu_memory_mib_total"] / row["gpus"] / 1024
        # The SDK's figure is what the driver reports: at most the data sheet's, and close to it.
        assert 0.9 * gpu["memory_gib"] <= per_gpu_gib <= gpu["memory_gib"], name
    for name, gpu in table.items():
        assert gpu["source"].startswith("https://"), name
        # Operations per byte at the ridge: GPUs of these generations sit between 50 and 500.
        assert 50 < gpu["dense_fp16_tflops"] * 1e12 / (gpu["memory_bandwidth_gb_s"] * 1e9) < 500, name


def test_decoding_one_request_reads_each_gpus_share_of_the_weights_once():
    # 13.0e9 parameters x 2 bytes / 4 GPUs = 6.5 GB per GPU, at 600 GB/s: 10.83 ms.
    roof = Roofline(SEED, A10G, 4)
    assert roof.step_seconds(1, 0) == pytest.approx(6.5e9 / 600e9)
    # One GPU holds all 26 GB: four times as long.
    assert Roofline(SEED, A10G, 1).step_seconds(1, 0) == pytest.approx(26e9 / 600e9)


def test_each_sequence_adds_its_kv_cache_read():
    # 2 (K and V) x 40 layers x 5120 x 2 bytes = 819,200 bytes per cached token; 8 sequences of
    # 1,000 tokens add 6.5536e9 bytes, 1.6384e9 per GPU.
    roof = Roofline(SEED, A10G, 4)
    assert roof.step_seconds(8, 1000) == pytest.approx((6.5e9 + 8 * 1000 * 819_200 / 4) / 600e9)


def test_large_batches_are_bound_by_the_arithmetic():
    # 1,000 sequences: 2 x 13e9 x 1000 / 4 = 6.5e12 operations per GPU at 125e12/s = 52 ms,
    # more than the 10.8 ms the weights take to read.
    roof = Roofline(SEED, A10G, 4)
    assert roof.step_seconds(1000, 0) == pytest.approx(6.5e12 / 125e12)


def test_throughput_stops_growing_where_the_kv_cache_is_full():
    roof = Roofline(SEED, A10G, 4)
    at_limit = roof.tokens_per_second(17, 4096, max_batch=17)
    assert roof.tokens_per_second(40, 4096, max_batch=17) == at_limit
    assert roof.tokens_per_second(8, 4096, max_batch=17) < at_limit
    assert at_limit == pytest.approx(17 / roof.step_seconds(17, 4096))


def test_a_prompt_is_bound_by_its_arithmetic():
    # 2 x 13e9 x 2048 + 2 x 40 x 5120 x 2048^2 = 5.4966e13 operations over 4 GPUs at 125e12/s.
    expected = (2 * 13e9 * 2048 + 2 * 40 * 5120 * 2048**2) / 4 / 125e12
    assert Roofline(SEED, A10G, 4).prefill_seconds(2048) == pytest.approx(expected)
    assert expected == pytest.approx(0.1099, abs=1e-4)
    # A one-token prompt still reads the weights once.
    assert Roofline(SEED, A10G, 4).prefill_seconds(1) == pytest.approx(6.5e9 / 600e9)


def test_bounds_of_the_seed_deployment():
    instance = known_instance("ml.g5.12xlarge")
    found = bounds(instance, SEED, gpus=4, kv_budget_tokens=71_022, context=4096, input_tokens=2048, instances=2)
    assert found.max_batch == 17  # 71,022 // 4,096
    assert found.itl_batch1_s == pytest.approx(6.5e9 / 600e9)
    per_instance = 17 / Roofline(SEED, A10G, 4).step_seconds(17, 4096)
    assert found.tokens_per_second_max == pytest.approx(2 * per_instance)
    # $7.09 an hour for what one instance can do at best.
    assert found.dollars_per_million_tokens == pytest.approx(7.09 / 3600 / per_instance * 1e6)


def test_no_bounds_without_data_sheet_figures():
    cpu = known_instance("ml.m5.xlarge")
    assert bounds(cpu, SEED, gpus=0, kv_budget_tokens=0, context=4096, input_tokens=2048) is None


def test_the_summary_gives_the_bounds_per_deployment():
    summary = render_summary(load_config({}))
    speed = [line for line in summary.splitlines() if line.startswith("  speed")]
    cost = [line for line in summary.splitlines() if line.startswith("  cost")]
    assert len(speed) == len(cost) == 2  # TGI and LMI
    # TGI's max_total_tokens (4,096) and max_input_tokens (2,048) set the context and the prompt.
    assert speed[0] == (
        "  speed     >= 10.8 ms/token for 1 request (<= 92 tokens/s); >= 34.6 ms/token for 17 requests of 4,096 tokens, "
        "the most the KV cache holds: <= 491 tokens/s in all (more requests wait); a prompt of 2,048 tokens >= 110 ms"
    )
    assert cost[0].startswith("  cost      >= $4.01 per 1M output tokens")


def test_the_summary_says_why_there_are_no_bounds():
    # 25.0 GB on one A10G: within its 24 GiB, beyond what the engine may use (test_synth_summary.py).
    context = {"variants.lmi.enabled": "false", "variants.tgi.num_gpus": "1", "variants.tgi.max_batch_total_tokens": "4096"}
    summary = render_summary(load_config(context | {"model.num_parameters": "12.5e9"}))
    assert "  speed     no bounds: the weights do not fit" in summary and "  cost" not in summary


def test_no_published_measurement_beats_its_bound():
    from benchmarks.roofline_vs_published import comparisons

    found = comparisons()
    assert len(found) >= 5 and len({c.row["source"].split(" ")[0].split("/blog/")[0] for c in found}) >= 3
    for c in found:
        assert c.row["source"].startswith("https://") and c.row["quote"], c.row
        # A measurement faster than the bound would mean a wrong fact or a wrong model.
        assert 0 < c.closeness <= 1, (c.row, c.bound)
    # The closest: one request of Llama-2-7b on one A10G, where nothing is shared between GPUs.
    best = max(found, key=lambda c: c.closeness)
    assert (best.row["instance_type"], best.row["concurrency"]) == ("ml.g5.2xlarge", 1)


def test_attention_over_the_context_counts_in_the_arithmetic():
    # 1,000 sequences of 4,096 cached tokens on 4 A10G: reading 6.5e9 + 1000 x 4096 x 819,200 / 4
    # bytes per GPU at 600e9/s takes 1.41 s, longer than the arithmetic: memory bounds the step.
    roof = Roofline(SEED, A10G, 4)
    reads = (6.5e9 + 1000 * 4096 * 819_200 / 4) / 600e9
    assert roof.step_seconds(1000, 4096) == pytest.approx(reads, rel=1e-9)
    # With (imaginary) memory of 1e18 bytes/s the same step is the arithmetic: 2 x 13e9 for the
    # products plus 4 x 40 x 5120 x 4096 for attention, per token, x 1000 / 4 GPUs at 65e12/s.
    ops = 1000 * (2 * 13e9 + 4 * 40 * 5120 * 4096) / 4 / 65e12
    fast_memory = Roofline(SEED, GpuModel(name="test", memory_bandwidth_gb_s=1e9, dense_fp16_tflops=65), 4)
    assert fast_memory.step_seconds(1000, 4096) == pytest.approx(ops, rel=1e-9)


def test_one_sequence_is_the_least_a_step_carries():
    roof = Roofline(SEED, A10G, 4)
    assert roof.tokens_per_second(1, 0, max_batch=1) == pytest.approx(1 / roof.step_seconds(1, 0), rel=1e-9)
    assert roof.tokens_per_second(0, 0, max_batch=17) == pytest.approx(1 / roof.step_seconds(1, 0), rel=1e-9)


def test_bounds_default_to_one_instance_and_at_least_one_sequence():
    instance = known_instance("ml.g5.12xlarge")
    one = bounds(instance, SEED, gpus=4, kv_budget_tokens=71_022, context=4096, input_tokens=2048)
    roof = Roofline(SEED, A10G, 4)
    assert one.tokens_per_second_max == pytest.approx(17 / roof.step_seconds(17, 4096), rel=1e-9)
    assert one.dollars_per_million_tokens == pytest.approx(7.09 / 3600 / one.tokens_per_second_max * 1e6, rel=1e-9)
    # Less KV room than one sequence of the context: still one sequence (it is what runs).
    tight = bounds(instance, SEED, gpus=4, kv_budget_tokens=1000, context=4096, input_tokens=2048)
    assert tight.max_batch == 1
    # No GPUs used: no bound, whatever the instance.
    assert bounds(instance, SEED, gpus=0, kv_budget_tokens=71_022, context=4096, input_tokens=2048) is None


def test_data_sheet_figures_by_gpu_name():
    a10g = gpu_model("A10G")
    assert (a10g.name, a10g.memory_bandwidth_gb_s, a10g.dense_fp16_tflops) == ("A10G", 600, 125)
    assert gpu_model("H200") is None and gpu_model(None) is None


def test_the_lines_round_what_they_print_once():
    # Values just below a rounding step: milliseconds are the seconds x 1000, nothing more.
    found = Bounds(
        itl_batch1_s=0.010449,
        max_batch=3,
        context=1000,
        itl_max_batch_s=0.020449,
        tokens_per_second_max=146.7,
        prefill_s=0.1004,
        input_tokens=500,
        dollars_per_million_tokens=13.4249,
    )
    assert found.speed_line() == (
        ">= 10.4 ms/token for 1 request (<= 96 tokens/s); >= 20.4 ms/token for 3 requests of 1,000 tokens, "
        "the most the KV cache holds: <= 147 tokens/s in all (more requests wait); a prompt of 500 tokens >= 100 ms"
    )
    assert found.cost_line().startswith(">= $13.42 per 1M output tokens")
