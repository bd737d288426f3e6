"""The SGLang engine: SGLang's OpenAI-compatible server in AWS's or Hugging Face's SageMaker image.

The images start `sglang.launch_server` with one flag per `SM_SGLANG_<FLAG>` variable (docs/engines.md
cites their entrypoints); everything but the flag names and defaults is shared with vLLM (launcher.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.engines.launcher import Launcher, LauncherEngine, LauncherSettings


@dataclass(frozen=True)
class SglangSettings(LauncherSettings):
    """SGLang (`sglang.launch_server`): flags from SM_SGLANG_<FLAG> environment."""


ENGINE = LauncherEngine(
    NAME="sglang",
    # AWS's image first (the current profile's: newer SGLang, entrypoint in aws/deep-learning-containers).
    FRAMEWORKS=("sglang", "huggingface-sglang"),
    SETTINGS=SglangSettings,
    LAUNCHER=Launcher(
        env_prefix="SM_SGLANG_",
        model="model_path",
        revision="revision",
        served_model_name="served_model_name",
        tensor_parallel="tp_size",
        context_length="context_length",
        max_sequences="max_running_requests",
        memory_fraction="mem_fraction_static",
        # SGLang sizes both from the GPU's memory at start-up (sglang/srt/server_args.py).
        default_max_sequences=None,
        default_memory_fraction=None,
        # Hugging Face's 0.5.8 entrypoint has no true/false handling (AWS's turns true into a bare flag).
        literal_boolean_frameworks=("huggingface-sglang",),
    ),
)
