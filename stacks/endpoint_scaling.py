"""Target-tracking autoscaling: of an endpoint variant's instance count, and (`target_tracking`) of a component's copies."""

from __future__ import annotations

from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct

from blueprint.config.settings import AutoscalingSettings

# Predefined metrics of Application Auto Scaling for SageMaker variants.
PREDEFINED_METRICS = {
    "concurrent-requests": "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    "invocations": "SageMakerVariantInvocationsPerInstance",
}


class EndpointScaling(Construct):
    """A scalable target on `sagemaker:variant:DesiredInstanceCount` and one target-tracking policy.

    No role is given: Application Auto Scaling uses its service-linked role for SageMaker (the L2
    ScalableTarget would create an unused role instead).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        settings: AutoscalingSettings,
    ) -> None:
        super().__init__(scope, id)
        self.target, self.policy = target_tracking(
            self,
            dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            capacity=(settings.min_capacity, settings.max_capacity),
            policy_name=f"{variant_name}-{settings.metric}",
            metric=PREDEFINED_METRICS[settings.metric],
            target_value=settings.target_value,
            cooldowns=(settings.scale_out_cooldown_in_seconds, settings.scale_in_cooldown_in_seconds),
            disable_scale_in=settings.disable_scale_in,
        )


def target_tracking(
    scope: Construct,
    *,
    dimension: str,
    resource_id: str,
    capacity: tuple[int, int],
    policy_name: str,
    metric: str,
    target_value: float,
    cooldowns: tuple[int, int],
    disable_scale_in: bool | None = None,
) -> tuple[appscaling.CfnScalableTarget, appscaling.CfnScalingPolicy]:
    """A SageMaker scalable target (`Target`) between `capacity` (min, max) and its target-tracking
    policy (`TargetTracking`) on a predefined `metric`, with `cooldowns` (scale-out, scale-in) in
    seconds: for endpoint variants and inference components alike."""
    target = appscaling.CfnScalableTarget(
        scope,
        "Target",
        service_namespace="sagemaker",
        scalable_dimension=dimension,
        resource_id=resource_id,
        min_capacity=capacity[0],
        max_capacity=capacity[1],
    )
    policy = appscaling.CfnScalingPolicy(
        scope,
        "TargetTracking",
        policy_name=policy_name,
        policy_type="TargetTrackingScaling",
        scaling_target_id=target.ref,
        target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
            target_value=target_value,
            predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                predefined_metric_type=metric
            ),
            scale_out_cooldown=cooldowns[0],
            scale_in_cooldown=cooldowns[1],
            disable_scale_in=disable_scale_in,
        ),
    )
    return target, policy
