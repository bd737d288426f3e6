"""The short per-variant summary `cdk synth` prints: image, instance, price, limits, sizing."""

from __future__ import annotations

from config.facts import GIB, instance_facts, model_facts, price_table_note
from config.settings import AppConfig, LmiVariantSettings, TgiVariantSettings, VariantSettings
from containers import lmi, tgi
from images.image_catalog import find_image
from reports.sizing import Sizing, size

HOURS_PER_MONTH = 730


def variant_sizing(name: str, variant: VariantSettings, config: AppConfig) -> Sizing:
    """Sizing of one variant from its own settings (TGI: SM_NUM_GPUS; LMI: tensor parallel degree)."""
    instance = instance_facts(variant.instance_type)
    model = model_facts(config.model)
    if isinstance(variant, TgiVariantSettings):
        limit = variant.max_batch_total_tokens
        label = "variants.tgi.max_batch_total_tokens"
        return size(instance, tgi.num_gpus(variant, instance), model, config.sizing, limit, label)
    assert isinstance(variant, LmiVariantSettings)
    props = lmi.read_properties(variant)
    seqs = int(props.get("option.max_rolling_batch_size", "32"))
    length = int(props.get("option.max_model_len", model.max_position_embeddings))
    label = f"option.max_rolling_batch_size {seqs} x {length} tokens"
    return size(instance, lmi.tensor_parallel_degree(props, instance), model, config.sizing, seqs * length, label)


def _gb(value: float) -> str:
    return f"{value / 1e9:.1f} GB"


def _sizing_line(name: str, s: Sizing) -> str:
    head = f"weights {_gb(s.weights_bytes)} on {s.gpus_used} GPUs of {s.gpu_memory_bytes / GIB:.0f} GiB ({_gb(s.usable_bytes)} usable)"
    if not s.weights_fit:
        return f"{head}: the weights do NOT fit; use a larger instance or more GPUs"
    budget = f"KV cache {s.kv_bytes_per_token / 1e6:.2f} MB/token, room for ~{s.kv_budget_tokens:,} tokens"
    if s.batch_token_limit is None:
        return f"{head}; {budget}; batch limit set by the engine at start-up"
    share = s.batch_token_limit / s.kv_budget_tokens if s.kv_budget_tokens else float("inf")
    verdict = f"batch limit {s.batch_token_limit:,} tokens ({s.batch_limit_label}) = {share:.0%} of it"
    if share < 0.5 and name == "tgi":
        verdict += f"; raise {s.batch_limit_label} to about {s.suggested_batch_tokens:,} to use the memory"
    elif share > 1:
        verdict += "; at full length fewer sequences fit at once (paged attention queues the rest)"
    return f"{head}; {budget}; {verdict}"


def render_summary(config: AppConfig) -> str:
    lines = [f"LLM endpoints: profile {config.profile}, model {config.model.id} (prices: {price_table_note()})"]
    enabled = config.variants.enabled()
    if not enabled:
        lines.append("  no variant enabled: only the model bucket stack")
    for name, variant in enabled.items():
        instance = instance_facts(variant.instance_type)
        image = find_image(variant.image.framework, variant.image.version)
        where = config.region or f"deploy-time region, {len(image.regions)} regions mapped"
        price = instance.price_per_hour * variant.instance_count
        lines += [
            f"[{name}]",
            f"  image     {variant.image.framework} {variant.image.version}: {image.repository}:{image.tag} ({where})",
            f"  instance  {variant.instance_count} x {variant.instance_type}: {instance.gpus} x {instance.gpu_model}, {instance.gpu_memory_mib_total / 1024:.0f} GiB GPU memory",
            f"  price     ~${price:,.2f}/hour, ~${price * HOURS_PER_MONTH:,.0f}/month always on",
            f"  tokens    {_token_limits(variant, config)}",
            f"  timeouts  model download {_seconds(variant.model_data_download_timeout_in_seconds)}, container start-up {_seconds(variant.container_startup_health_check_timeout_in_seconds)}",
            f"  sizing    {_sizing_line(name, variant_sizing(name, variant, config))}",
        ]
    return "\n".join(lines)


def _seconds(value: int | None) -> str:
    return "SageMaker default" if value is None else f"{value} s"


def _token_limits(variant: VariantSettings, config: AppConfig) -> str:
    if isinstance(variant, TgiVariantSettings):

        def show(v: int | None) -> str:
            return "auto" if v is None else f"{v:,}"

        return f"input {show(variant.max_input_tokens)}, total {show(variant.max_total_tokens)}, batch total {show(variant.max_batch_total_tokens)}"
    props = lmi.read_properties(variant)
    length = props.get("option.max_model_len", f"{model_facts(config.model).max_position_embeddings} (model context)")
    return f"max model length {length}, up to {props.get('option.max_rolling_batch_size', '32')} sequences in a rolling batch"
