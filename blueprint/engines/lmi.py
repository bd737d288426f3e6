"""The LMI engine: DJL Serving (Large Model Inference) configured by a reviewed `serving.properties`.

Which engines and rolling-batch backends a `serving.properties` may name depends on the image
generation: LMI v15 (djl-serving 0.33.0) removed lmi-dist, and its vLLM images run engine=Python.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, ModelFacts
from blueprint.config.settings import VariantSettings
from blueprint.engines import serving_properties
from blueprint.engines.container_spec import MODEL_DIR, ContainerSpec, ModelDataArchive, ServingLimits, settings_of
from blueprint.engines.environment import REDACTED, check_managed_names, is_secret_name, looks_like_secret_value
from blueprint.engines.model_fit import check_context_length, check_shard_degree
from blueprint.images.image_catalog import ImageEntry

NAME = "lmi"
FRAMEWORKS: tuple[str, ...] = ("djl-deepspeed", "djl-lmi")
WEIGHTS_LOADING: tuple[str, ...] = ("s3-download", "s3")
# LMI reads staged weights from S3: it takes no secret.
SECRET_SETTING: str | None = None
# The recipe's request (`inputs`, `parameters`) answered in JSON lines; the vLLM-era images also
# answer the chat API (the client's --api chat).
API = "generate"
# DJL Serving's default option.max_rolling_batch_size.
DEFAULT_MAX_ROLLING_BATCH_SIZE = 32
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODEL_ARTIFACTS = PROJECT_ROOT / "model_artifacts"
# Synth output outside the source tree; the CDK copies the archive into cdk.out.
BUILD_DIR = Path(tempfile.gettempdir()) / "llm-endpoints-lmi-code"

_DIGITS = re.compile(r"[0-9]+")
_VLLM_ERA_SINCE = Version("0.33.0")
_MAX_MODEL_LEN_SINCE = Version("0.26.0")


@dataclass(frozen=True)
class LmiSettings(VariantSettings):
    """Large Model Inference container (DJL Serving), configured by a serving.properties file."""

    # s3-download: the container copies the staged weights from S3 itself (the recipe's
    # option.model_id=s3://...). s3: SageMaker mounts them at /opt/ml/model, network isolation on.
    weights_loading: str = "s3-download"
    # Path below model_artifacts/ of the reviewed serving.properties this deployment packs.
    serving_properties: str = "lmi/llama2-13b-seed/serving.properties"
    # Overrides of `option.<name>` keys of that file, e.g. options.max_rolling_batch_size=32.
    options: dict[str, str] = field(default_factory=dict)


SETTINGS = LmiSettings


@dataclass(frozen=True)
class LmiGeneration:
    """What one LMI image generation accepts in serving.properties."""

    description: str
    engines: frozenset[str]
    rolling_batches: frozenset[str]
    async_mode: bool
    max_model_len: bool


def generation(framework: str, version: str) -> LmiGeneration:
    """What serving.properties may say on this image: djl-deepspeed, djl-lmi before or after v15."""
    v = Version(version)
    if framework == "djl-lmi" and v >= _VLLM_ERA_SINCE:
        return LmiGeneration(
            f"{framework} {version} (vLLM era, LMI v15+)", frozenset({"Python"}), frozenset({"auto", "vllm", "disable"}), True, True
        )
    engines = {"MPI", "Python"} | ({"DeepSpeed"} if framework == "djl-deepspeed" else set())
    batches = {"auto", "scheduler", "lmi-dist", "vllm", "disable"} | ({"deepspeed"} if framework == "djl-deepspeed" else set())
    return LmiGeneration(f"{framework} {version}", frozenset(engines), frozenset(batches), False, v >= _MAX_MODEL_LEN_SINCE)


def properties_file(settings: LmiSettings) -> Path | None:
    """The file `serving_properties` names, if it is a file below model_artifacts/."""
    path = (MODEL_ARTIFACTS / settings.serving_properties).resolve()
    return path if path.is_relative_to(MODEL_ARTIFACTS) and path.is_file() else None


def read_properties(settings: LmiSettings) -> dict[str, str]:
    """The variant's serving.properties with its option overrides applied (read once per synth)."""
    return dict(_read_properties(settings.serving_properties, tuple(sorted(settings.options.items()))))


@functools.cache
def _read_properties(name: str, options: tuple[tuple[str, str], ...]) -> dict[str, str]:
    path = MODEL_ARTIFACTS / name
    parsed = serving_properties.parse(path.read_text(), f"model_artifacts/{name}")
    return serving_properties.with_options(parsed, dict(options))


def whole_number(value: str | None) -> int | None:
    """`value` as a positive int when it is ASCII digits (not "²" or "١٠"), else None."""
    return int(value) if value is not None and _DIGITS.fullmatch(value) and int(value) > 0 else None


def tensor_parallel_degree(properties: dict[str, str], instance: InstanceFacts) -> int | None:
    """GPUs the model is sharded across ("max": all of the instance's); None if unreadable."""
    value = properties.get("option.tensor_parallel_degree", "max")
    return instance.gpus if value == "max" else whole_number(value)


def validate(path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> list[Problem]:
    """Problems of deployment `path`'s serving.properties (after overrides) for its image and instance."""
    settings = settings_of(LmiSettings, settings)
    file_path = f"{path}.serving_properties"
    if properties_file(settings) is None:
        return [Problem(file_path, settings.serving_properties, f"no such file below model_artifacts/ (have: {', '.join(_known_files())})")]
    try:
        props = read_properties(settings)
    except serving_properties.ServingPropertiesError as error:
        return [Problem(file_path, settings.serving_properties, str(error))]

    def where(key: str) -> str:
        name = key.removeprefix("option.")
        return f"{path}.options.{name}" if name in settings.options else f"{settings.serving_properties} {key}"

    gen = generation(settings.image.framework, settings.image.version)
    problems: list[Problem] = []
    engine = props.get("engine")
    if engine not in gen.engines:
        problems.append(Problem(where("engine"), engine, f"{gen.description} runs engine {' or '.join(sorted(gen.engines))}"))
    rolling = props.get("option.rolling_batch", "auto")
    if rolling not in gen.rolling_batches:
        problems.append(
            Problem(
                where("option.rolling_batch"), rolling, f"{gen.description} accepts rolling_batch {', '.join(sorted(gen.rolling_batches))}"
            )
        )
    if not gen.async_mode:
        if props.get("option.async_mode", "false").lower() == "true":
            problems.append(
                Problem(
                    where("option.async_mode"),
                    props["option.async_mode"],
                    f"async mode needs djl-lmi >= {_VLLM_ERA_SINCE}; {gen.description} has none",
                )
            )
        if "lmi_vllm" in props.get("option.entryPoint", ""):
            problems.append(
                Problem(
                    where("option.entryPoint"), props["option.entryPoint"], f"the vLLM async service needs djl-lmi >= {_VLLM_ERA_SINCE}"
                )
            )
    if "option.max_model_len" in props and not gen.max_model_len:
        problems.append(
            Problem(
                where("option.max_model_len"),
                props["option.max_model_len"],
                f"not read by {gen.description} (added in {_MAX_MODEL_LEN_SINCE})",
            )
        )
    if "option.model_id" in props:
        problems.append(
            Problem(
                where("option.model_id"),
                props["option.model_id"],
                "remove it: the app passes the staged weights as OPTION_MODEL_ID, and a file value would win over it",
            )
        )

    raw_tp = props.get("option.tensor_parallel_degree", "max")
    degree = tensor_parallel_degree(props, instance)
    problems += check_shard_degree(
        where("option.tensor_parallel_degree"), raw_tp, degree, instance, model, "tensor_parallel_degree (or max)"
    )

    for key in ("option.max_rolling_batch_size", "option.max_model_len", "option.model_loading_timeout"):
        value = props.get(key)
        if value is not None and whole_number(value) is None:
            problems.append(Problem(where(key), value, "must be a positive whole number"))
    problems += check_context_length(where("option.max_model_len"), whole_number(props.get("option.max_model_len")), model)
    loading = whole_number(props.get("option.model_loading_timeout"))
    startup = settings.container_startup_health_check_timeout_in_seconds
    if loading is not None and startup is not None and loading > startup:
        problems.append(Problem(where("option.model_loading_timeout"), loading, f"at most the start-up health-check timeout ({startup} s)"))
    for name, value in settings.options.items():
        if looks_like_secret_value(value) or is_secret_name(name):
            problems.append(
                Problem(f"{path}.options.{name}", REDACTED, "secrets are not accepted as plain values; this container needs no secret")
            )

    managed = {
        "OPTION_MODEL_ID": "set by the app to the staged weights' S3 URI",
        "HF_MODEL_ID": "would replace the staged weights (OPTION_MODEL_ID) with a hub download",
        "TENSOR_PARALLEL_DEGREE": f"set option.tensor_parallel_degree in serving.properties or {path}.options",
        "SERVING_LOAD_MODELS": "the model is defined by the packed serving.properties",
    }
    managed.update(
        {
            f"OPTION_{key.removeprefix('option.').upper()}": f"set it in serving.properties or {path}.options (the file wins over the environment)"
            for key in props
            if key.startswith("option.")
        }
    )
    problems += check_managed_names(settings.environment, f"{path}.environment", managed)
    return problems


def _known_files() -> list[str]:
    return sorted(str(p.relative_to(MODEL_ARTIFACTS)) for p in MODEL_ARTIFACTS.rglob("serving.properties"))


def container_spec(settings: VariantSettings, image: ImageEntry, instance: InstanceFacts, weights_uri: str) -> ContainerSpec:
    """The recipe's LMI container (code tarball, weights copied from S3), or mounted staged weights."""
    settings = settings_of(LmiSettings, settings)
    properties = read_properties(settings)
    if settings.weights_loading == "s3":
        return ContainerSpec(
            image=image,
            environment={**environment_configuration(properties), **settings.environment},
            reads_staged_weights=True,
            mounts_staged_weights=True,
        )
    digest = serving_properties.content_hash(properties)
    archive = serving_properties.write_archive(serving_properties.pack(properties), BUILD_DIR, digest)
    environment = {
        # A deploy-time value (the bucket name is a token): kept out of the tarball so the
        # archive and its asset hash stay identical across accounts and stages.
        "OPTION_MODEL_ID": weights_uri,
        **settings.environment,
    }
    return ContainerSpec(
        image=image,
        environment=environment,
        model_data_archive=ModelDataArchive(archive, digest),
        reads_staged_weights=True,
    )


def environment_configuration(properties: dict[str, str]) -> dict[str, str]:
    """serving.properties as environment, for mounted weights (model data holds only weights).

    DJL Serving reads `OPTION_<KEY>` as `option.<key>`, and SERVING_LOAD_MODELS names the model
    directory and its engine.
    """
    environment = {"SERVING_LOAD_MODELS": f"model::{properties.get('engine', 'Python')}={MODEL_DIR}", "OPTION_MODEL_ID": MODEL_DIR}
    for key, value in properties.items():
        if key.startswith("option."):
            environment[f"OPTION_{key.removeprefix('option.').upper()}"] = value
    if "engine" in properties:
        environment["OPTION_ENGINE"] = properties["engine"]
    return environment


def serving_limits(path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> ServingLimits:
    """A rolling batch holds up to max_rolling_batch_size sequences of up to max_model_len tokens."""
    settings = settings_of(LmiSettings, settings)
    props = read_properties(settings)
    sequences = int(props.get("option.max_rolling_batch_size", DEFAULT_MAX_ROLLING_BATCH_SIZE))
    length = int(props.get("option.max_model_len", model.max_position_embeddings))
    length_source = "max model length" if "option.max_model_len" in props else "model context"
    return ServingLimits(
        gpus_used=tensor_parallel_degree(props, instance) or instance.gpus,  # validated: readable
        batch_token_limit=sequences * length,
        batch_limit_label=f"option.max_rolling_batch_size {sequences} x {length} tokens",
        token_summary=f"{length_source} {length:,}, up to {sequences} sequences in a rolling batch",
    )
