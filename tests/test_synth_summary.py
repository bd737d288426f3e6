"""The synth summary's sizing arithmetic, checked against figures worked out from SPEC Part 3."""

from __future__ import annotations

import pytest

from blueprint.loader import load_config
from blueprint.reports.synth_summary import render_summary, variant_sizing


@pytest.fixture(scope="module")
def seed():
    return load_config({})


def test_seed_weights_are_26_gb_and_kv_cache_is_0_8_mb_per_token(seed):
    sizing = variant_sizing("tgi", seed.variants.tgi, seed)
    assert sizing.weights_bytes == 26.0e9  # 13.0e9 parameters x 2 bytes
    assert sizing.kv_bytes_per_token == 2 * 40 * 5120 * 2  # 819,200 bytes


def test_seed_kv_budget_is_roughly_70k_tokens(seed):
    # Worked by hand: 4 x 24 GiB = 103.08 GB; x 0.9 = 92.77 GB; - 4 x 2 GiB = 84.18 GB usable;
    # - 26.0 GB weights = 58.18 GB; / 0.8192 MB per token = 71,022 tokens.
    assert variant_sizing("tgi", seed.variants.tgi, seed).kv_budget_tokens == 71_022


def test_summary_says_seed_batch_limit_uses_a_fraction_and_what_would_use_the_memory(seed):
    text = render_summary(seed)
    assert "batch limit 8,192 tokens (variants.tgi.max_batch_total_tokens) = 12% of it" in text
    assert "raise variants.tgi.max_batch_total_tokens to about 70,656" in text


def test_summary_lists_image_instance_price_tokens_timeouts(seed):
    text = render_summary(seed)
    assert "huggingface-llm 1.0.3: huggingface-pytorch-tgi-inference:2.0.1-tgi1.0.3-gpu-py39-cu118-ubuntu20.04" in text
    assert "1 x ml.g5.12xlarge: 4 x A10G, 96 GiB GPU memory" in text
    assert "~$7.09/hour" in text
    assert "input 2,048, total 4,096, batch total 8,192" in text
    assert "model download 3600 s, container start-up 3600 s" in text


def test_lmi_sizing_uses_the_rolling_batch_of_the_serving_properties(seed):
    sizing = variant_sizing("lmi", seed.variants.lmi, seed)
    assert sizing.gpus_used == 4
    assert sizing.batch_token_limit == 64 * 4096


def test_weights_within_gpu_memory_but_beyond_usable_memory_are_flagged():
    # 25.0 GB fits one 24 GiB (25.8 GB) A10G, but not its 21.0 GB usable after engine share and runtime.
    config = load_config({"variants.tgi.num_gpus": "1", "variants.tgi.max_batch_total_tokens": "4096", "model.num_parameters": "12.5e9"})
    sizing = variant_sizing("tgi", config.variants.tgi, config)
    assert sizing.gpu_memory_bytes == 24 * 2**30
    assert not sizing.weights_fit
    assert "the weights do NOT fit" in render_summary(config)
