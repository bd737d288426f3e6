"""Stateless stack of one deployment hosted as an inference component of a shared endpoint."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from blueprint.config.facts import known_instance
from blueprint.config.settings import AppConfig
from blueprint.hosting import copy_requirements
from stacks.endpoint_network import EndpointNetwork
from stacks.inference_component import ComponentScaling, LlmInferenceComponent
from stacks.invoke_access import InvokeAccess
from stacks.llm_endpoint_stack import add_serving_outputs, default_endpoint_name, deployment_container
from stacks.smoke_test_access import SmokeTestAccess, SmokeTestRole

HOSTING_OUTPUT = "inference-component"


class LlmComponentStack(cdk.Stack):
    """Deployment `variant` as a component of the shared endpoint `endpoint_name` (its own stack deploys first)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        variant: str,
        endpoint_name: str,
        network: EndpointNetwork | None = None,
        smoke_test: SmokeTestAccess | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        settings = config.variants[variant]
        host = config.shared_endpoints[settings.component.endpoint]
        self.engine = settings.engine
        instance = known_instance(host.instance_type)
        container, model_bucket, prefix = deployment_container(self, config, settings, instance)
        # Named here (CloudFormation returns no name for a component): scaling, alarms and clients name it.
        self.component_name = default_endpoint_name(self.stack_name)
        self.component = LlmInferenceComponent(
            self,
            "InferenceComponent",
            container=container,
            endpoint_name=endpoint_name,
            variant_name=host.variant_name,
            component_name=self.component_name,
            settings=settings.component,
            requirements=copy_requirements(variant, settings, instance),
            model_data_download_timeout_in_seconds=settings.model_data_download_timeout_in_seconds,
            container_startup_health_check_timeout_in_seconds=settings.container_startup_health_check_timeout_in_seconds,
            model_bucket=model_bucket,
            weights_prefix=prefix,
            network=network,
        )
        if settings.component.autoscaling:
            self.scaling = ComponentScaling(self, "Scaling", component_name=self.component_name, settings=settings.component)
            self.scaling.node.add_dependency(self.component.component)  # the component must exist first
        endpoint_arn = self.format_arn(service="sagemaker", resource="endpoint", resource_name=endpoint_name.lower())
        if settings.invoke_principals:
            self.invoke_access = InvokeAccess(
                self,
                "InvokeAccess",
                principals=settings.invoke_principals,
                resource_arns=[endpoint_arn, self.component.component.ref],
                what=f"the inference component {self.component_name} of {endpoint_name}",
            )
        if smoke_test is not None:
            self.smoke_test_role = SmokeTestRole(
                self,
                "SmokeTest",
                access=smoke_test,
                variant=variant,
                endpoint_arn=endpoint_arn,
                component_arn=self.component.component.ref,  # Ref of AWS::SageMaker::InferenceComponent is its ARN
            )
        # What the smoke test reads to find and call the component.
        self.endpoint_name_output = cdk.CfnOutput(self, "EndpointName", value=endpoint_name)
        self.component_name_output = cdk.CfnOutput(self, "InferenceComponentName", value=self.component_name)
        cdk.CfnOutput(self, "Hosting", value=HOSTING_OUTPUT)
        add_serving_outputs(self, variant, settings.engine)
        self.verification_outputs: dict[str, cdk.CfnOutput] = {}  # the shared endpoint's config is verified with its stack
