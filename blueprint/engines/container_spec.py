"""What one serving variant hands to the shared endpoint construct: data, not code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from blueprint.config.settings import VariantSettings
from blueprint.images.image_catalog import ImageEntry

S = TypeVar("S", bound=VariantSettings)


def settings_of(kind: type[S], settings: VariantSettings) -> S:
    """`settings` as the engine's own settings class: the loader builds each deployment with its
    engine's class, so an engine module receives the base type and narrows it here."""
    if not isinstance(settings, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(settings).__name__}")
    return settings


# Where SageMaker puts model data inside the container.
MODEL_DIR = "/opt/ml/model"


@dataclass(frozen=True)
class SecretReference:
    """A Secrets Manager secret by name or ARN, optionally one key of its JSON."""

    secret: str
    json_field: str | None = None


@dataclass(frozen=True)
class ModelDataArchive:
    """A local model.tar.gz and the hash of its content (the asset hash: stable across zlib builds)."""

    path: Path
    content_hash: str


@dataclass(frozen=True)
class ContainerSpec:
    """Image, environment and model data of a SageMaker Model's primary container."""

    image: ImageEntry
    # Plain environment values (deploy-time tokens allowed, secrets never).
    environment: Mapping[str, str]
    # Environment variable -> name or ARN of a Secrets Manager secret. CloudFormation resolves it
    # at deploy time; the template holds only the reference.
    secret_environment: Mapping[str, SecretReference] = field(default_factory=dict)
    # A local model.tar.gz shipped as the Model's ModelDataUrl.
    model_data_archive: ModelDataArchive | None = None
    # True when the container reads the staged weights prefix of the model bucket.
    reads_staged_weights: bool = False
    # True: SageMaker mounts the staged prefix, uncompressed, at /opt/ml/model (ModelDataSource),
    # and the container runs with network isolation.
    mounts_staged_weights: bool = False


@dataclass(frozen=True)
class ServingLimits:
    """How a container uses the GPUs, for the synth summary's sizing report."""

    gpus_used: int
    # Tokens of KV cache the configured batch may hold at once; None: the engine decides.
    batch_token_limit: int | None
    batch_limit_label: str
    token_summary: str
    # The setting that sets batch_token_limit directly, when one does (suggested when too low).
    batch_limit_setting: str | None = None
    # What a reader must know about how the engine treats the limit.
    note: str | None = None
    # Longest request (prompt plus generated tokens) and longest prompt the engine is set to
    # accept, when a setting says so (the performance bounds assume them; default: the model's).
    context_tokens: int | None = None
    input_tokens: int | None = None
    # Share of GPU memory the engine takes, when a setting says so (default: sizing.gpu_memory_utilization).
    memory_fraction: float | None = None
