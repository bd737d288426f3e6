"""Facts tables the configuration is checked against: instance GPUs and prices, model architecture."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from blueprint.config.settings import ModelSettings

DATA_DIR = Path(__file__).parent / "data"
MIB = 1024**2
GIB = 1024**3


@dataclass(frozen=True)
class InstanceFacts:
    name: str
    gpus: int
    gpu_model: str | None
    gpu_memory_mib_total: int
    nvme_instance_storage: bool
    price_per_hour: float
    vcpus: int  # the host's: what inference components' CPU cores are placed against
    memory_gib: int  # the host's memory: what inference components' memory is placed against

    @property
    def family(self) -> str:
        """`ml.g5.12xlarge` -> `g5`."""
        return self.name.split(".")[1]

    @property
    def gpu_memory_bytes(self) -> int:
        return self.gpu_memory_mib_total * MIB


@dataclass(frozen=True)
class ModelFacts:
    id: str
    gated: bool
    num_parameters: float
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int
    dtype_bytes: int

    @property
    def weights_bytes(self) -> float:
        return self.num_parameters * self.dtype_bytes

    @property
    def kv_cache_bytes_per_token(self) -> float:
        """Keys and values of every layer: 2 x layers x hidden x bytes, scaled for grouped KV heads."""
        kv_share = self.num_key_value_heads / self.num_attention_heads
        return 2 * self.num_layers * self.hidden_size * self.dtype_bytes * kv_share


@functools.cache
def _instance_table() -> dict:
    return json.loads((DATA_DIR / "instance_types.json").read_text())


def price_table_note() -> str:
    prices = _instance_table()["prices"]
    return f"{prices['region']} on-demand list prices as of {prices['as_of']}"


def known_instance_types() -> list[str]:
    return list(_instance_table()["instance_types"])


def instance_facts(instance_type: str) -> InstanceFacts | None:
    row = _instance_table()["instance_types"].get(instance_type)
    return InstanceFacts(name=instance_type, **row) if row else None


def known_instance(instance_type: str) -> InstanceFacts:
    """Facts of an instance type validation accepted (after `validate`, never missing)."""
    facts = instance_facts(instance_type)
    if facts is None:
        raise KeyError(f"no facts for {instance_type}: validate the configuration first")
    return facts


@functools.cache
def _model_table() -> dict:
    return json.loads((DATA_DIR / "model_facts.json").read_text())["models"]


_FACT_FIELDS = (
    "num_parameters",
    "num_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "max_position_embeddings",
)


def missing_model_facts(model: ModelSettings) -> list[str]:
    """Names of facts neither the table nor the settings give for `model`."""
    row = _model_table().get(model.id, {})
    # Without grouped-query attention there are as many KV heads as attention heads.
    required = [f for f in _FACT_FIELDS if f != "num_key_value_heads"]
    return [f for f in required if getattr(model, f) is None and f not in row]


def model_facts(model: ModelSettings) -> ModelFacts:
    """Facts of `model`: settings win over the table (call `missing_model_facts` first)."""
    row = _model_table().get(model.id, {})
    values = {f: getattr(model, f) if getattr(model, f) is not None else row.get(f) for f in _FACT_FIELDS}
    if values["num_key_value_heads"] is None:
        values["num_key_value_heads"] = values["num_attention_heads"]
    return ModelFacts(
        id=model.id,
        # A model this project does not know is treated as gated until `model.public` says not.
        gated=bool(row.get("gated", True)),
        dtype_bytes=model.dtype_bytes,
        **values,
    )
