"""The short per-deployment summary `cdk synth` prints: image, instance, price, limits, sizing."""

from __future__ import annotations

from blueprint.config.facts import GIB, InstanceFacts, known_instance, model_facts, price_table_note
from blueprint.config.settings import INFERENCE_COMPONENT, AppConfig, VariantSettings
from blueprint.engines.container_spec import ServingLimits
from blueprint.engines.registry import ENGINES
from blueprint.hosting import copy_requirements, shared_cost
from blueprint.images.image_catalog import known_image
from blueprint.reports.roofline import bounds
from blueprint.reports.sizing import Sizing, size

HOURS_PER_MONTH = 730


def variant_limits(name: str, variant: VariantSettings) -> ServingLimits:
    """How deployment `name`'s engine uses the GPUs (its engine module says)."""
    instance = known_instance(variant.instance_type)
    return ENGINES[variant.engine].serving_limits(f"variants.{name}", variant, instance, model_facts(variant.model))


def variant_sizing(name: str, variant: VariantSettings, config: AppConfig, limits: ServingLimits | None = None) -> Sizing:
    """Sizing of one deployment from the limits its engine reports."""
    limits = limits or variant_limits(name, variant)
    return size(known_instance(variant.instance_type), model_facts(variant.model), config.sizing, limits)


def _gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


def _sizing_line(s: Sizing) -> str:
    head = f"weights {_gib(s.weights_bytes)} on {s.gpus_used} GPUs x {_whole_or_tenths(s.gpu_memory_bytes / s.gpus_used / GIB)} GiB ({_gib(s.usable_bytes)} usable)"
    if not s.weights_fit:
        return f"{head}: the weights do NOT fit; use a larger instance or more GPUs"
    budget = f"KV cache {s.kv_bytes_per_token / 2**20:.2f} MiB/token, room for ~{s.kv_budget_tokens:,} tokens"
    if s.batch_token_limit is None:
        return f"{head}; {budget}; batch limit set by the engine at start-up"
    share = s.batch_token_limit / s.kv_budget_tokens if s.kv_budget_tokens else float("inf")
    verdict = f"batch limit {s.batch_token_limit:,} tokens ({s.batch_limit_label}) = {share:.0%} of it"
    if share < 0.5 and s.batch_limit_setting:
        verdict += f"; raise {s.batch_limit_setting} to about {s.suggested_batch_tokens:,} to use the memory"
    elif share > 1:
        verdict += "; at full length fewer sequences fit at once (paged attention queues the rest)"
    note = f" ({s.note})" if s.note else ""
    return f"{head}; {budget}; {verdict}{note}"


def _whole_or_tenths(value: float) -> str:
    """`24` for 24 GiB, `22.4` for what the SDK reports per GPU of an ml.g5.48xlarge."""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _weights_line(variant: VariantSettings, config: AppConfig) -> str:
    """Where the weights come from, and what that means for the network and the hub token."""
    bucket = f"{config.bucket_name_prefix()}-{config.account or '<account>'}-{config.region or '<region>'}"
    where = f"s3://{bucket}/{config.weights_s3_prefix(variant.model)}"
    if variant.weights_loading == "s3":
        return f"s3: SageMaker mounts {where} read-only; network isolation on, no hub token reaches the endpoint"
    if variant.weights_loading == "s3-download":
        return f"s3-download: the container copies {where} at start-up; network on"
    secret = getattr(variant, "hub_token_secret", None)
    token = f"hub token from Secrets Manager secret {secret}" if secret else "no hub token"
    return f"hub: the container downloads {variant.model.id}@{variant.model.revision} at start-up; network on, {token}"


def _host_line(variant: VariantSettings) -> str:
    if variant.inference_ami_version:
        return f"inference AMI {variant.inference_ami_version} (its NVIDIA driver and CUDA)"
    return "SageMaker's default inference AMI for the instance"


def _idle_gpus_lines(instance: InstanceFacts, limits: ServingLimits, price_per_hour: float) -> list[str]:
    """A warning when the engine shards over fewer GPUs than the instance has: they are paid for."""
    idle = instance.gpus - limits.gpus_used
    if idle <= 0:
        return []
    wasted = price_per_hour * idle / instance.gpus
    return [
        f"  warning   {idle} of {instance.gpus} GPUs idle: the engine shards over {limits.gpus_used}; ~${wasted:,.2f} of the "
        f"~${price_per_hour:,.2f}/hour pays for GPUs nothing uses (use all {instance.gpus}, or an instance with {limits.gpus_used})"
    ]


def _bounds_lines(
    instance: InstanceFacts, variant: VariantSettings, limits: ServingLimits, sizing: Sizing, copy_price: float | None = None
) -> list[str]:
    """The roofline bounds (blueprint/reports/roofline.py): no engine can be faster or cheaper."""
    model = model_facts(variant.model)
    instances = variant.instance_count if copy_price is None else 1
    context = limits.context_tokens or model.max_position_embeddings
    input_tokens = limits.input_tokens or context // 2
    found = bounds(instance, model, sizing.gpus_used, sizing.kv_budget_tokens, context, input_tokens, instances, copy_price)
    if found is None or not sizing.weights_fit:
        reason = "the weights do not fit" if found else f"no data-sheet figures for {instance.gpu_model} GPUs (gpu_models.json)"
        return [f"  speed     no bounds: {reason}"]
    return [f"  speed     {found.speed_line()}", f"  cost      {found.cost_line()}"]


def render_summary(config: AppConfig) -> str:
    enabled = config.enabled_variants()
    models = sorted({variant.model.id for variant in enabled.values()}) or [config.model.id]
    lines = [f"LLM endpoints: profile {config.profile}, model {', '.join(models)} (prices: {price_table_note()})"]
    if not enabled:
        lines.append("  no deployment enabled: only the model bucket stack")
    for name in config.used_shared_endpoints():
        lines += _shared_endpoint_lines(name, config)
    for name, variant in enabled.items():
        instance = known_instance(variant.instance_type)
        image = known_image(variant.image.framework, variant.image.version)
        where = config.region or f"deploy-time region, {len(image.regions)} regions mapped"
        price = instance.price_per_hour * variant.instance_count
        limits = variant_limits(name, variant)
        sizing = variant_sizing(name, variant, config, limits)
        component = variant.hosting == INFERENCE_COMPONENT
        copy_price = None
        if component:
            needs = copy_requirements(name, variant, instance)
            copy_price = instance.price_per_hour * needs.accelerators / instance.gpus
            scaling = variant.component
            copies = f"{scaling.min_copies}..{scaling.max_copies} copies" if scaling.autoscaling else f"{scaling.copies} copies"
            placement = [
                f"  component on shared endpoint {scaling.endpoint} ({variant.instance_type}): {copies}, each {needs.accelerators} of "
                f"{instance.gpus} GPUs and {needs.memory_mib:,} MiB",
                f"  price     ~${copy_price:,.2f}/hour per copy (its share of the instance; the shared endpoint is billed by instance)",
            ]
        else:
            placement = [
                f"  instance  {variant.instance_count} x {variant.instance_type}: {instance.gpus} x {instance.gpu_model} of {_whole_or_tenths(instance.gpu_memory_bytes / instance.gpus / GIB)} GiB each",
                f"  price     ~${price:,.2f}/hour, ~${price * HOURS_PER_MONTH:,.0f}/month always on",
            ]
        lines += [
            f"[{name}]" if name == variant.engine and variant.model == config.model else f"[{name}] {variant.engine}, {variant.model.id}",
            f"  image     {variant.image.framework} {variant.image.version}: {image.repository}:{image.tag} ({where})",
            *placement,
            f"  tokens    {limits.token_summary}",
            f"  timeouts  model download {_seconds(variant.model_data_download_timeout_in_seconds)}, container start-up {_seconds(variant.container_startup_health_check_timeout_in_seconds)}",
            f"  weights   {_weights_line(variant, config)}",
            f"  host      {_host_line(variant)}",
            f"  sizing    {_sizing_line(sizing)}",
            *([] if component else _idle_gpus_lines(instance, limits, price)),
            *_bounds_lines(instance, variant, limits, sizing, copy_price),
        ]
    if config.pipeline.enabled:
        lines.append(_pipeline_line(config))
    return "\n".join(lines)


def _shared_endpoint_lines(name: str, config: AppConfig) -> list[str]:
    """A shared endpoint: its fleet, what it costs idle and at most, and how full its components make it."""
    endpoint = config.shared_endpoints[name]
    instance = known_instance(endpoint.instance_type)
    cost = shared_cost(endpoint)
    components = config.components_of(name)
    most = sum(
        copy_requirements(n, v, instance).accelerators * (v.component.max_copies if v.component.autoscaling else v.component.copies)
        for n, v in components.items()
    )
    idle = "scales to zero instances when every component is at zero copies" if endpoint.min_instance_count == 0 else "its fewest instances"
    return [
        f"[shared endpoint {name}] {endpoint.min_instance_count}..{endpoint.max_instance_count} x {endpoint.instance_type} "
        f"({endpoint.instance_count} at creation), managed instance scaling",
        f"  price     ~${cost.idle_per_hour:,.2f}/hour idle ({idle}), ~${cost.most_per_hour:,.2f}/hour at most "
        f"(~${cost.most_per_hour * HOURS_PER_MONTH:,.0f}/month if always at most)",
        f"  packing   {', '.join(components)}: {most} of {instance.gpus * endpoint.max_instance_count} GPUs at their most copies",
    ]


def _pipeline_line(config: AppConfig) -> str:
    pipeline = config.pipeline
    stages = ", ".join(
        f"{name} {stage.account}/{stage.region} ({stage.traffic_routing or 'canary from 2 instances, else all-at-once'}{', after approval' if stage.manual_approval else ''})"
        for name, stage in pipeline.stages().items()
    )
    return f"[pipeline] {pipeline.repository}@{pipeline.branch} in {pipeline.account}/{pipeline.region} -> {stages}"


def _seconds(value: int | None) -> str:
    return "SageMaker default" if value is None else f"{value} s"
