"""The vLLM engine: vLLM's OpenAI-compatible server in AWS's or Hugging Face's SageMaker image.

The images start `vllm serve` with one flag per `SM_VLLM_<FLAG>` variable (docs/engines.md cites
their entrypoints); everything but the flag names and defaults is shared with SGLang (launcher.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.engines.launcher import Launcher, LauncherEngine, LauncherSettings


@dataclass(frozen=True)
class VllmSettings(LauncherSettings):
    """vLLM (`vllm serve`): flags from SM_VLLM_<FLAG> environment."""


ENGINE = LauncherEngine(
    NAME="vllm",
    # AWS's image first (the current profile's: newer vLLM, entrypoint in aws/deep-learning-containers).
    FRAMEWORKS=("vllm", "huggingface-vllm"),
    SETTINGS=VllmSettings,
    LAUNCHER=Launcher(
        env_prefix="SM_VLLM_",
        model="model",
        revision="revision",
        served_model_name="served_model_name",
        tensor_parallel="tensor_parallel_size",
        context_length="max_model_len",
        max_sequences="max_num_seqs",
        memory_fraction="gpu_memory_utilization",
        # vLLM 0.29-0.30 defaults: 256 sequences on GPUs below 70 GiB, 0.92 of GPU memory (vllm/engine/arg_utils.py).
        default_max_sequences=256,
        default_memory_fraction=0.92,
    ),
)
