"""One construct for every serving variant: a SageMaker Model, EndpointConfig and Endpoint.

The variants differ only in the `ContainerSpec` they pass (image, environment, model data).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from blueprint.config.settings import DeploymentSettings
from blueprint.engines.container_spec import ContainerSpec
from stacks.checkov_skips import skip_checkov
from stacks.container_image import resolve_image
from stacks.endpoint_network import EndpointNetwork, vpc_config
from stacks.execution_role import SageMakerExecutionRole

# InvokeEndpointWithResponseStream is its own action in the Service Authorization Reference, and the
# API reference says it needs sagemaker:InvokeEndpoint: a caller gets both.
INVOKE_ACTIONS = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]


class LlmEndpoint(Construct):
    """A real-time endpoint serving `container` on GPU instances.

    Model and EndpointConfig get no physical names, so CloudFormation can replace them (a new
    config is created, the endpoint switches to it, the old one is deleted).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        container: ContainerSpec,
        instance_type: str,
        instance_count: int = 1,
        variant_name: str = "AllTraffic",
        model_data_download_timeout_in_seconds: int | None = None,
        container_startup_health_check_timeout_in_seconds: int | None = None,
        endpoint_name: str | None = None,
        volume_size_in_gb: int | None = None,
        kms_key: kms.IKey | None = None,
        inference_ami_version: str | None = None,
        deployment: DeploymentSettings | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        model_bucket: s3.IBucket | None = None,
        weights_prefix: str | None = None,
        retain_variant_properties: bool = False,
        network: EndpointNetwork | None = None,
    ) -> None:
        """
        :param container: image, environment and model data of the variant.
        :param model_data_download_timeout_in_seconds: default: SageMaker's default.
        :param container_startup_health_check_timeout_in_seconds: default: SageMaker's default.
        :param endpoint_name: default: a name CloudFormation generates.
        :param volume_size_in_gb: default: SageMaker's default (must stay unset on NVMe families).
        :param kms_key: default: none (must stay unset on NVMe families).
        :param inference_ami_version: host image (NVIDIA driver, CUDA); default: SageMaker's default.
        :param deployment: traffic shifting of updates; default: SageMaker's (all at once, no bake).
        :param rollback_alarms: alarms that roll an update back; they must not depend on this
            endpoint's attributes (name the endpoint instead), or the template has a cycle.
        :param model_bucket: bucket of the staged weights; required when the container reads them.
        :param weights_prefix: key prefix (ending in /) of the staged weights in `model_bucket`.
        :param retain_variant_properties: updates keep the variant's current instance count and
            weight (set it when autoscaling owns the count); default: the new config's values.
        """
        super().__init__(scope, id)
        self.execution_role, self.model = serving_model(self, container, model_bucket, weights_prefix, network)

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            kms_key_id=kms_key.key_arn if kms_key else None,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=variant_name,
                    model_name=self.model.attr_model_name,
                    initial_instance_count=instance_count,
                    instance_type=instance_type,
                    initial_variant_weight=1.0,
                    model_data_download_timeout_in_seconds=model_data_download_timeout_in_seconds,
                    container_startup_health_check_timeout_in_seconds=container_startup_health_check_timeout_in_seconds,
                    volume_size_in_gb=volume_size_in_gb,
                    inference_ami_version=inference_ami_version,
                )
            ],
        )
        rollback_alarms = rollback_alarms if deployment and deployment.rollback_on_alarms else ()
        if rollback_alarms:
            self.execution_role.grant_describe_alarms(rollback_alarms)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            endpoint_name=endpoint_name,
            deployment_config=_deployment_config(deployment, rollback_alarms) if deployment else None,
            # With a scalable target, keep the instance count autoscaling set instead of resetting
            # it to InitialInstanceCount at every update (a new EndpointConfig).
            retain_all_variant_properties=True if retain_variant_properties else None,
        )
        self.variant_name = variant_name

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` invoke this endpoint, streamed or not, and nothing else."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=INVOKE_ACTIONS, resource_arns=[self.endpoint.ref])


def serving_model(
    scope: Construct,
    container: ContainerSpec,
    model_bucket: s3.IBucket | None,
    weights_prefix: str | None,
    network: EndpointNetwork | None = None,
) -> tuple[SageMakerExecutionRole, sagemaker.CfnModel]:
    """The execution role and the SageMaker Model of `container`, as children of `scope` (a
    dedicated endpoint's or an inference component's): image, environment, secrets, model data,
    and its place in a VPC (`network`)."""
    image = resolve_image(scope, "ImageRegistry", container.image)
    execution_role = SageMakerExecutionRole(scope, "ExecutionRole", image=image)

    model_data_url = None
    if container.model_data_archive is not None:
        code = s3_assets.Asset(
            scope,
            "ModelData",
            path=str(container.model_data_archive.path),
            asset_hash=container.model_data_archive.content_hash,
            asset_hash_type=cdk.AssetHashType.CUSTOM,
        )
        execution_role.grant_read_objects("ReadModelData", code.bucket.bucket_arn, code.s3_object_key)
        model_data_url = code.s3_object_url
    if container.reads_staged_weights:
        if model_bucket is None or not weights_prefix:
            raise ValueError("model_bucket and weights_prefix are required when the container reads staged weights")
        execution_role.grant_read_objects(
            "ReadWeights",
            model_bucket.bucket_arn,
            f"{weights_prefix}*",
            why="Read-only access to the staged weights of this model and revision, the prefix the container loads.",
        )

    environment = dict(container.environment)
    for name, ref in container.secret_environment.items():
        # A dynamic reference: CloudFormation resolves it at deploy time; templates and
        # cdk.out hold only the secret's name. DescribeModel shows the resolved value, and a
        # rotated secret reaches the container only with the next deploy that replaces the Model.
        environment[name] = cdk.SecretValue.secrets_manager(ref.secret, json_field=ref.json_field).unsafe_unwrap()

    model_data_source = None
    if container.mounts_staged_weights:
        # An uncompressed prefix mounted at /opt/ml/model: no tarball, no network needed.
        model_data_source = sagemaker.CfnModel.ModelDataSourceProperty(
            s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                s3_uri=f"s3://{model_bucket.bucket_name}/{weights_prefix}",
                s3_data_type="S3Prefix",
                compression_type="None",
            )
        )
    model = sagemaker.CfnModel(
        scope,
        "Model",
        execution_role_arn=execution_role.role.role_arn,
        enable_network_isolation=container.mounts_staged_weights or None,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=image.uri,
            mode="SingleModel",
            environment=environment,
            model_data_url=model_data_url,
            model_data_source=model_data_source,
        ),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(**placement) if (placement := vpc_config(network)) else None,
    )
    if network is not None:
        network.grant_network_interfaces(execution_role)
    # The container starts only once the role can pull the image and read model data.
    model.node.add_dependency(execution_role.policy)
    if not container.mounts_staged_weights:
        source = (
            "copies the staged weights from the model bucket itself"
            if container.reads_staged_weights
            else "downloads the weights from the Hugging Face Hub at start-up"
        )
        skip_checkov(
            model,
            "CKV_AWS_370",
            f"Network isolation is off because the container {source}; weights_loading=s3 mounts the staged weights "
            "with network isolation on.",
        )
    return execution_role, model


_ROUTING_TYPES = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}


def _deployment_config(
    deployment: DeploymentSettings, alarms: Sequence[cloudwatch.IAlarm]
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """Blue/green: a new fleet, traffic shifted as configured, the old fleet kept a while."""
    routing = _ROUTING_TYPES[deployment.traffic_routing]
    size = sagemaker.CfnEndpoint.CapacitySizeProperty
    traffic = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type=routing,
        wait_interval_in_seconds=deployment.wait_interval_in_seconds,
        canary_size=size(type="CAPACITY_PERCENT", value=deployment.canary_size_percent) if routing == "CANARY" else None,
        linear_step_size=size(type="CAPACITY_PERCENT", value=deployment.linear_step_percent) if routing == "LINEAR" else None,
    )
    rollback = None
    if alarms:
        rollback = sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name) for a in alarms]
        )
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=traffic,
            termination_wait_in_seconds=deployment.termination_wait_in_seconds,
            maximum_execution_timeout_in_seconds=deployment.maximum_execution_timeout_in_seconds,
        ),
        auto_rollback_configuration=rollback,
    )
