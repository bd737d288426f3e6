"""Cross-field checks of an `AppConfig` against the facts tables; every problem at once."""

from __future__ import annotations

import math
import re

from blueprint.config.errors import Problem
from blueprint.config.facts import ModelFacts, instance_facts, known_instance, known_instance_types, missing_model_facts, model_facts
from blueprint.config.names import APP_NAME, APP_NAME_MAX, endpoint_stack_id
from blueprint.config.settings import INFERENCE_COMPONENT, AppConfig, ModelSettings, VariantSettings
from blueprint.engines.environment import check_environment
from blueprint.engines.registry import ENGINES
from blueprint.hosting import check_hosting
from blueprint.images.image_catalog import find_image, known_versions
from blueprint.networking import check_networking

TIMEOUT_RANGE = (60, 3600)
# SageMaker's pattern for endpoint and production variant names.
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_KMS_KEY = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_BUCKET_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9!_.()-]+$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]+(?<![/.])$")
_CONNECTION = re.compile(r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$")
_REVISION = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


# S3 bucket names have at most 63 characters; ours end in -<12-digit account>-<region of up to 15>.
_BUCKET_NAME_BEFORE_ACCOUNT = 63 - 1 - 12 - 1 - 15


def _check_app_name(config: AppConfig) -> list[Problem]:
    """The app name starts stack, bucket and role names: each must stay within its own limits.

    (Role names stay within IAM's 64 characters: the longest, a stage's smoke-test role, is
    12 + 1 + 15 + 4 + 1 + 3 with today's stage and variant names.)"""
    name = config.app_name
    if not name:
        return []
    if len(name) > APP_NAME_MAX or not APP_NAME.match(name):
        allowed = (
            f"lowercase letters and digits in words joined by single hyphens, starting with a letter, at most {APP_NAME_MAX} characters"
        )
        return [Problem("app_name", name, f"{allowed} (it starts the stack, bucket and role names)")]
    problems = []
    bucket = config.bucket_name_prefix()
    if len(bucket) > _BUCKET_NAME_BEFORE_ACCOUNT:
        problems.append(
            Problem(
                "app_name",
                name,
                f"with bucket.name_prefix {config.bucket.name_prefix!r} the bucket name starts {bucket!r} ({len(bucket)} characters): "
                f"at most {_BUCKET_NAME_BEFORE_ACCOUNT} keep it within S3's 63 with -<account>-<region>",
            )
        )
    return problems


def validate(config: AppConfig) -> list[Problem]:
    problems: list[Problem] = []
    if config.account is not None and not _ACCOUNT.match(config.account):
        problems.append(Problem("account", config.account, "a 12-digit AWS account id"))
    region = config.region
    if region is not None and not _REGION.match(region):
        problems.append(Problem("region", region, "an AWS region name like us-east-1"))
        region = None  # reported once, not again per image
    if not _BUCKET_PREFIX.match(config.bucket.name_prefix):
        problems.append(
            Problem(
                "bucket.name_prefix",
                config.bucket.name_prefix,
                "3-24 lowercase letters, digits and hyphens, starting with a letter (the name adds -<account>-<region>)",
            )
        )
    problems += _check_app_name(config)
    prefix = config.weights.s3_prefix
    if prefix is not None and not _is_clean_prefix(prefix):
        problems.append(
            Problem(
                "weights.s3_prefix", prefix, "an S3 key prefix of letters, digits and ._-()! parts joined by / (no empty, . or .. parts)"
            )
        )
    if not 0.5 <= config.sizing.gpu_memory_utilization <= 1:  # NaN fails every comparison
        problems.append(Problem("sizing.gpu_memory_utilization", config.sizing.gpu_memory_utilization, "a share of GPU memory in 0.5..1"))
    if not 0 <= config.sizing.runtime_overhead_gib_per_gpu <= 16:
        problems.append(Problem("sizing.runtime_overhead_gib_per_gpu", config.sizing.runtime_overhead_gib_per_gpu, "0..16 GiB"))
    problems += _check_model("model", config.model)
    problems += _check_deployment_names(config)
    for name, variant in config.enabled_variants().items():
        path = f"variants.{name}"
        model_path = "model" if variant.model == config.model else f"{path}.model"
        model_problems = _check_model(model_path, variant.model) if model_path != "model" else []
        problems += model_problems
        if model_problems or (model_path == "model" and any(p.path.startswith("model.") for p in problems)):
            continue  # the deployment's checks need sound model facts
        problems += _validate_variant(name, variant, config, model_facts(variant.model), region)
    problems += _check_shared_prefix(config)
    if not any(p.path.startswith(("model.", "variants.")) for p in problems):
        problems += check_hosting(config)  # components' copies against their endpoints: needs sound deployments
    problems += check_networking(config)
    if config.pipeline.enabled:
        problems += _check_pipeline(config, problems)
    # A problem found twice (a shared endpoint's through each of its components, a stage's setting
    # through each deployment) is reported once.
    return list({str(p): p for p in problems}.values())


# Deployment names start stack ids, endpoint names and role names: lowercase words joined by hyphens.
DEPLOYMENT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
DEPLOYMENT_NAME_MAX = 24


def _check_deployment_names(config: AppConfig) -> list[Problem]:
    """Names that fit the stack, endpoint and role names derived from them, and derive distinct stack ids."""
    problems = []
    seen: dict[str, str] = {}
    for name in config.variants:
        if len(name) > DEPLOYMENT_NAME_MAX or not DEPLOYMENT_NAME.match(name):
            problems.append(
                Problem(
                    f"variants.{name}",
                    name,
                    f"a deployment name is lowercase letters and digits in words joined by single hyphens, starting with a letter, "
                    f"at most {DEPLOYMENT_NAME_MAX} characters (it names the stack {endpoint_stack_id(name)!r} and a smoke-test role)",
                )
            )
            continue
        stack = endpoint_stack_id(name)
        if stack in seen:
            problems.append(
                Problem(f"variants.{name}", name, f"derives the stack id {stack}, as deployment {seen[stack]!r} does; rename one")
            )
        seen[stack] = name
    return problems


def _check_model(path: str, model: ModelSettings) -> list[Problem]:
    """A model's id, revision and facts (the shared model.*, or a deployment's own)."""
    problems = []
    if not _REVISION.match(model.revision) or ".." in model.revision:
        problems.append(
            Problem(f"{path}.revision", model.revision, "a hub branch, tag or commit (letters, digits, ._-/, no empty or .. parts)")
        )
    if model.dtype_bytes not in (1, 2, 4):
        problems.append(Problem(f"{path}.dtype_bytes", model.dtype_bytes, "1, 2 or 4 bytes per weight"))
    if not model.id.strip():
        problems.append(Problem(f"{path}.id", model.id, "a Hugging Face hub model id like meta-llama/Llama-2-13b-chat-hf"))
        return problems  # facts, prefixes and images all depend on the id
    for name in missing_model_facts(model):
        problems.append(
            Problem(
                f"{path}.{name}",
                None,
                f"no facts for {model.id}: set {path}.{name} (or add the model to blueprint/config/data/model_facts.json)",
            )
        )
    for name, value in _positive_model_settings(model).items():
        if value is not None and not (0 < value < math.inf):
            problems.append(Problem(f"{path}.{name}", value, "must be a positive, finite number"))
    return problems


def _check_shared_prefix(config: AppConfig) -> list[Problem]:
    """One weights.s3_prefix cannot hold the staged weights of two models."""
    if config.weights.s3_prefix is None:
        return []
    staged = {v.model.id for v in config.enabled_variants().values() if v.weights_loading in ("s3", "s3-download")}
    if len(staged) > 1:
        return [
            Problem(
                "weights.s3_prefix",
                config.weights.s3_prefix,
                f"deployments stage weights of {len(staged)} models ({', '.join(sorted(staged))}); unset it so each model gets models/<id>/<revision>/",
            )
        ]
    return []


def _is_clean_prefix(prefix: str) -> bool:
    """Parts joined by /, none empty, `.` or `..`, no wildcard (the prefix ends up in IAM)."""
    parts = prefix.rstrip("/").split("/")
    return all(_PREFIX_PART.match(p) and p not in {".", ".."} for p in parts)


def _positive_model_settings(m: ModelSettings) -> dict:
    return {
        "num_parameters": m.num_parameters,
        "num_layers": m.num_layers,
        "hidden_size": m.hidden_size,
        "num_attention_heads": m.num_attention_heads,
        "num_key_value_heads": m.num_key_value_heads,
        "max_position_embeddings": m.max_position_embeddings,
    }


def _validate_variant(name: str, variant: VariantSettings, config: AppConfig, model: ModelFacts, region: str | None) -> list[Problem]:
    path = f"variants.{name}"
    container = ENGINES[variant.engine]
    problems: list[Problem] = []

    image_ok = _check_image(path, variant, container.FRAMEWORKS, region, problems)
    if variant.weights_loading not in container.WEIGHTS_LOADING:
        problems.append(
            Problem(
                f"{path}.weights_loading",
                variant.weights_loading,
                f"the {variant.engine} engine loads weights by {' or '.join(container.WEIGHTS_LOADING)}",
            )
        )

    instance = instance_facts(variant.instance_type)
    gpu_types = [t for t in known_instance_types() if known_instance(t).gpus > 0]
    # A component runs on its shared endpoint's instances (the loader copied their type here).
    where = f"shared_endpoints.{variant.component.endpoint}" if variant.hosting == INFERENCE_COMPONENT else path
    if instance is None:
        problems.append(
            Problem(f"{where}.instance_type", variant.instance_type, f"no GPU facts for this instance type; known: {', '.join(gpu_types)}")
        )
    elif instance.gpus == 0:
        problems.append(Problem(f"{where}.instance_type", variant.instance_type, f"has no GPU; use one of: {', '.join(gpu_types)}"))
        instance = None
    if variant.instance_count < 1:
        problems.append(Problem(f"{path}.instance_count", variant.instance_count, "at least 1"))

    low, high = TIMEOUT_RANGE
    for field in ("model_data_download_timeout_in_seconds", "container_startup_health_check_timeout_in_seconds"):
        value = getattr(variant, field)
        if value is not None and not low <= value <= high:
            problems.append(Problem(f"{path}.{field}", value, f"{low}..{high} seconds"))

    for field in ("variant_name", "endpoint_name"):
        value = getattr(variant, field)
        if value is not None and not _SAGEMAKER_NAME.match(value):
            problems.append(
                Problem(f"{path}.{field}", value, "1-63 letters, digits and hyphens, starting and ending with a letter or digit")
            )

    problems += _check_host_image(path, variant)
    problems += _check_operations(path, variant, config)

    if instance is not None and instance.nvme_instance_storage:
        # A key that encrypts nothing would read as protection it does not give; a volume size is
        # refused for these families (docs/aws-contract.md, EndpointConfig KmsKeyId and VolumeSizeInGB).
        why = {
            "kms_key_arn": f"has no effect on {instance.family} instances: their NVMe instance storage is encrypted by a hardware module "
            "and SageMaker's KmsKeyId does not encrypt instance local storage; leave it unset",
            "volume_size_in_gb": f"SageMaker refuses a volume size on {instance.family} instances (they serve from NVMe instance storage); leave it unset",
        }
        for field, allowed in why.items():
            value = getattr(variant, field)
            if value is not None:
                problems.append(Problem(f"{path}.{field}", value, allowed))
    if variant.volume_size_in_gb is not None and not 1 <= variant.volume_size_in_gb <= 512:
        problems.append(Problem(f"{path}.volume_size_in_gb", variant.volume_size_in_gb, "1..512 GB"))
    if variant.kms_key_arn is not None and not _KMS_KEY.match(variant.kms_key_arn):
        problems.append(Problem(f"{path}.kms_key_arn", variant.kms_key_arn, "a KMS key or alias ARN"))
    elif variant.kms_key_arn is not None:
        problems += _check_same_place(f"{path}.kms_key_arn", variant.kms_key_arn, config, "SageMaker uses a key of the endpoint's region")

    secret = f"{path}.{container.SECRET_SETTING}" if container.SECRET_SETTING else None
    problems += check_environment(variant.environment, f"{path}.environment", secret)

    if instance is not None and image_ok:
        problems += container.validate(path, variant, instance, model)
    return problems


# CUDA version each GPU host image supports (SageMaker API reference, ProductionVariant).
INFERENCE_AMI_CUDA = {
    "al2-ami-sagemaker-inference-gpu-2": (12, 2),
    "al2-ami-sagemaker-inference-gpu-2-1": (12, 2),
    "al2-ami-sagemaker-inference-gpu-3-1": (12, 4),
    "al2023-ami-sagemaker-inference-gpu-4-1": (13, 0),
}
_TAG_CUDA = re.compile(r"cu(\d\d)(\d)")


def image_cuda(tag: str) -> tuple[int, int] | None:
    """(major, minor) CUDA version of a DLC image tag such as `...-cu124-...`."""
    match = _TAG_CUDA.search(tag)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _check_host_image(path: str, variant: VariantSettings) -> list[Problem]:
    ami = variant.inference_ami_version
    if ami is None:
        return []
    if ami not in INFERENCE_AMI_CUDA:
        return [Problem(f"{path}.inference_ami_version", ami, f"one of {', '.join(INFERENCE_AMI_CUDA)}")]
    entry = find_image(variant.image.framework, variant.image.version)
    cuda = image_cuda(entry.tag) if entry else None
    if cuda and cuda > INFERENCE_AMI_CUDA[ami]:
        need = [name for name, supported in INFERENCE_AMI_CUDA.items() if supported >= cuda]
        return [
            Problem(
                f"{path}.inference_ami_version",
                ami,
                f"supports CUDA {'.'.join(map(str, INFERENCE_AMI_CUDA[ami]))}; the image needs {cuda[0]}.{cuda[1]}: use {' or '.join(need)}",
            )
        ]
    return []


_SNS_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
SCALING_METRICS = ("concurrent-requests", "invocations")


def _check_same_place(path: str, arn: str, config: AppConfig, why: str) -> list[Problem]:
    """An ARN in the stacks' own region (and account, for a key) when they name one."""
    _, _, _, region, account = arn.split(":")[:5]
    if config.region is not None and region != config.region:
        return [Problem(path, arn, f"must be in region {config.region}, where the stacks deploy ({why})")]
    if config.account is not None and account != config.account and path.endswith("kms_key_arn"):
        return [Problem(path, arn, f"must be a key of account {config.account}, where the stacks deploy")]
    return []


def _check_operations(path: str, variant: VariantSettings, config: AppConfig) -> list[Problem]:
    """Autoscaling bounds and alarm thresholds."""
    problems = []
    scaling, alarms = variant.autoscaling, variant.alarms
    if scaling.enabled:
        if scaling.max_capacity < 1:
            problems.append(Problem(f"{path}.autoscaling.max_capacity", scaling.max_capacity, "at least 1 instance"))
        elif not 1 <= scaling.min_capacity <= scaling.max_capacity:
            problems.append(Problem(f"{path}.autoscaling.min_capacity", scaling.min_capacity, f"1..max_capacity ({scaling.max_capacity})"))
        if scaling.metric not in SCALING_METRICS:
            problems.append(Problem(f"{path}.autoscaling.metric", scaling.metric, f"one of {', '.join(SCALING_METRICS)}"))
        if not 0 < scaling.target_value < math.inf:
            problems.append(Problem(f"{path}.autoscaling.target_value", scaling.target_value, "a positive number"))
        for name in ("scale_out_cooldown_in_seconds", "scale_in_cooldown_in_seconds"):
            if not 0 <= getattr(scaling, name) <= 86400:
                problems.append(Problem(f"{path}.autoscaling.{name}", getattr(scaling, name), "0..86400 seconds"))
        if scaling.max_capacity >= 1 and not scaling.min_capacity <= variant.instance_count <= scaling.max_capacity:
            problems.append(
                Problem(
                    f"{path}.instance_count",
                    variant.instance_count,
                    f"within autoscaling min..max ({scaling.min_capacity}..{scaling.max_capacity})",
                )
            )
    if alarms.enabled:
        if alarms.topic_arn is not None and not _SNS_TOPIC.match(alarms.topic_arn):
            problems.append(Problem(f"{path}.alarms.topic_arn", alarms.topic_arn, "an SNS topic ARN"))
        elif alarms.topic_arn is not None:
            problems += _check_same_place(
                f"{path}.alarms.topic_arn", alarms.topic_arn, config, "alarm actions notify topics of their own region"
            )
        period = alarms.period_in_seconds
        if period not in (10, 20, 30) and (period < 60 or period % 60):
            problems.append(Problem(f"{path}.alarms.period_in_seconds", period, "10, 20, 30 or a multiple of 60"))
        elif not 1 <= alarms.evaluation_periods <= 100:
            problems.append(Problem(f"{path}.alarms.evaluation_periods", alarms.evaluation_periods, "1..100"))
        else:
            # CloudWatch: period x evaluation periods at most one day below an hour's period, seven days above.
            limit = 86_400 if period < 3600 else 604_800
            if period * alarms.evaluation_periods > limit:
                problems.append(
                    Problem(
                        f"{path}.alarms.evaluation_periods",
                        alarms.evaluation_periods,
                        f"at most {limit // period} with a period of {period} s (CloudWatch evaluates at most {limit // 86_400} day(s))",
                    )
                )
        for name in ("invocation_5xx_errors", "invocation_4xx_errors", "model_latency_p90_ms"):
            if not 0 <= getattr(alarms, name) < math.inf:
                problems.append(Problem(f"{path}.alarms.{name}", getattr(alarms, name), "zero or a positive number"))
        for name in ("gpu_memory_utilization_percent", "disk_utilization_percent"):
            if not 0 < getattr(alarms, name) <= 100:
                problems.append(Problem(f"{path}.alarms.{name}", getattr(alarms, name), "a percentage in (0, 100]"))
    deployment = variant.deployment
    if deployment.traffic_routing not in TRAFFIC_ROUTING:
        problems.append(Problem(f"{path}.deployment.traffic_routing", deployment.traffic_routing, f"one of {', '.join(TRAFFIC_ROUTING)}"))
    # SageMaker: the canary is at most half of the fleet, a linear step 10-50 % of it.
    if not 1 <= deployment.canary_size_percent <= 50:
        problems.append(Problem(f"{path}.deployment.canary_size_percent", deployment.canary_size_percent, "1..50 percent of the fleet"))
    if not 10 <= deployment.linear_step_percent <= 50:
        problems.append(Problem(f"{path}.deployment.linear_step_percent", deployment.linear_step_percent, "10..50 percent of the fleet"))
    if deployment.traffic_routing in ("canary", "linear") and variant.instance_count < 2:
        problems.append(
            Problem(
                f"{path}.deployment.traffic_routing",
                deployment.traffic_routing,
                f"needs 2 or more instances (instance_count is {variant.instance_count}; the first step may be at most half the fleet); use all-at-once",
            )
        )
    for name, (low, high) in {
        "wait_interval_in_seconds": (0, 3600),
        "termination_wait_in_seconds": (0, 3600),
        "maximum_execution_timeout_in_seconds": (600, 28800),
    }.items():
        if not low <= getattr(deployment, name) <= high:
            problems.append(Problem(f"{path}.deployment.{name}", getattr(deployment, name), f"{low}..{high} seconds"))
    waits = deployment.wait_interval_in_seconds + deployment.termination_wait_in_seconds
    if 600 <= deployment.maximum_execution_timeout_in_seconds <= waits:
        # SageMaker: the timeout should be larger than the bake and termination waits together.
        problems.append(
            Problem(
                f"{path}.deployment.maximum_execution_timeout_in_seconds",
                deployment.maximum_execution_timeout_in_seconds,
                f"more than wait_interval_in_seconds + termination_wait_in_seconds ({waits} s), plus the time a new fleet takes to start",
            )
        )
    if deployment.rollback_on_alarms and not alarms.enabled:
        problems.append(
            Problem(
                f"{path}.deployment.rollback_on_alarms",
                True,
                "needs the endpoint's alarms: set alarms.enabled=true or rollback_on_alarms=false",
            )
        )
    return problems


TRAFFIC_ROUTING = ("all-at-once", "canary", "linear")


def _check_image(path: str, variant: VariantSettings, frameworks: tuple[str, ...], region: str | None, problems: list[Problem]) -> bool:
    framework, version = variant.image.framework, variant.image.version
    if framework not in frameworks:
        problems.append(Problem(f"{path}.image.framework", framework, f"the {variant.engine} engine runs {' or '.join(frameworks)}"))
        return False
    entry = find_image(framework, version)
    if entry is None:
        known = ", ".join(known_versions(framework)) or "none"
        problems.append(
            Problem(
                f"{path}.image.version",
                version,
                f"{framework} {version} is not in blueprint/images/image_table.json (known: {known}); if the sagemaker SDK lists it, run llm-update-image-table {framework}={version}",
            )
        )
        return False
    if region is not None and region not in entry.regions:
        problems.append(
            Problem(
                "region",
                region,
                f"{framework} {version} has no image in this region; the SDK registry lists: {', '.join(sorted(entry.regions))}",
            )
        )
        return False
    return True


def _check_pipeline(config: AppConfig, reported: list[Problem]) -> list[Problem]:
    """Source, the pipeline's and each stage's environment, the app in each stage, no collisions."""
    settings = config.pipeline
    problems = []
    if settings.repository is None or not _REPOSITORY.match(settings.repository):
        problems.append(Problem("pipeline.repository", settings.repository, "the source repository as owner/name (or group/subgroup/name)"))
    if not _BRANCH.match(settings.branch):
        problems.append(Problem("pipeline.branch", settings.branch, "a git branch name"))
    if settings.connection_arn is None or not _CONNECTION.match(settings.connection_arn):
        problems.append(
            Problem(
                "pipeline.connection_arn",
                settings.connection_arn,
                "the ARN of an AWS CodeConnections connection (arn:aws:codeconnections:<region>:<account>:connection/<id>), created and authorised in the console",
            )
        )
    problems += _check_environment("pipeline", settings.account, settings.region)
    places: dict[tuple, str] = {}
    if config.account is not None and config.region is not None:
        places[(config.account, config.region)] = "the workstation stacks (account, region)"
    for name, stage in settings.stages().items():
        path = f"pipeline.{name}"
        stage_problems = _check_environment(path, stage.account, stage.region)
        if stage.traffic_routing is not None and stage.traffic_routing not in TRAFFIC_ROUTING:
            stage_problems.append(
                Problem(f"{path}.traffic_routing", stage.traffic_routing, f"one of {', '.join(TRAFFIC_ROUTING)}, or unset")
            )
        if not stage_problems:
            # The app as this stage deploys it: images in its region, ARNs in its account and
            # region, traffic shifting that fits the fleet. Problems shared with the app are not repeated.
            for problem in validate(config.for_stage(stage)):
                if problem not in reported:
                    where = problem.path
                    if problem.path in ("account", "region"):
                        where = f"{path}.{problem.path}"
                    elif problem.path.endswith(".deployment.traffic_routing") and stage.traffic_routing is not None:
                        where = f"{path}.traffic_routing"  # the stage's setting, not the variant's
                    stage_problems.append(
                        Problem(where, problem.value, f"{problem.allowed} (in stage {name}, {stage.account}/{stage.region})")
                    )
        place = (stage.account, stage.region)
        if None not in place and place in places:
            stage_problems.append(
                Problem(
                    f"{path}.account",
                    stage.account,
                    f"{stage.account}/{stage.region} is taken by {places[place]}; each needs its own account or region (bucket and endpoint names are per account and region)",
                )
            )
        places[place] = f"stage {name}"
        problems += stage_problems
    return problems


def _check_environment(path: str, account: str | None, region: str | None) -> list[Problem]:
    problems = []
    if account is None or not _ACCOUNT.match(account):
        problems.append(Problem(f"{path}.account", account, "a 12-digit AWS account id"))
    if region is None or not _REGION.match(region):
        problems.append(Problem(f"{path}.region", region, "an AWS region name like us-east-1"))
    return problems
