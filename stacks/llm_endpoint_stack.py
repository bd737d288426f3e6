"""Stateless stack of one deployment: execution role, Model, EndpointConfig, Endpoint."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.config.facts import InstanceFacts, known_instance
from blueprint.config.settings import AppConfig, VariantSettings
from blueprint.engines.container_spec import ContainerSpec
from blueprint.engines.registry import ENGINES
from blueprint.images.image_catalog import known_image
from blueprint.networking import in_vpc
from blueprint.validation import image_cuda
from stacks.endpoint_monitoring import EndpointMonitoring
from stacks.endpoint_network import EndpointNetwork
from stacks.endpoint_scaling import EndpointScaling
from stacks.invoke_access import InvokeAccess
from stacks.llm_endpoint import LlmEndpoint
from stacks.model_bucket_stack import model_bucket_name
from stacks.nag import acknowledge
from stacks.smoke_test_access import SmokeTestAccess, SmokeTestRole


def default_endpoint_name(stack_name: str) -> str:
    """The stack's name as the endpoint's: stable across updates, unique per account and region."""
    return re.sub(r"[^A-Za-z0-9-]", "-", stack_name)[:63].strip("-")


def add_serving_outputs(stack: cdk.Stack, variant: str, engine: str) -> None:
    """What the smoke test and the bench read of any deployment's stack: its name, its engine (the
    request format to speak) and its region."""
    cdk.CfnOutput(stack, "ServingVariant", value=variant, description="The deployment's name in the app (variants.<name>)")
    cdk.CfnOutput(stack, "ServingEngine", value=engine, description="The engine serving the endpoint (blueprint/engines/registry.py)")
    cdk.CfnOutput(stack, "Region", value=stack.region)


def acknowledge_instance_storage(endpoint_config: Construct, instance: InstanceFacts) -> None:
    """On NVMe families, HIPAA's volume-key rule has nothing to protect: say why, for the reviewer."""
    if instance.nvme_instance_storage:
        acknowledge(
            endpoint_config,
            "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
            f"{instance.name} serves from NVMe instance storage, which a hardware module on the instance encrypts; "
            "SageMaker's KmsKeyId does not encrypt instance local storage (docs/aws-contract.md, EndpointConfig KmsKeyId).",
        )


def deployment_container(
    stack: cdk.Stack, config: AppConfig, settings: VariantSettings, instance: InstanceFacts
) -> tuple[ContainerSpec, s3.IBucket, str]:
    """A deployment's container as its engine builds it for `instance`, the model bucket (by name)
    and the prefix of its staged weights: what a dedicated endpoint and a component both start from."""
    prefix = config.weights_s3_prefix(settings.model)
    model_bucket = s3.Bucket.from_bucket_name(stack, "ModelBucket", model_bucket_name(stack, config.bucket_name_prefix()))
    image = known_image(settings.image.framework, settings.image.version)
    container = ENGINES[settings.engine].container_spec(settings, image, instance, f"s3://{model_bucket.bucket_name}/{prefix}")
    return container, model_bucket, prefix


class LlmEndpointStack(cdk.Stack):
    """Serves deployment `variant` (a `variants.<name>` key) of `config`; can be destroyed and recreated freely."""

    def __init__(
        self, scope: Construct, id: str, *, config: AppConfig, variant: str, smoke_test: SmokeTestAccess | None = None, **kwargs
    ) -> None:
        super().__init__(scope, id, **kwargs)
        settings = config.variants[variant]
        self.engine = settings.engine
        instance = known_instance(settings.instance_type)
        container, model_bucket, prefix = deployment_container(self, config, settings, instance)
        kms_key = kms.Key.from_key_arn(self, "VolumeKey", settings.kms_key_arn) if settings.kms_key_arn else None
        # A name known at synth: alarms (and the rollback that watches them) can name the endpoint
        # without a reference cycle, and updates keep the name clients call.
        endpoint_name = settings.endpoint_name or default_endpoint_name(self.stack_name)
        self.monitoring = None
        if settings.alarms.enabled:
            self.monitoring = EndpointMonitoring(
                self,
                "Monitoring",
                endpoint_name=endpoint_name,
                variant_name=settings.variant_name,
                gpus=instance.gpus,
                settings=settings.alarms,
            )
        self.network = EndpointNetwork(self, "Network", settings=settings.network) if in_vpc(settings.network) else None
        self.endpoint = LlmEndpoint(
            self,
            "LlmEndpoint",
            container=container,
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
            variant_name=settings.variant_name,
            model_data_download_timeout_in_seconds=settings.model_data_download_timeout_in_seconds,
            container_startup_health_check_timeout_in_seconds=settings.container_startup_health_check_timeout_in_seconds,
            endpoint_name=endpoint_name,
            volume_size_in_gb=settings.volume_size_in_gb,
            kms_key=kms_key,
            inference_ami_version=settings.inference_ami_version,
            deployment=settings.deployment,
            rollback_alarms=self.monitoring.rollback_alarms if self.monitoring else (),
            model_bucket=model_bucket,
            weights_prefix=prefix,
            retain_variant_properties=settings.autoscaling.enabled,
            network=self.network,
        )
        if settings.invoke_principals:
            self.invoke_access = InvokeAccess(
                self,
                "InvokeAccess",
                principals=settings.invoke_principals,
                resource_arns=[self.endpoint.endpoint.ref],
                what=f"the LLM endpoint {endpoint_name}",
            )
        if not instance.nvme_instance_storage and not settings.kms_key_arn:
            cdk.Annotations.of(self.endpoint.endpoint_config).add_warning_v2(
                "llm:VolumeKey",
                f"{settings.instance_type} stores the model on an EBS volume encrypted with the account's default key; "
                f"set variants.{variant}.kms_key_arn for a customer-managed key (the HIPAA pack requires one)",
            )
        cuda = image_cuda(container.image.tag)
        if settings.inference_ami_version is None and cuda is not None and cuda >= (12, 0):
            cdk.Annotations.of(self.endpoint.endpoint_config).add_warning_v2(
                "llm:HostImage",
                f"{container.image.tag} needs CUDA {cuda[0]}.{cuda[1]}; set variants.{variant}.inference_ami_version to a host image whose driver supports it",
            )
        acknowledge_instance_storage(self.endpoint.endpoint_config, instance)
        if settings.autoscaling.enabled:
            self.scaling = EndpointScaling(
                self, "Scaling", endpoint_name=endpoint_name, variant_name=settings.variant_name, settings=settings.autoscaling
            )
            self.scaling.node.add_dependency(self.endpoint.endpoint)  # the variant must exist first
        if smoke_test is not None:
            self.smoke_test_role = SmokeTestRole(
                self,
                "SmokeTest",
                access=smoke_test,
                variant=variant,
                endpoint_arn=self.endpoint.endpoint.ref,  # Ref of AWS::SageMaker::Endpoint is its ARN
                endpoint_config_arn=self.endpoint.endpoint_config.ref,  # its ARN, as for the endpoint
                monitoring=self.monitoring,
            )
        # What the smoke test reads to find and call the endpoint.
        self.endpoint_name_output = cdk.CfnOutput(self, "EndpointName", value=self.endpoint.endpoint.attr_endpoint_name)
        # What the post-deploy verification (llm-verify-deployment) compares with AWS.
        scaling = settings.autoscaling
        low, high = (scaling.min_capacity, scaling.max_capacity) if scaling.enabled else (settings.instance_count,) * 2
        self.verification_outputs = {
            "EndpointConfigName": cdk.CfnOutput(
                self,
                "EndpointConfigName",
                value=self.endpoint.endpoint_config.attr_endpoint_config_name,
                description="The EndpointConfig this deployment created: the endpoint must run it",
            ),
            "InstanceType": cdk.CfnOutput(self, "InstanceType", value=settings.instance_type),
            "MinInstanceCount": cdk.CfnOutput(self, "MinInstanceCount", value=str(low)),
            "MaxInstanceCount": cdk.CfnOutput(self, "MaxInstanceCount", value=str(high)),
        }
        if self.monitoring is not None:
            self.verification_outputs |= {
                "AlarmNames": cdk.CfnOutput(self, "AlarmNames", value=cdk.Fn.join(",", [a.alarm_name for a in self.monitoring.alarms])),
                "AlarmTopicArn": cdk.CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn),
            }
            if settings.deployment.rollback_on_alarms:
                # The alarms a delivery drill must never set (they would roll an update back).
                self.rollback_alarm_names_output = cdk.CfnOutput(
                    self, "RollbackAlarmNames", value=cdk.Fn.join(",", [a.alarm_name for a in self.monitoring.rollback_alarms])
                )
        self.variant_name_output = cdk.CfnOutput(self, "VariantName", value=settings.variant_name)
        add_serving_outputs(self, variant, settings.engine)
