"""Checks both containers make of how the model is spread over the instance's GPUs."""

from __future__ import annotations

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, ModelFacts


def check_shard_degree(
    path: str, value: object, degree: int | None, instance: InstanceFacts, model: ModelFacts, name: str
) -> list[Problem]:
    """`degree` GPUs share the model (tensor parallelism): 1..GPUs, dividing the attention heads.

    `value` is what the user wrote (shown in the message), `name` the container's own word for it.
    """
    if degree is None or not 1 <= degree <= instance.gpus:
        return [Problem(path, value, f"{name} must be 1..{instance.gpus} ({instance.name} has {instance.gpus} GPUs)")]
    if model.num_attention_heads % degree:
        return [Problem(path, value, f"{name} must divide {model.num_attention_heads}, the attention heads of {model.id}")]
    if model.weights_bytes > degree * instance.gpu_memory_bytes / instance.gpus:
        memory = degree * instance.gpu_memory_mib_total / instance.gpus / 1024
        return [
            Problem(
                path, value, f"{model.weights_bytes / 1e9:.1f} GB of weights do not fit {memory:.0f} GiB on {degree} GPU(s); use more GPUs"
            )
        ]
    return []


def check_context_length(path: str, value: int | None, model: ModelFacts) -> list[Problem]:
    if value is not None and value > model.max_position_embeddings:
        return [Problem(path, value, f"at most {model.max_position_embeddings} (context length of {model.id})")]
    return []
