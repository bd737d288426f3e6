"""The TGI engine: Hugging Face LLM inference (text-generation-inference), its settings and container.

TGI reads its launcher arguments from environment variables whose names changed across
versions; the names are picked here from the image version so a profile states limits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, ModelFacts
from blueprint.config.settings import VariantSettings
from blueprint.engines.container_spec import MODEL_DIR, ContainerSpec, ServingLimits, settings_of
from blueprint.engines.environment import check_managed_names
from blueprint.engines.hub_access import HubDeploymentSettings, check_hub_token, token_environment
from blueprint.engines.model_fit import check_context_length, check_shard_degree
from blueprint.images.image_catalog import ImageEntry

NAME = "tgi"
FRAMEWORKS: tuple[str, ...] = ("huggingface-llm",)
WEIGHTS_LOADING: tuple[str, ...] = ("hub", "s3")
SECRET_SETTING: str | None = "hub_token_secret"
# The recipe's request: `inputs` and `parameters`, answered by a `data:{"token":...}` event stream.
API = "generate"

# TGI 2.0.0 renamed --max-input-length to --max-input-tokens (the old name stays a legacy alias
# we do not emit); TGI 2.1.0 reads HF_TOKEN (before it, HUGGING_FACE_HUB_TOKEN).
_INPUT_TOKENS_SINCE = Version("2.0.0")
_HF_TOKEN_SINCE = Version("2.1.0")


@dataclass(frozen=True)
class TgiSettings(HubDeploymentSettings):
    """Hugging Face LLM inference container (text-generation-inference)."""

    # hub: the container downloads the weights from the hub at start-up (the recipe; needs the token).
    # s3: SageMaker mounts the staged weights at /opt/ml/model, network isolation on, no token.
    weights_loading: str = "hub"
    # default: all GPUs of the instance (TGI shards the model across SM_NUM_GPUS GPUs).
    num_gpus: int | None = None
    # Prompt tokens, and prompt plus generated tokens, per request (MAX_INPUT_LENGTH or
    # MAX_INPUT_TOKENS by image version, MAX_TOTAL_TOKENS); default: TGI's defaults.
    max_input_tokens: int | None = None
    max_total_tokens: int | None = None  # prompt plus generated tokens per request
    # default: unset, so TGI sizes the batch from free GPU memory at start-up.
    max_batch_total_tokens: int | None = None


SETTINGS = TgiSettings


@dataclass(frozen=True)
class TgiEnvNames:
    max_input: str
    legacy_max_input: str
    hub_token: str
    legacy_hub_token: str


def env_names(image_version: str) -> TgiEnvNames:
    """Environment variable names the given huggingface-llm image version reads."""
    version = Version(image_version)
    new_input = version >= _INPUT_TOKENS_SINCE
    new_token = version >= _HF_TOKEN_SINCE
    return TgiEnvNames(
        max_input="MAX_INPUT_TOKENS" if new_input else "MAX_INPUT_LENGTH",
        legacy_max_input="MAX_INPUT_LENGTH" if new_input else "MAX_INPUT_TOKENS",
        hub_token="HF_TOKEN" if new_token else "HUGGING_FACE_HUB_TOKEN",
        legacy_hub_token="HUGGING_FACE_HUB_TOKEN" if new_token else "HF_TOKEN",
    )


def num_gpus(settings: TgiSettings, instance: InstanceFacts) -> int:
    """SM_NUM_GPUS: the setting, or all of the instance's GPUs."""
    return settings.num_gpus if settings.num_gpus is not None else instance.gpus


def validate(path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> list[Problem]:
    """Problems of the TGI-specific settings of deployment `path` (generic ones: blueprint/validation.py)."""
    settings = settings_of(TgiSettings, settings)
    problems: list[Problem] = []
    gpus = num_gpus(settings, instance)
    # SM_NUM_GPUS must match the GPUs TGI shards across: it splits attention heads between them.
    shard = check_shard_degree(f"{path}.num_gpus", gpus, gpus, instance, model, "SM_NUM_GPUS")
    if settings.num_gpus is not None and gpus > instance.gpus:
        # Often a profile's value meeting a smaller instance: say how to fall back to all its GPUs.
        shard = [Problem(p.path, p.value, f"{p.allowed}; -c {path}.num_gpus=none uses all of the instance's GPUs") for p in shard]
    problems += shard

    limits = [
        ("max_input_tokens", settings.max_input_tokens),
        ("max_total_tokens", settings.max_total_tokens),
        ("max_batch_total_tokens", settings.max_batch_total_tokens),
    ]
    for name, value in limits:
        if value is not None and value < 1:
            problems.append(Problem(f"{path}.{name}", value, "must be a positive number of tokens"))
    inp, total, batch = settings.max_input_tokens, settings.max_total_tokens, settings.max_batch_total_tokens
    if inp is not None and total is not None and not inp < total:
        problems.append(
            Problem(f"{path}.max_input_tokens", inp, f"must be less than max_total_tokens ({total}): the rest is room to generate")
        )
    if total is not None and batch is not None and not total <= batch:
        problems.append(
            Problem(
                f"{path}.max_batch_total_tokens", batch, f"must be at least max_total_tokens ({total}): one full request must fit a batch"
            )
        )
    problems += check_context_length(f"{path}.max_total_tokens", total, model)

    names = env_names(settings.image.version)
    image = f"{settings.image.framework} {settings.image.version}"
    managed = {
        "HF_MODEL_ID": "set from model.id",
        "MODEL_ID": "set from model.id (as HF_MODEL_ID)",
        "HF_MODEL_REVISION": "set from model.revision",
        "REVISION": "set from model.revision (as HF_MODEL_REVISION)",
        "SM_NUM_GPUS": f"set by {path}.num_gpus",
        "NUM_SHARD": f"set by {path}.num_gpus (as SM_NUM_GPUS)",
        names.max_input: f"set by {path}.max_input_tokens",
        names.legacy_max_input: f"not read by {image} (it reads {names.max_input}); set {path}.max_input_tokens",
        "MAX_TOTAL_TOKENS": f"set by {path}.max_total_tokens",
        "MAX_BATCH_TOTAL_TOKENS": f"set by {path}.max_batch_total_tokens",
    }
    problems += check_managed_names(settings.environment, f"{path}.environment", managed)

    problems += check_hub_token(path, settings, model)
    return problems


def container_spec(settings: VariantSettings, image: ImageEntry, instance: InstanceFacts, weights_uri: str) -> ContainerSpec:
    """The recipe's TGI container (weights from the hub at start-up), or mounted staged weights."""
    settings = settings_of(TgiSettings, settings)
    names = env_names(settings.image.version)
    staged = settings.weights_loading == "s3"
    environment = {
        # Staged weights are mounted where TGI reads a local model directory.
        "HF_MODEL_ID": MODEL_DIR if staged else settings.model.id,
        # SM_NUM_GPUS must match the GPUs TGI shards across; it defaults to all of the instance's.
        "SM_NUM_GPUS": str(num_gpus(settings, instance)),
    }
    if settings.model.revision != "main" and not staged:
        environment["HF_MODEL_REVISION"] = settings.model.revision
    optional = {
        names.max_input: settings.max_input_tokens,
        "MAX_TOTAL_TOKENS": settings.max_total_tokens,
        "MAX_BATCH_TOTAL_TOKENS": settings.max_batch_total_tokens,
    }
    environment.update({k: str(v) for k, v in optional.items() if v is not None})
    environment.update(settings.environment)
    if staged:
        return ContainerSpec(image=image, environment=environment, reads_staged_weights=True, mounts_staged_weights=True)
    return ContainerSpec(image=image, environment=environment, secret_environment=token_environment(settings, names.hub_token))


def serving_limits(path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> ServingLimits:
    """GPUs used and the batch token limit, for the sizing report."""
    settings = settings_of(TgiSettings, settings)

    def show(value: int | None) -> str:
        return "auto" if value is None else f"{value:,}"

    return ServingLimits(
        gpus_used=num_gpus(settings, instance),
        batch_token_limit=settings.max_batch_total_tokens,
        batch_limit_label=f"{path}.max_batch_total_tokens",
        token_summary=f"input {show(settings.max_input_tokens)}, total {show(settings.max_total_tokens)}, batch total {show(settings.max_batch_total_tokens)}",
        batch_limit_setting=f"{path}.max_batch_total_tokens",
        # TGI's router (0.9 and later) warns that the flag is deprecated for flash-attention models
        # and uses the capacity it measures at warm-up instead.
        note="TGI replaces it with the capacity it measures at warm-up for flash-attention models such as Llama 2; it binds for others"
        if settings.max_batch_total_tokens is not None
        else None,
        context_tokens=settings.max_total_tokens,
        input_tokens=settings.max_input_tokens,
    )
