"""GPU memory arithmetic: do the weights fit, and how many tokens of KV cache fit beside them."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.config.facts import GIB, InstanceFacts, ModelFacts
from blueprint.config.settings import SizingSettings
from blueprint.engines.container_spec import ServingLimits

# TGI and vLLM allocate KV cache in blocks; suggestions are rounded down to whole KiB of tokens.
SUGGESTION_STEP = 1024


@dataclass(frozen=True)
class Sizing:
    gpus_used: int
    gpu_memory_bytes: float  # of the GPUs the model is sharded across
    usable_bytes: float  # after the engine's share and per-GPU runtime overhead
    weights_bytes: float
    kv_bytes_per_token: float
    batch_token_limit: int | None  # None: the engine sizes it at start-up
    batch_limit_label: str
    batch_limit_setting: str | None = None
    note: str | None = None

    @property
    def weights_fit(self) -> bool:
        return self.weights_bytes < self.usable_bytes

    @property
    def kv_budget_tokens(self) -> int:
        """Tokens of KV cache that fit in the memory left after the weights."""
        return max(0, int((self.usable_bytes - self.weights_bytes) // self.kv_bytes_per_token))

    @property
    def suggested_batch_tokens(self) -> int:
        return self.kv_budget_tokens // SUGGESTION_STEP * SUGGESTION_STEP


def size(instance: InstanceFacts, model: ModelFacts, sizing: SizingSettings, limits: ServingLimits) -> Sizing:
    """Memory left for KV cache on the GPUs the container uses, against its batch token limit."""
    gpus_used = limits.gpus_used
    per_gpu = instance.gpu_memory_bytes / instance.gpus
    memory = per_gpu * gpus_used
    usable = memory * (limits.memory_fraction or sizing.gpu_memory_utilization) - sizing.runtime_overhead_gib_per_gpu * GIB * gpus_used
    return Sizing(
        gpus_used=gpus_used,
        gpu_memory_bytes=memory,
        usable_bytes=usable,
        weights_bytes=model.weights_bytes,
        kv_bytes_per_token=model.kv_cache_bytes_per_token,
        batch_token_limit=limits.batch_token_limit,
        batch_limit_label=limits.batch_limit_label,
        batch_limit_setting=limits.batch_limit_setting,
        note=limits.note,
    )
