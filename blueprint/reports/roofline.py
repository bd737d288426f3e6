"""Speed and cost bounds of a deployment before it is deployed: a roofline of LLM decoding.

Generating a token for each of `b` sequences at once is one decoder step. On each of the `g` GPUs
a step reads that GPU's share of the weights and of the sequences' KV cache from GPU memory, and
does its share of the arithmetic: `2 x parameters` floating-point operations per token for the
matrix products, plus `4 x layers x hidden x context` for attention over the cached context. A
step cannot take less than the slower of (bytes / memory bandwidth) and (operations / peak dense
fp16 throughput). So the bounds below are **lower bounds on time and upper bounds on speed**:

- tensor-parallel communication (all-reduces between the GPUs) is not counted;
- every byte is read once at the data sheet's bandwidth, every operation runs at peak: real
  engines reach a fraction of both (the efficiency is not modelled, it is what a measurement
  tells; docs/performance.md compares published measurements with these bounds);
- a batch never holds more sequences than the KV cache budget of the sizing report allows at the
  context length given.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from blueprint.config.facts import InstanceFacts, ModelFacts

DATA = Path(__file__).resolve().parent.parent / "config" / "data" / "gpu_models.json"
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class GpuModel:
    """Per-GPU figures of a vendor data sheet."""

    name: str
    memory_bandwidth_gb_s: float  # GB/s (10^9 bytes per second)
    dense_fp16_tflops: float  # tensor cores, fp16/bf16 inputs, without sparsity


@functools.cache
def _table() -> dict:
    return json.loads(DATA.read_text())["gpu_models"]


def gpu_model(name: str | None) -> GpuModel | None:
    """Data-sheet figures of a GPU model of the instance table (None: not a GPU, or not in the table)."""
    row = _table().get(name) if name else None
    if name is None or row is None:
        return None
    return GpuModel(name=name, memory_bandwidth_gb_s=row["memory_bandwidth_gb_s"], dense_fp16_tflops=row["dense_fp16_tflops"])


@dataclass(frozen=True)
class Roofline:
    """One deployment: a model sharded over `gpus` GPUs of one kind."""

    model: ModelFacts
    gpu: GpuModel
    gpus: int

    def step_seconds(self, batch: int, context: int) -> float:
        """Lower bound of one decoder step for `batch` sequences of `context` cached tokens each."""
        model, gpus = self.model, self.gpus
        bytes_per_gpu = (model.weights_bytes + batch * context * model.kv_cache_bytes_per_token) / gpus
        flops_per_gpu = batch * (2 * model.num_parameters + 4 * model.num_layers * model.hidden_size * context) / gpus
        return max(bytes_per_gpu / (self.gpu.memory_bandwidth_gb_s * 1e9), flops_per_gpu / (self.gpu.dense_fp16_tflops * 1e12))

    def prefill_seconds(self, input_tokens: int) -> float:
        """Lower bound of reading a prompt of `input_tokens` (one pass, causal attention)."""
        model, gpus = self.model, self.gpus
        flops = 2 * model.num_parameters * input_tokens + 2 * model.num_layers * model.hidden_size * input_tokens**2
        weights = model.weights_bytes / (self.gpu.memory_bandwidth_gb_s * 1e9)
        return max(flops / gpus / (self.gpu.dense_fp16_tflops * 1e12), weights / gpus)

    def tokens_per_second(self, concurrency: int, context: int, max_batch: int) -> float:
        """Upper bound of output tokens per second, all sequences together, at `concurrency`
        requests; beyond `max_batch` the rest wait for KV cache room."""
        batch = max(1, min(concurrency, max_batch))
        return batch / self.step_seconds(batch, context)


@dataclass(frozen=True)
class Bounds:
    """What the synth summary prints for one deployment."""

    itl_batch1_s: float  # at the start of a sequence (no cached context yet)
    max_batch: int  # sequences of `context` tokens the KV budget holds at once
    context: int
    itl_max_batch_s: float
    tokens_per_second_max: float
    prefill_s: float
    input_tokens: int
    dollars_per_million_tokens: float

    def speed_line(self) -> str:
        return (
            f">= {self.itl_batch1_s * 1e3:.1f} ms/token for 1 request (<= {1 / self.itl_batch1_s:,.0f} tokens/s); "
            f">= {self.itl_max_batch_s * 1e3:.1f} ms/token for {self.max_batch:,} requests of {self.context:,} tokens, "
            f"the most the KV cache holds: <= {self.tokens_per_second_max:,.0f} tokens/s in all (more requests wait); "
            f"a prompt of {self.input_tokens:,} tokens >= {self.prefill_s * 1e3:.0f} ms"
        )

    def cost_line(self) -> str:
        return f">= ${self.dollars_per_million_tokens:,.2f} per 1M output tokens, at that best (bounds, not estimates: docs/performance.md)"


def bounds(
    instance: InstanceFacts,
    model: ModelFacts,
    gpus: int,
    kv_budget_tokens: int,
    context: int,
    input_tokens: int,
    instances: int = 1,
    price_per_hour: float | None = None,
) -> Bounds | None:
    """The summary's bounds, or None when the instance's GPU has no data-sheet figures here.

    `price_per_hour`: what one copy costs (default: the instance; an inference component's copy
    pays for its share of the instance's GPUs)."""
    gpu = gpu_model(instance.gpu_model)
    if gpu is None or gpus < 1:
        return None
    roof = Roofline(model, gpu, gpus)
    max_batch = max(1, kv_budget_tokens // context)
    throughput = roof.tokens_per_second(max_batch, context, max_batch)
    price = instance.price_per_hour if price_per_hour is None else price_per_hour
    dollars_per_token = price / SECONDS_PER_HOUR / throughput
    return Bounds(
        itl_batch1_s=roof.step_seconds(1, 0),
        max_batch=max_batch,
        context=context,
        itl_max_batch_s=roof.step_seconds(max_batch, context),
        tokens_per_second_max=throughput * instances,
        prefill_s=roof.prefill_seconds(input_tokens),
        input_tokens=input_tokens,
        dollars_per_million_tokens=dollars_per_token * 1e6,
    )
