"""Typed settings of the app: what a profile and `-c key=value` overrides can set.

Every field here is a setting users may change; its default is the behaviour they get when a
profile does not set it. Field names are the dotted keys of `cdk.json` context (for example
`variants.tgi.instance_type`). The loader (`blueprint/loader.py`) fills these classes, and
`blueprint/validation.py` checks them against the facts tables before any stack is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from blueprint.config.names import prefixed


@dataclass(frozen=True)
class ModelSettings:
    """The model served by every variant. Architecture facts default to `data/model_facts.json`."""

    # Hugging Face hub model id: what TGI downloads in hub mode and the staging CLI copies to S3.
    id: str = "meta-llama/Llama-2-13b-chat-hf"
    # Pinned hub revision: part of the S3 prefix of staged weights, so a new revision never
    # overwrites the weights a running endpoint reads.
    revision: str = "main"
    # True says the model needs no hub token (not gated). A gated model without a token secret
    # is a synth error unless this is set.
    public: bool = False
    # Architecture facts (from the model's config.json); default: data/model_facts.json.
    num_parameters: float | None = None  # weights count, e.g. 13.0e9
    num_layers: int | None = None  # transformer layers (KV cache size)
    hidden_size: int | None = None  # hidden dimension (KV cache size)
    num_attention_heads: int | None = None  # the tensor-parallel degree must divide it
    num_key_value_heads: int | None = None  # grouped-query attention; default: the attention heads
    max_position_embeddings: int | None = None  # context length: token limits may not exceed it
    # fp16/bf16 weights and KV cache.
    dtype_bytes: int = 2


@dataclass(frozen=True)
class BucketSettings:
    """The model bucket, named `<name_prefix>-<account>-<region>`."""

    # 3-24 lowercase letters, digits and hyphens; -<account>-<region> is appended.
    name_prefix: str = "llm-models"


@dataclass(frozen=True)
class WeightsSettings:
    """Where staged weights live in the model bucket (read by LMI, later by TGI in s3 mode)."""

    # default: models/<model id>/<revision>/
    s3_prefix: str | None = None


@dataclass(frozen=True)
class SizingSettings:
    """Assumptions of the GPU memory report printed at synth (no effect on the stacks)."""

    # Share of GPU memory the serving engine takes (vLLM's gpu_memory_utilization default).
    gpu_memory_utilization: float = 0.9
    # CUDA context, activations and NCCL buffers that each GPU keeps beside weights and KV cache.
    runtime_overhead_gib_per_gpu: float = 2.0


@dataclass(frozen=True)
class ImageSettings:
    """A container image of the SageMaker SDK's registry, looked up in `blueprint/images/image_table.json`."""

    # SDK registry framework, e.g. huggingface-llm (TGI) or djl-deepspeed / djl-lmi (LMI).
    framework: str = ""
    # Version in that framework, e.g. 1.0.3; must be in blueprint/images/image_table.json and the region.
    version: str = ""


@dataclass(frozen=True)
class AutoscalingSettings:
    """Target tracking on the variant's instance count (off: one fixed instance, as the recipe)."""

    # Register the variant with Application Auto Scaling (a target-tracking policy).
    enabled: bool = False
    min_capacity: int = 1  # fewest instances (at least 1)
    max_capacity: int = 2  # most instances
    # concurrent-requests: SageMakerVariantConcurrentRequestsPerModelHighResolution (10 s data);
    # invocations: SageMakerVariantInvocationsPerInstance (per minute).
    metric: str = "concurrent-requests"
    # Concurrent requests per instance (or invocations per instance per minute) to hold.
    target_value: float = 8.0
    # Wait after adding capacity before adding more (0..86400 s).
    scale_out_cooldown_in_seconds: int = 300
    # A new instance takes 10-30 minutes to fetch and load the weights: give capacity back slowly.
    scale_in_cooldown_in_seconds: int = 1800
    # True: never remove instances automatically.
    disable_scale_in: bool = False


@dataclass(frozen=True)
class AlarmSettings:
    """CloudWatch alarms of the endpoint; thresholds are per period unless named otherwise."""

    # Create the alarms, their topic and the dashboard.
    enabled: bool = True
    # default: a topic is created in the endpoint stack.
    topic_arn: str | None = None
    # 10, 20, 30 or a multiple of 60 seconds.
    period_in_seconds: int = 60
    # Consecutive breaching periods before an alarm fires.
    evaluation_periods: int = 3
    invocation_5xx_errors: float = 0  # alarm when more than this many per period
    invocation_4xx_errors: float = 20  # alarm when more than this many per period
    model_latency_p90_ms: float = 60_000  # a whole streamed answer of up to 512 tokens
    # Per GPU: SageMaker reports the sum over the instance's GPUs, the alarm scales by their count.
    # TGI and vLLM reserve most GPU memory for KV cache at start-up, so only near-full is a signal.
    gpu_memory_utilization_percent: float = 99
    disk_utilization_percent: float = 90  # percent of the instance's disk


@dataclass(frozen=True)
class DeploymentSettings:
    """How an endpoint update shifts traffic to the new fleet (SageMaker deployment guardrails)."""

    # all-at-once, canary (canary_size_percent first, then the rest) or linear (steps of linear_step_percent).
    traffic_routing: str = "all-at-once"
    canary_size_percent: int = 25  # the canary's share of the fleet (1..50)
    linear_step_percent: int = 25  # each linear step's share of the fleet (10..50)
    # Bake time after each shift, watching the alarms.
    wait_interval_in_seconds: int = 600
    # How long the old fleet is kept after the switch (for a fast manual roll back).
    termination_wait_in_seconds: int = 300
    # Give up and roll back after this long (600..28800 s, longer than the waits).
    maximum_execution_timeout_in_seconds: int = 7200
    # Roll back automatically when one of the endpoint's alarms fires during the update.
    rollback_on_alarms: bool = True


@dataclass(frozen=True)
class VariantSettings:
    """What every serving variant has: image, instances, timeouts, endpoint."""

    # False: no endpoint stack for this variant.
    enabled: bool = True
    image: ImageSettings = field(default_factory=ImageSettings)
    instance_type: str = "ml.g5.12xlarge"  # a GPU instance of data/instance_types.json
    instance_count: int = 1  # instances at creation (within autoscaling's min..max when it is on)
    # Production variant name; must stay the same across updates (blue/green).
    variant_name: str = "AllTraffic"
    # SageMaker's timeouts, 60..3600 s; unset: SageMaker's defaults.
    model_data_download_timeout_in_seconds: int | None = 3600
    container_startup_health_check_timeout_in_seconds: int | None = 3600  # start-up until the health check passes
    # default: the stack's name (stable, so alarms can name it and updates keep it).
    endpoint_name: str | None = None
    # SageMaker host image (NVIDIA driver and CUDA); default: SageMaker's default for the instance.
    inference_ami_version: str | None = None
    # Only for instance families without NVMe instance storage: SageMaker refuses a volume size on
    # g4dn, g5 and p4d, and a key there would not encrypt their instance storage.
    volume_size_in_gb: int | None = None
    kms_key_arn: str | None = None  # customer managed key of the EBS volume (not on NVMe families)
    # Extra container environment; plain values only (secrets are rejected).
    environment: dict[str, str] = field(default_factory=dict)
    # How the container gets the weights; each variant class sets its default and allowed values.
    weights_loading: str = ""
    autoscaling: AutoscalingSettings = field(default_factory=AutoscalingSettings)
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)


@dataclass(frozen=True)
class TgiVariantSettings(VariantSettings):
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
    # Name or ARN of a Secrets Manager secret holding the hub token (never the token itself).
    hub_token_secret: str | None = None
    # Key of the token when the secret holds JSON key/value pairs; default: the whole secret string.
    hub_token_secret_json_field: str | None = None


@dataclass(frozen=True)
class LmiVariantSettings(VariantSettings):
    """Large Model Inference container (DJL Serving), configured by a serving.properties file."""

    # s3-download: the container copies the staged weights from S3 itself (the recipe's
    # option.model_id=s3://...). s3: SageMaker mounts them at /opt/ml/model, network isolation on.
    weights_loading: str = "s3-download"
    # Path below model_artifacts/ of the reviewed serving.properties this variant packs.
    serving_properties: str = "lmi/llama2-13b-seed/serving.properties"
    # Overrides of `option.<name>` keys of that file, e.g. options.max_rolling_batch_size=32.
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Variants:
    """The serving variants; each has its own endpoint stack."""

    tgi: TgiVariantSettings = field(default_factory=TgiVariantSettings)
    lmi: LmiVariantSettings = field(default_factory=LmiVariantSettings)

    def enabled(self) -> dict[str, VariantSettings]:
        """Enabled variants by name, in a stable order."""
        return {name: v for name, v in (("tgi", self.tgi), ("lmi", self.lmi)) if v.enabled}


@dataclass(frozen=True)
class StageSettings:
    """One environment the pipeline deploys to: the bucket stack and the enabled endpoint stacks."""

    account: str | None = None  # the stage's AWS account (12 digits), bootstrapped with --trust
    region: str | None = None  # the stage's region
    # How endpoint updates shift traffic in this stage (overrides variants.*.deployment.traffic_routing):
    # all-at-once, canary, linear, or unset: canary for a variant of 2+ instances (SageMaker's canary
    # is at most half the fleet), all-at-once otherwise. Blue/green with bake and rollback either way.
    traffic_routing: str | None = "all-at-once"
    # A person approves in the pipeline before this stage deploys.
    manual_approval: bool = False

    def routing_for(self, variant: VariantSettings) -> str:
        """The traffic shifting this stage gives `variant`'s endpoint updates."""
        if self.traffic_routing is not None:
            return self.traffic_routing
        return "canary" if variant.instance_count >= 2 else "all-at-once"


@dataclass(frozen=True)
class DevStageSettings(StageSettings):
    """First stage: updates land at once, so a broken model fails fast and cheaply."""


@dataclass(frozen=True)
class ProdStageSettings(StageSettings):
    """Last stage: behind an approval; a canary first where the fleet allows one, rolled back by the alarms."""

    traffic_routing: str | None = None
    manual_approval: bool = True


@dataclass(frozen=True)
class PipelineSettings:
    """Promotion through accounts with CDK Pipelines (off by default: the workstation path needs none)."""

    enabled: bool = False  # add the pipeline stack to the app
    # GitHub/GitLab/Bitbucket repository as owner/name, reached through a CodeConnections connection.
    repository: str | None = None
    branch: str = "main"  # the branch that releases
    connection_arn: str | None = None  # the CodeConnections connection, authorised in the console
    # Where the pipeline itself runs (its own tooling account, usually).
    account: str | None = None
    region: str | None = None  # the pipeline's region
    dev: DevStageSettings = field(default_factory=DevStageSettings)
    prod: ProdStageSettings = field(default_factory=ProdStageSettings)

    def stages(self) -> dict[str, StageSettings]:
        """Stages in deployment order."""
        return {"dev": self.dev, "prod": self.prod}


@dataclass(frozen=True)
class AppConfig:
    """The whole configuration of one synth."""

    # Named starting point (blueprint/config/profiles.py): llama2-13b-seed, current, llama2-13b-staged.
    profile: str = "llama2-13b-seed"
    # Prefix of every fixed name (stacks, the model bucket, the pipeline's smoke-test roles), so two
    # copies of the app deploy side by side in one account and region, e.g. team-a: lowercase words
    # joined by hyphens, at most 12 characters. Default: none (the names a deployed app already has).
    app_name: str = ""
    # default: environment-agnostic stacks (images resolved at deploy time from a region map).
    account: str | None = None
    region: str | None = None  # default: environment-agnostic, like account
    model: ModelSettings = field(default_factory=ModelSettings)
    bucket: BucketSettings = field(default_factory=BucketSettings)
    weights: WeightsSettings = field(default_factory=WeightsSettings)
    sizing: SizingSettings = field(default_factory=SizingSettings)
    variants: Variants = field(default_factory=Variants)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)

    def for_stage(self, stage: StageSettings) -> AppConfig:
        """This configuration in a pipeline stage: the stage's account, region and traffic shifting."""
        variants = self.variants
        for name in ("tgi", "lmi"):
            variant = getattr(variants, name)
            deployment = dataclasses.replace(variant.deployment, traffic_routing=stage.routing_for(variant))
            variants = dataclasses.replace(variants, **{name: dataclasses.replace(variant, deployment=deployment)})
        return dataclasses.replace(
            self, account=stage.account, region=stage.region, variants=variants, pipeline=PipelineSettings(enabled=False)
        )

    def bucket_name_prefix(self) -> str:
        """The model bucket's name before `-<account>-<region>`."""
        return prefixed(self.app_name, self.bucket.name_prefix)

    def weights_s3_prefix(self) -> str:
        """S3 key prefix (ending in '/') of the staged weights in the model bucket."""
        if self.weights.s3_prefix:
            return self.weights.s3_prefix.rstrip("/") + "/"
        return f"models/{self.model.id}/{self.model.revision}/"
