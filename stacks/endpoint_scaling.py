"""Target-tracking autoscaling of an endpoint variant's instance count."""

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
        self.target = appscaling.CfnScalableTarget(
            self,
            "Target",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            min_capacity=settings.min_capacity,
            max_capacity=settings.max_capacity,
        )
        self.policy = appscaling.CfnScalingPolicy(
            self,
            "TargetTracking",
            policy_name=f"{variant_name}-{settings.metric}",
            policy_type="TargetTrackingScaling",
            scaling_target_id=self.target.ref,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=settings.target_value,
                predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type=PREDEFINED_METRICS[settings.metric]
                ),
                scale_out_cooldown=settings.scale_out_cooldown_in_seconds,
                scale_in_cooldown=settings.scale_in_cooldown_in_seconds,
                disable_scale_in=settings.disable_scale_in,
            ),
        )
