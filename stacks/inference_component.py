"""Inference-component hosting: the shared endpoint, a deployment's component, and its copy scaling.

The CloudFormation shape (docs/aws-contract.md, "Inference components"): the shared endpoint's
EndpointConfig carries an `ExecutionRoleArn` and a production variant without a model, with
`ManagedInstanceScaling` and `RoutingConfig`; each component is an `AWS::SageMaker::InferenceComponent`
naming the endpoint and variant, its model, what each copy reserves, its start-up timeouts and its
copy count (at least 1 at creation). Copies scale with Application Auto Scaling on
`sagemaker:inference-component:DesiredCopyCount`; from zero, a step policy driven by an alarm on
`NoCapacityInvocationFailures` adds the first copy, as the SageMaker guide describes.
"""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from blueprint.config.settings import ComponentSettings, SharedEndpointSettings
from blueprint.engines.container_spec import ContainerSpec
from blueprint.hosting import ROUTING, CopyRequirements
from stacks.endpoint_network import EndpointNetwork, vpc_config
from stacks.endpoint_scaling import target_tracking
from stacks.execution_role import SageMakerExecutionRole
from stacks.llm_endpoint import INVOKE_ACTIONS, serving_model

COPY_COUNT = "sagemaker:inference-component:DesiredCopyCount"
CONCURRENT_REQUESTS_PER_COPY = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"


class SharedEndpoint(Construct):
    """An endpoint of instances SageMaker manages, for inference components (no model of its own)."""

    def __init__(
        self, scope: Construct, id: str, *, settings: SharedEndpointSettings, endpoint_name: str, network: EndpointNetwork | None = None
    ) -> None:
        """`network`: its VPC placement, which its components' models share."""
        super().__init__(scope, id)
        # SageMaker assumes it for the endpoint (CreateEndpointConfig's ExecutionRoleArn, needed
        # when no variant names a model); each component's model pulls its image with its own role.
        self.execution_role = SageMakerExecutionRole(
            self, "ExecutionRole", image=None, description="SageMaker execution role of a shared LLM endpoint"
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            execution_role_arn=self.execution_role.role.role_arn,
            kms_key_id=settings.kms_key_arn,
            vpc_config=sagemaker.CfnEndpointConfig.VpcConfigProperty(**placement) if (placement := vpc_config(network)) else None,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=settings.variant_name,
                    instance_type=settings.instance_type,
                    initial_instance_count=settings.instance_count,
                    inference_ami_version=settings.inference_ami_version,
                    managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                        status="ENABLED",
                        min_instance_count=settings.min_instance_count,
                        max_instance_count=settings.max_instance_count,
                    ),
                    routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(routing_strategy=ROUTING[settings.routing]),
                )
            ],
        )
        if network is not None:
            network.grant_network_interfaces(self.execution_role)
        self.endpoint_config.node.add_dependency(self.execution_role.policy)
        self.endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_config_name=self.endpoint_config.attr_endpoint_config_name, endpoint_name=endpoint_name
        )


class LlmInferenceComponent(Construct):
    """A deployment as a component of a shared endpoint: its model, and its copies there."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        container: ContainerSpec,
        endpoint_name: str,
        variant_name: str,
        component_name: str,
        settings: ComponentSettings,
        requirements: CopyRequirements,
        model_data_download_timeout_in_seconds: int | None,
        container_startup_health_check_timeout_in_seconds: int | None,
        model_bucket: s3.IBucket | None = None,
        weights_prefix: str | None = None,
        network: EndpointNetwork | None = None,
    ) -> None:
        """:param component_name: set here, since CloudFormation returns no name for a component
        (scaling and alarms name it).
        :param network: the shared endpoint's VPC placement (its models carry the same VpcConfig)."""
        super().__init__(scope, id)
        self.execution_role, self.model = serving_model(self, container, model_bucket, weights_prefix, network)
        startup = None
        if model_data_download_timeout_in_seconds or container_startup_health_check_timeout_in_seconds:
            startup = sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                model_data_download_timeout_in_seconds=model_data_download_timeout_in_seconds,
                container_startup_health_check_timeout_in_seconds=container_startup_health_check_timeout_in_seconds,
            )
        self.component = sagemaker.CfnInferenceComponent(
            self,
            "Component",
            endpoint_name=endpoint_name,
            variant_name=variant_name,
            inference_component_name=component_name,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.model.attr_model_name,
                compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=requirements.accelerators,
                    min_memory_required_in_mb=requirements.memory_mib,
                    number_of_cpu_cores_required=requirements.cpu_cores,
                ),
                startup_parameters=startup,
            ),
            # At least one copy at creation; autoscaling moves it (CloudFormation does not read it back).
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(copy_count=settings.copies),
        )
        self.component_name = component_name

    def grant_invoke(self, grantee: iam.IGrantable, endpoint_arn: str) -> iam.Grant:
        """Let `grantee` invoke this component on its shared endpoint `endpoint_arn`, and nothing else."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=INVOKE_ACTIONS, resource_arns=[endpoint_arn, self.component.ref])


class ComponentScaling(Construct):
    """Copies between min and max by concurrent requests per copy; from zero, a step on the first
    request that finds no copy. Application Auto Scaling uses its service-linked role for SageMaker."""

    def __init__(self, scope: Construct, id: str, *, component_name: str, settings: ComponentSettings) -> None:
        super().__init__(scope, id)
        self.target, self.policy = target_tracking(
            self,
            dimension=COPY_COUNT,
            resource_id=f"inference-component/{component_name}",
            capacity=(settings.min_copies, settings.max_copies),
            policy_name=f"{component_name}-concurrent-requests"[:256],
            metric=CONCURRENT_REQUESTS_PER_COPY,
            target_value=settings.target_concurrent_requests_per_copy,
            cooldowns=(settings.scale_out_cooldown_in_seconds, settings.scale_in_cooldown_in_seconds),
        )
        self.scale_out_from_zero = None
        if settings.min_copies == 0:
            # Target tracking cannot scale out from zero copies (no copy, no per-copy metric): a
            # request that finds no copy fails and counts in NoCapacityInvocationFailures; the
            # alarm on it runs a step that adds one copy.
            self.scale_out_from_zero = appscaling.CfnScalingPolicy(
                self,
                "ScaleOutFromZero",
                policy_name=f"{component_name}-scale-out-from-zero"[:256],
                policy_type="StepScaling",
                scaling_target_id=self.target.ref,
                step_scaling_policy_configuration=appscaling.CfnScalingPolicy.StepScalingPolicyConfigurationProperty(
                    adjustment_type="ChangeInCapacity",
                    metric_aggregation_type="Maximum",
                    cooldown=60,
                    step_adjustments=[
                        appscaling.CfnScalingPolicy.StepAdjustmentProperty(metric_interval_lower_bound=0, scaling_adjustment=1)
                    ],
                ),
            )
            self.no_capacity_alarm = cloudwatch.CfnAlarm(
                self,
                "NoCapacityAlarm",
                alarm_description=f"A request found no copy of {component_name} (scaled to zero): add one",
                namespace="AWS/SageMaker",
                metric_name=NO_CAPACITY_METRIC,
                dimensions=[cloudwatch.CfnAlarm.DimensionProperty(name="InferenceComponentName", value=component_name)],
                statistic="Maximum",
                period=60,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[self.scale_out_from_zero.attr_arn],
            )
