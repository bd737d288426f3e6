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

# The hosting values (VariantSettings.hosting).
DEDICATED = "dedicated"
INFERENCE_COMPONENT = "inference-component"


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
class NetworkSettings:
    """Placement of an endpoint's instances in the team's VPC (unset subnets: SageMaker's own network)."""

    # The VPC of the subnets (vpc-...): the security group, the S3 gateway endpoint and the execution
    # role's network-interface permissions are scoped to it.
    vpc_id: str | None = None
    # Private subnets (subnet-...), in at least two Availability Zones: SageMaker requires two, even
    # for one instance. Empty: not in a VPC.
    subnet_ids: list[str] = field(default_factory=list)
    # Security groups (sg-..., at most 5); default: one the stack creates, with no inbound rule and
    # egress only to what the weights mode needs.
    security_group_ids: list[str] = field(default_factory=list)
    # The subnets reach S3 privately (an S3 gateway endpoint on their route tables).
    s3_endpoint: bool = False
    # Create that S3 gateway endpoint on these route tables (rtb-...); implies s3_endpoint.
    s3_endpoint_route_table_ids: list[str] = field(default_factory=list)
    # The S3 managed prefix list of the region (pl-...): what the created security group allows
    # HTTPS to (aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.<region>.s3).
    s3_prefix_list_id: str | None = None
    # The subnets have a route to the internet (a NAT gateway: never created here), which the hub
    # mode needs; the created security group then allows HTTPS anywhere.
    internet_route: bool = False


@dataclass(frozen=True)
class ComponentSettings:
    """A deployment hosted as an inference component of a shared endpoint (hosting=inference-component)."""

    # The shared endpoint (a shared_endpoints.<name> key) whose instances run this deployment's copies.
    endpoint: str = ""
    # Copies at creation (SageMaker: at least 1); with autoscaling on, between min and max after that.
    copies: int = 1
    # GPUs each copy gets; default: the GPUs the engine shards over (they must be equal).
    accelerators_per_copy: int | None = None
    # Host memory each copy reserves (MiB); default: the copy's share of the host's memory by GPUs, less a fifth.
    memory_per_copy_mib: int | None = None
    # Host CPU cores each copy reserves; default: none reserved.
    cpu_cores_per_copy: float | None = None
    # Target tracking of the copy count (Application Auto Scaling on DesiredCopyCount).
    autoscaling: bool = False
    # Fewest copies: 0 scales to zero when idle (the first request then fails and starts a copy).
    min_copies: int = 1
    max_copies: int = 1  # most copies, all of which must fit the shared endpoint's largest fleet
    # Concurrent requests per copy to hold (SageMaker's high-resolution metric, 10 s data).
    target_concurrent_requests_per_copy: float = 4.0
    scale_out_cooldown_in_seconds: int = 60  # wait after adding a copy before adding more (0..86400)
    # A copy takes minutes to load: give copies back slowly (0..86400 s).
    scale_in_cooldown_in_seconds: int = 900


@dataclass(frozen=True)
class SharedEndpointSettings:
    """An endpoint whose instances SageMaker manages, hosting deployments as inference components."""

    instance_type: str = "ml.g5.12xlarge"  # a GPU instance of data/instance_types.json
    instance_count: int = 1  # instances at creation (at least 1)
    # Managed instance scaling: SageMaker adds instances for copies that do not fit and removes
    # instances no copy uses. 0: no instance, and no instance cost, while every component is at zero.
    min_instance_count: int = 1
    max_instance_count: int = 1  # most instances
    # How requests are spread over copies: least-outstanding-requests or random.
    routing: str = "least-outstanding-requests"
    # Production variant name; must stay the same across updates.
    variant_name: str = "AllTraffic"
    # default: the stack's name.
    endpoint_name: str | None = None
    # SageMaker host image (NVIDIA driver and CUDA); default: SageMaker's default for the instance.
    inference_ami_version: str | None = None
    # Customer managed key of the instances' EBS volumes (not on NVMe families: g4dn, g5, p4d).
    kms_key_arn: str | None = None
    # Its VPC placement, which its components' models share.
    network: NetworkSettings = field(default_factory=NetworkSettings)


@dataclass(frozen=True)
class VariantSettings:
    """What every deployment has, whatever its engine: image, instances, timeouts, endpoint.

    A deployment is `variants.<name>`: any name of lowercase words joined by hyphens, with an
    engine; a deployment named after an engine (the seed's `tgi` and `lmi`) runs that engine unless
    it says otherwise. Each engine adds its own settings (blueprint/engines/<engine>.py).
    """

    # The serving engine: tgi, lmi, vllm or sglang (blueprint/engines/registry.py); default: the
    # deployment's name when that names an engine.
    engine: str = ""
    # False: no endpoint stack for this deployment.
    enabled: bool = True
    # dedicated: its own endpoint (the recipe's); inference-component: a component of a shared
    # endpoint (component.endpoint), with its own copy count that may scale to zero.
    hosting: str = "dedicated"
    component: ComponentSettings = field(default_factory=ComponentSettings)
    # This deployment's model: the top-level model.* settings, overridden key by key here. A
    # different model.id starts from that model's own facts (nothing else is inherited).
    model: ModelSettings = field(default_factory=ModelSettings)
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
    # How the container gets the weights; each engine sets its default and allowed values.
    weights_loading: str = ""
    autoscaling: AutoscalingSettings = field(default_factory=AutoscalingSettings)
    alarms: AlarmSettings = field(default_factory=AlarmSettings)
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)
    # VPC placement of a dedicated endpoint (a component uses its shared endpoint's).
    network: NetworkSettings = field(default_factory=NetworkSettings)
    # Who may invoke it: IAM role ARNs or 12-digit account ids. They get a role to assume that may
    # only invoke this endpoint (and its component); its ARN is the stack output InvokeRoleArn.
    invoke_principals: list[str] = field(default_factory=list)


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
    # The deployments by name, each with its own endpoint stack (see VariantSettings).
    variants: dict[str, VariantSettings] = field(default_factory=dict)
    # Endpoints that host deployments as inference components, by name (see SharedEndpointSettings).
    shared_endpoints: dict[str, SharedEndpointSettings] = field(default_factory=dict)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)

    def for_stage(self, stage: StageSettings) -> AppConfig:
        """This configuration in a pipeline stage: the stage's account, region and traffic shifting."""
        variants = {
            name: dataclasses.replace(
                variant, deployment=dataclasses.replace(variant.deployment, traffic_routing=stage.routing_for(variant))
            )
            for name, variant in self.variants.items()
        }
        return dataclasses.replace(
            self, account=stage.account, region=stage.region, variants=variants, pipeline=PipelineSettings(enabled=False)
        )

    def bucket_name_prefix(self) -> str:
        """The model bucket's name before `-<account>-<region>`."""
        return prefixed(self.app_name, self.bucket.name_prefix)

    def enabled_variants(self) -> dict[str, VariantSettings]:
        """The deployments that get an endpoint stack, by name, in the profile's order."""
        return {name: variant for name, variant in self.variants.items() if variant.enabled}

    def used_shared_endpoints(self) -> dict[str, SharedEndpointSettings]:
        """The shared endpoints an enabled deployment is a component of (each gets its stack)."""
        used = {v.component.endpoint for v in self.enabled_variants().values() if v.hosting == INFERENCE_COMPONENT}
        return {name: endpoint for name, endpoint in self.shared_endpoints.items() if name in used}

    def components_of(self, endpoint: str) -> dict[str, VariantSettings]:
        """The enabled deployments hosted on shared endpoint `endpoint`."""
        return {
            name: v for name, v in self.enabled_variants().items() if v.hosting == INFERENCE_COMPONENT and v.component.endpoint == endpoint
        }

    def weights_s3_prefix(self, model: ModelSettings | None = None) -> str:
        """S3 key prefix (ending in '/') of `model`'s staged weights (default: the top-level model)."""
        if self.weights.s3_prefix:
            return self.weights.s3_prefix.rstrip("/") + "/"
        model = model or self.model
        return f"models/{model.id}/{model.revision}/"
