"""Named profiles: complete starting points that `-c key=value` settings adjust.

A profile is plain data in the shape of `config.settings.AppConfig` (nested dicts).
"""

from __future__ import annotations

from typing import Any

DEFAULT_PROFILE = "llama2-13b-seed"

# The reference recipe (docs/recipe.md), value for value.
_SEED: dict[str, Any] = {
    "model": {"id": "meta-llama/Llama-2-13b-chat-hf"},
    "variants": {
        "tgi": {
            "image": {"framework": "huggingface-llm", "version": "1.0.3"},
            "instance_type": "ml.g5.12xlarge",
            "instance_count": 1,
            # The SDK's deploy() names the only variant AllTraffic and sets no download timeout
            # (the weights come from the hub, not from model data).
            "variant_name": "AllTraffic",
            "model_data_download_timeout_in_seconds": None,
            "container_startup_health_check_timeout_in_seconds": 3600,
            "num_gpus": 4,
            "max_input_tokens": 2048,
            "max_total_tokens": 4096,
            "max_batch_total_tokens": 8192,
            # A name, not a token: the secret must exist in the account before deploy.
            "hub_token_secret": "llm-endpoints/huggingface-hub-token",
        },
        "lmi": {
            "image": {"framework": "djl-deepspeed", "version": "0.25.0"},
            "instance_type": "ml.g5.12xlarge",
            "instance_count": 1,
            "variant_name": "variant1",
            "model_data_download_timeout_in_seconds": 3600,
            "container_startup_health_check_timeout_in_seconds": 3600,
            "serving_properties": "lmi/llama2-13b-seed/serving.properties",
            "environment": {"MODEL_LOADING_TIMEOUT": "3600"},
        },
    },
}

# The seed's model on current images: TGI 3 (which reads MAX_INPUT_TOKENS and HF_TOKEN and sizes
# its batch from free memory) and LMI with the vLLM engine (lmi-dist and engine=MPI are gone).
_LLAMA2_CURRENT: dict[str, Any] = {
    "model": {"id": "meta-llama/Llama-2-13b-chat-hf"},
    "variants": {
        "tgi": {
            **_SEED["variants"]["tgi"],
            "image": {"framework": "huggingface-llm", "version": "3.3.6"},
            "max_batch_total_tokens": None,
            # CUDA 12.4 image: a host with a driver that supports it.
            "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
        },
        "lmi": {
            **_SEED["variants"]["lmi"],
            "image": {"framework": "djl-lmi", "version": "0.38.0"},
            # CUDA 13.0 image: NVIDIA driver 580.
            "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
            "serving_properties": "lmi/current/serving.properties",
        },
    },
}

# What a team would pick in late 2026: an open-licence model (Apache-2.0, not gated: no hub token,
# no licence to accept) on the two engines Hugging Face and AWS now ship for SageMaker, through
# AWS's images (the newest engine versions in the SDK registry; their entrypoints are public).
# Qwen3-14B in bf16 (29.6 GB) is sharded over the four A10G of the seed's instance, leaving room
# for KV cache of 8k-token requests (README, "The current profile").
_OPEN_MODEL_ENGINE: dict[str, Any] = {
    "instance_type": "ml.g5.12xlarge",
    "instance_count": 1,
    "variant_name": "AllTraffic",
    "model_data_download_timeout_in_seconds": 3600,
    "container_startup_health_check_timeout_in_seconds": 3600,
    # CUDA 13.0 images: NVIDIA driver 580.
    "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
    "tensor_parallel_size": 4,
    "max_model_len": 8192,
    # Requests batched at once: the KV cache holds ~40 of the longest, many more of typical length.
    "max_num_seqs": 64,
}
_CURRENT: dict[str, Any] = {
    "model": {"id": "Qwen/Qwen3-14B"},
    "variants": {
        "vllm": {**_OPEN_MODEL_ENGINE, "image": {"framework": "vllm", "version": "0.30.0"}},
        "sglang": {**_OPEN_MODEL_ENGINE, "image": {"framework": "sglang", "version": "0.5.20"}},
    },
}

# The seed recipe with staged weights for both variants: SageMaker mounts the weights from the
# model bucket, the containers run without network access, and no hub token is deployed.
_STAGED: dict[str, Any] = {
    "model": dict(_SEED["model"]),
    "variants": {
        "tgi": {
            **_SEED["variants"]["tgi"],
            "weights_loading": "s3",
            "hub_token_secret": None,
            "model_data_download_timeout_in_seconds": 3600,
        },
        "lmi": {**_SEED["variants"]["lmi"], "weights_loading": "s3"},
    },
}

# Two open models packed on one ml.g5.12xlarge as inference components that scale to zero: a
# dev or occasional-use setup that costs nothing while idle. Qwen3-14B gets two of the four GPUs,
# Qwen3-8B one GPU per copy and up to two copies; with no copy left, SageMaker releases the instance
# (min_instance_count 0), and the first request after that starts one (minutes: docs/inference-components.md).
_PACKED_COMPONENT = {"hosting": "inference-component", "max_model_len": 8192}
_PACKED: dict[str, Any] = {
    "model": {"id": "Qwen/Qwen3-14B"},
    "shared_endpoints": {
        "pool": {
            "instance_type": "ml.g5.12xlarge",
            "instance_count": 1,
            "min_instance_count": 0,
            "max_instance_count": 1,
            # CUDA 13.0 images: NVIDIA driver 580.
            "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
        }
    },
    "variants": {
        "qwen-14b": {
            **_PACKED_COMPONENT,
            "engine": "vllm",
            "image": {"framework": "vllm", "version": "0.30.0"},
            "tensor_parallel_size": 2,
            "model_data_download_timeout_in_seconds": 3600,
            "container_startup_health_check_timeout_in_seconds": 3600,
            "component": {"endpoint": "pool", "copies": 1, "autoscaling": True, "min_copies": 0, "max_copies": 1},
        },
        "qwen-8b": {
            **_PACKED_COMPONENT,
            "engine": "sglang",
            "model": {"id": "Qwen/Qwen3-8B"},
            "image": {"framework": "sglang", "version": "0.5.20"},
            "tensor_parallel_size": 1,
            "model_data_download_timeout_in_seconds": 3600,
            "container_startup_health_check_timeout_in_seconds": 3600,
            "component": {"endpoint": "pool", "copies": 1, "autoscaling": True, "min_copies": 0, "max_copies": 2},
        },
    },
}

PROFILES: dict[str, dict] = {
    "llama2-13b-seed": _SEED,
    "current": _CURRENT,
    "llama2-13b-current": _LLAMA2_CURRENT,
    "qwen3-packed": _PACKED,
    "llama2-13b-staged": _STAGED,
}


def profile_images() -> list[tuple[str, str]]:
    """(framework, version) of every variant of every profile: what the image table must hold."""
    return sorted(
        {
            (variant["image"]["framework"], variant["image"]["version"])
            for profile in PROFILES.values()
            for variant in profile["variants"].values()
        }
    )
