"""The synth summary's sizing arithmetic, checked against figures worked out from SPEC Part 3."""

from __future__ import annotations

import pytest

from blueprint.config.profiles import PROFILES
from blueprint.loader import load_config
from blueprint.reports.synth_summary import render_summary, variant_sizing


@pytest.fixture(scope="module")
def seed():
    return load_config({})


def test_seed_weights_are_26_gb_and_kv_cache_is_0_8_mb_per_token(seed):
    sizing = variant_sizing("tgi", seed.variants["tgi"], seed)
    assert sizing.weights_bytes == 26.0e9  # 13.0e9 parameters x 2 bytes
    assert sizing.kv_bytes_per_token == 2 * 40 * 5120 * 2  # 819,200 bytes


def test_seed_kv_budget_is_roughly_70k_tokens(seed):
    # Worked by hand: 4 x 24 GiB = 103.08 GB; x 0.9 = 92.77 GB; - 4 x 2 GiB = 84.18 GB usable;
    # - 26.0 GB weights = 58.18 GB; / 0.8192 MB per token = 71,022 tokens.
    assert variant_sizing("tgi", seed.variants["tgi"], seed).kv_budget_tokens == 71_022


def test_summary_says_seed_batch_limit_uses_a_fraction_and_what_would_use_the_memory(seed):
    text = render_summary(seed)
    assert "batch limit 8,192 tokens (variants.tgi.max_batch_total_tokens) = 12% of it" in text
    assert "raise variants.tgi.max_batch_total_tokens to about 70,656" in text


def test_summary_lists_image_instance_price_tokens_timeouts(seed):
    text = render_summary(seed)
    assert "huggingface-llm 1.0.3: huggingface-pytorch-tgi-inference:2.0.1-tgi1.0.3-gpu-py39-cu118-ubuntu20.04" in text
    assert "1 x ml.g5.12xlarge: 4 x A10G of 24 GiB each" in text
    assert "~$7.09/hour" in text
    assert "input 2,048, total 4,096, batch total 8,192" in text
    assert "model download 3600 s, container start-up 3600 s" in text


def test_lmi_sizing_uses_the_rolling_batch_of_the_serving_properties(seed):
    sizing = variant_sizing("lmi", seed.variants["lmi"], seed)
    assert sizing.gpus_used == 4
    assert sizing.batch_token_limit == 64 * 4096


def test_weights_within_gpu_memory_but_beyond_usable_memory_are_flagged():
    # 25.0 GB fits one 24 GiB (25.8 GB) A10G, but not its 21.0 GB usable after engine share and runtime.
    config = load_config({"variants.tgi.num_gpus": "1", "variants.tgi.max_batch_total_tokens": "4096", "model.num_parameters": "12.5e9"})
    sizing = variant_sizing("tgi", config.variants["tgi"], config)
    assert sizing.gpu_memory_bytes == 24 * 2**30
    assert not sizing.weights_fit
    assert "the weights do NOT fit" in render_summary(config)


def test_sizing_speaks_one_unit_and_per_gpu_memory(seed):
    # 26.0e9 bytes = 24.2 GiB; usable 4 x 24 GiB x 0.9 - 4 x 2 GiB = 78.4 GiB; 819,200 bytes = 0.78 MiB.
    line = next(line for line in render_summary(seed).splitlines() if line.startswith("  sizing"))
    assert line.startswith(
        "  sizing    weights 24.2 GiB on 4 GPUs x 24 GiB (78.4 GiB usable); KV cache 0.78 MiB/token, room for ~71,022 tokens"
    )
    assert " GB" not in line and " MB" not in line


def test_idle_gpus_are_a_warning_with_their_cost():
    config = load_config({"variants.tgi.instance_type": "ml.g5.48xlarge", "variants.tgi.num_gpus": "4"})
    text = render_summary(config)
    # ml.g5.48xlarge: 8 A10G at $20.36/hour; 4 idle are half of it.
    assert "  warning   4 of 8 GPUs idle: the engine shards over 4; ~$10.18 of the ~$20.36/hour pays for GPUs nothing uses" in text
    assert "instance  1 x ml.g5.48xlarge: 8 x A10G of 22.4 GiB each" in text  # what the SDK reports per GPU
    assert "warning" not in render_summary(load_config({}))  # the seed uses all 4


def test_each_deployment_says_where_its_weights_come_from_and_what_runs_it():
    seed = render_summary(load_config({}))
    assert (
        "  weights   hub: the container downloads meta-llama/Llama-2-13b-chat-hf@main at start-up; network on, "
        "hub token from Secrets Manager secret llm-endpoints/huggingface-hub-token"
    ) in seed
    assert (
        "  weights   s3-download: the container copies s3://llm-models-<account>-<region>/models/meta-llama/Llama-2-13b-chat-hf/main/ at start-up; network on"
        in seed
    )
    assert "  host      SageMaker's default inference AMI for the instance" in seed
    staged = render_summary(load_config({"profile": "llama2-13b-staged", "account": "111122223333", "region": "us-east-1"}))
    assert (
        "  weights   s3: SageMaker mounts s3://llm-models-111122223333-us-east-1/models/meta-llama/Llama-2-13b-chat-hf/main/ read-only; "
        "network isolation on, no hub token reaches the endpoint"
    ) in staged
    public = render_summary(load_config({"model.public": "true", "variants.tgi.hub_token_secret": None}))
    assert "at start-up; network on, no hub token" in public


def test_a_chosen_inference_ami_is_named():
    config = load_config({"profile": "llama2-13b-current", "variants.tgi.inference_ami_version": "al2-ami-sagemaker-inference-gpu-3-1"})
    assert "  host      inference AMI al2-ami-sagemaker-inference-gpu-3-1 (its NVIDIA driver and CUDA)" in render_summary(config)


def test_three_deployments_on_two_engines_and_two_models_each_with_its_own_lines():
    config = load_config(
        {
            "variants.lmi.enabled": "false",
            "variants.qwen.engine": "vllm",
            "variants.qwen.model.id": "Qwen/Qwen3-14B",
            "variants.qwen.image.framework": "vllm",
            "variants.qwen.image.version": "0.30.0",
            "variants.qwen.max_model_len": "8192",
            "variants.qwen.gpu_memory_utilization": "0.8",
            "variants.qwen-small.engine": "vllm",
            "variants.qwen-small.model.id": "Qwen/Qwen3-14B",
            "variants.qwen-small.image.framework": "vllm",
            "variants.qwen-small.image.version": "0.30.0",
            "variants.qwen-small.tensor_parallel_size": "2",
        }
    )
    text = render_summary(config)
    assert text.splitlines()[0].startswith("LLM endpoints: profile llama2-13b-seed, model Qwen/Qwen3-14B, meta-llama/Llama-2-13b-chat-hf")
    heads = [line for line in text.splitlines() if line.startswith("[")]
    assert heads == ["[tgi]", "[qwen] vllm, Qwen/Qwen3-14B", "[qwen-small] vllm, Qwen/Qwen3-14B"]
    sections = text.split("\n[")
    qwen, small = sections[2], sections[3]
    # Each its own model's sizing: Qwen3-14B's 8 KV heads of 40 make its KV cache 0.16 MiB per token.
    assert "weights 27.6 GiB on 4 GPUs" in qwen and "KV cache 0.16 MiB/token" in qwen
    # 4 x 24 GiB x 0.8 (its own gpu_memory_utilization, not the sizing default) - 4 x 2 GiB overhead = 68.8 GiB usable
    assert "(68.8 GiB usable)" in qwen and "max_num_seqs 256 x 8,192 tokens" in qwen
    assert "weights 27.6 GiB on 2 GPUs" in small and "(40.2 GiB usable)" in small  # 2 x 24 x 0.92 - 2 x 2
    assert "2 of 4 GPUs idle" in small
    assert "downloads Qwen/Qwen3-14B@main at start-up; network on, no hub token" in small
    assert "downloads meta-llama/Llama-2-13b-chat-hf@main" in sections[1]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_prints_the_bounds_of_every_deployment(profile):
    config = load_config({"profile": profile})
    text = render_summary(config)
    speed = [line for line in text.splitlines() if line.startswith("  speed     >= ")]
    cost = [line for line in text.splitlines() if line.startswith("  cost      >= $")]
    assert len(speed) == len(cost) == len(config.enabled_variants()) > 0
