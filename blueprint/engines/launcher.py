"""Engines whose SageMaker image turns `SM_<ENGINE>_<ARG>` environment into `--<arg>` flags.

AWS's vLLM and SGLang images (and Hugging Face's) start the engine's OpenAI-compatible server
with one flag per such variable: `SM_VLLM_MAX_MODEL_LEN=8192` becomes `--max-model-len 8192`
(docs/engines.md cites the entrypoints). Both engines take the same kinds of setting under
different flag names, so one settings class, one validation and one renderer serve both; each
engine module holds only its data: a `Launcher` naming its flags and defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, ModelFacts
from blueprint.config.settings import VariantSettings
from blueprint.engines.container_spec import MODEL_DIR, ContainerSpec, ServingLimits, settings_of
from blueprint.engines.environment import REDACTED, check_managed_names, is_secret_name, looks_like_secret_value
from blueprint.engines.hub_access import STAGED, HubDeploymentSettings, check_hub_token, token_environment
from blueprint.engines.model_fit import check_context_length, check_shard_degree
from blueprint.images.image_catalog import ImageEntry

# A flag's name as an `args` key: lowercase words joined by underscores (the image adds `--` and hyphens).
_ARG_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# The token variable both images' hub downloads read (huggingface_hub's standard name).
HUB_TOKEN_ENV = "HF_TOKEN"


@dataclass(frozen=True)
class Launcher:
    """How one engine's image reads its flags from the environment, and the flags' names."""

    env_prefix: str  # e.g. SM_VLLM_
    model: str  # the flag naming the model (hub id or local directory)
    revision: str  # the flag pinning the hub revision
    served_model_name: str  # the flag naming the model in responses
    tensor_parallel: str  # GPUs one copy of the model is sharded across
    context_length: str  # longest request, prompt plus generated tokens
    max_sequences: str  # requests batched at once
    memory_fraction: str  # share of GPU memory for weights and KV cache
    # The engine's defaults, for the sizing report (None: the engine decides at start-up).
    default_max_sequences: int | None
    default_memory_fraction: float | None
    # Image frameworks whose entrypoint passes `true`/`false` on as written (`--flag true`) instead
    # of turning them into a bare flag or none; there an empty value is the bare flag.
    literal_boolean_frameworks: tuple[str, ...] = ()

    def env(self, flag: str) -> str:
        """The environment variable the image turns into `--<flag>`."""
        return f"{self.env_prefix}{flag.upper()}"


@dataclass(frozen=True)
class LauncherSettings(HubDeploymentSettings):
    """An OpenAI-compatible server started from `SM_<ENGINE>_<FLAG>` environment (vLLM, SGLang)."""

    # hub: the container downloads model.id from the hub at start-up (a token for gated models).
    # s3: SageMaker mounts the staged weights at /opt/ml/model, network isolation on, no token.
    weights_loading: str = "hub"
    # GPUs one copy of the model is sharded across (vLLM --tensor-parallel-size, SGLang --tp-size);
    # default: all of the instance's.
    tensor_parallel_size: int | None = None
    # Longest request, prompt plus generated tokens (vLLM --max-model-len, SGLang --context-length);
    # default: the model's context length.
    max_model_len: int | None = None
    # Requests batched at once (vLLM --max-num-seqs, SGLang --max-running-requests); default: the engine's.
    max_num_seqs: int | None = None
    # Share of each GPU's memory for weights and KV cache, (0, 1] (vLLM --gpu-memory-utilization,
    # SGLang --mem-fraction-static); default: the engine's.
    gpu_memory_utilization: float | None = None
    # More engine flags as name -> value, e.g. args.enable_prefix_caching=true (flag names with
    # underscores; the image passes --enable-prefix-caching). Plain values only.
    args: dict[str, str] = field(default_factory=dict)


def tensor_parallel(settings: LauncherSettings, instance: InstanceFacts) -> int:
    return settings.tensor_parallel_size if settings.tensor_parallel_size is not None else instance.gpus


def _typed_flags(launcher: Launcher, settings: LauncherSettings, instance: InstanceFacts) -> dict[str, object]:
    """The flags the typed settings set (None: left to the engine)."""
    return {
        launcher.tensor_parallel: tensor_parallel(settings, instance),
        launcher.context_length: settings.max_model_len,
        launcher.max_sequences: settings.max_num_seqs,
        launcher.memory_fraction: settings.gpu_memory_utilization,
    }


def validate(launcher: Launcher, path: str, settings: LauncherSettings, instance: InstanceFacts, model: ModelFacts) -> list[Problem]:
    """Problems of deployment `path`'s engine settings on `instance` for `model`."""
    settings = settings_of(LauncherSettings, settings)
    degree = tensor_parallel(settings, instance)
    problems = check_shard_degree(f"{path}.tensor_parallel_size", degree, degree, instance, model, launcher.tensor_parallel)
    for name in ("max_model_len", "max_num_seqs"):
        value = getattr(settings, name)
        if value is not None and value < 1:
            problems.append(Problem(f"{path}.{name}", value, "must be a positive whole number"))
    problems += check_context_length(f"{path}.max_model_len", settings.max_model_len, model)
    fraction = settings.gpu_memory_utilization
    if fraction is not None and not 0 < fraction <= 1:  # NaN fails the comparison too
        problems.append(Problem(f"{path}.gpu_memory_utilization", fraction, "a share of GPU memory in (0, 1]"))

    typed = {
        launcher.model: "set from model.id (or the mounted weights)",
        launcher.revision: "set from model.revision",
        launcher.served_model_name: "set from model.id",
        launcher.tensor_parallel: f"set by {path}.tensor_parallel_size",
        launcher.context_length: f"set by {path}.max_model_len",
        launcher.max_sequences: f"set by {path}.max_num_seqs",
        launcher.memory_fraction: f"set by {path}.gpu_memory_utilization",
    }
    for name, value in settings.args.items():
        where = f"{path}.args.{name}"
        if is_secret_name(name) or looks_like_secret_value(value):
            problems.append(
                Problem(
                    where,
                    REDACTED,
                    f"secrets are not accepted as plain values; reference a Secrets Manager secret ({path}.hub_token_secret)",
                )
            )
        elif not _ARG_NAME.match(name):
            problems.append(
                Problem(where, value, "a flag name in lowercase words joined by _ (e.g. enable_prefix_caching for --enable-prefix-caching)")
            )
        elif name in typed:
            problems.append(Problem(where, value, typed[name]))
        elif value.lower() in ("true", "false") and settings.image.framework in launcher.literal_boolean_frameworks:
            problems.append(
                Problem(
                    where,
                    value,
                    f"{settings.image.framework}'s entrypoint passes it on as written (--{name.replace('_', '-')} {value}): "
                    "give an empty value for the bare flag, or leave the flag out",
                )
            )
    managed = {launcher.env(flag): why for flag, why in typed.items()}
    managed |= {launcher.env(name): f"set by {path}.args.{name}" for name in settings.args}
    managed |= {"HF_MODEL_ID": f"set from model.id (as {launcher.env(launcher.model)})", HUB_TOKEN_ENV: f"set by {path}.hub_token_secret"}
    problems += check_managed_names(settings.environment, f"{path}.environment", managed)
    problems += check_hub_token(path, settings, model)
    return problems


def container_spec(launcher: Launcher, settings: LauncherSettings, image: ImageEntry, instance: InstanceFacts) -> ContainerSpec:
    """The engine's flags as `SM_<ENGINE>_*` environment; the weights from the hub or mounted."""
    settings = settings_of(LauncherSettings, settings)
    staged = settings.weights_loading == STAGED
    flags: dict[str, object] = {
        launcher.model: MODEL_DIR if staged else settings.model.id,
        # Responses and logs name the model, not the directory it was mounted at.
        launcher.served_model_name: settings.model.id,
    }
    if settings.model.revision != "main" and not staged:
        flags[launcher.revision] = settings.model.revision
    flags |= _typed_flags(launcher, settings, instance)
    environment = {launcher.env(flag): str(value) for flag, value in flags.items() if value is not None}
    environment |= {launcher.env(name): value for name, value in settings.args.items()}
    environment |= settings.environment
    return ContainerSpec(
        image=image,
        environment=environment,
        secret_environment=token_environment(settings, HUB_TOKEN_ENV),
        reads_staged_weights=staged,
        mounts_staged_weights=staged,
    )


def serving_limits(launcher: Launcher, path: str, settings: LauncherSettings, instance: InstanceFacts, model: ModelFacts) -> ServingLimits:
    """A batch holds up to max_num_seqs requests of up to max_model_len tokens, within the KV budget."""
    settings = settings_of(LauncherSettings, settings)
    length = settings.max_model_len or model.max_position_embeddings
    sequences = settings.max_num_seqs or launcher.default_max_sequences
    source = "max model length" if settings.max_model_len else "model context"
    shown = f"{sequences}" if sequences is not None else "engine-chosen"
    return ServingLimits(
        gpus_used=tensor_parallel(settings, instance),
        batch_token_limit=sequences * length if sequences is not None else None,
        batch_limit_label=f"{launcher.max_sequences} {shown} x {length:,} tokens",
        token_summary=f"{source} {length:,}, up to {shown} sequences in a batch",
        batch_limit_setting=f"{path}.max_num_seqs",
        context_tokens=settings.max_model_len,
        memory_fraction=settings.gpu_memory_utilization or launcher.default_memory_fraction,
    )


@dataclass(frozen=True)
class LauncherEngine:
    """An engine of this kind, as the registry sees it: its data, and the shared functions."""

    NAME: str
    FRAMEWORKS: tuple[str, ...]  # image frameworks of the SDK registry it runs
    SETTINGS: type[LauncherSettings]
    LAUNCHER: Launcher
    WEIGHTS_LOADING: tuple[str, ...] = ("hub", STAGED)
    SECRET_SETTING: str | None = "hub_token_secret"
    # The OpenAI chat API at /invocations, streamed as `data: {"choices":[{"delta":...}]}` events.
    API: str = "chat"

    def validate(self, path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> list[Problem]:
        return validate(self.LAUNCHER, path, settings_of(self.SETTINGS, settings), instance, model)

    def container_spec(self, settings: VariantSettings, image: ImageEntry, instance: InstanceFacts, weights_uri: str) -> ContainerSpec:
        return container_spec(self.LAUNCHER, settings_of(self.SETTINGS, settings), image, instance)

    def serving_limits(self, path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> ServingLimits:
        return serving_limits(self.LAUNCHER, path, settings_of(self.SETTINGS, settings), instance, model)
