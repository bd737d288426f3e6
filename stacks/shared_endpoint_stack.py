"""Stateless stack of one shared endpoint: the instances its deployments' inference components run on."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from blueprint.config.facts import known_instance
from blueprint.config.settings import AppConfig
from blueprint.networking import in_vpc
from stacks.endpoint_network import EndpointNetwork
from stacks.inference_component import SharedEndpoint
from stacks.llm_endpoint_stack import acknowledge_instance_storage, default_endpoint_name


class SharedEndpointStack(cdk.Stack):
    """Endpoint `name` of `config.shared_endpoints`; its components' stacks depend on it."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, name: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        settings = config.shared_endpoints[name]
        # A name known at synth: each component's stack names the endpoint without a reference.
        self.endpoint_name = settings.endpoint_name or default_endpoint_name(self.stack_name)
        self.network = EndpointNetwork(self, "Network", settings=settings.network) if in_vpc(settings.network) else None
        self.shared = SharedEndpoint(self, "SharedEndpoint", settings=settings, endpoint_name=self.endpoint_name, network=self.network)
        acknowledge_instance_storage(self.shared.endpoint_config, known_instance(settings.instance_type))
        self.variant_name = settings.variant_name
        cdk.CfnOutput(self, "EndpointName", value=self.shared.endpoint.attr_endpoint_name)
        cdk.CfnOutput(self, "InstanceType", value=settings.instance_type)
        cdk.CfnOutput(self, "MinInstanceCount", value=str(settings.min_instance_count))
        cdk.CfnOutput(self, "MaxInstanceCount", value=str(settings.max_instance_count))
        cdk.CfnOutput(self, "Region", value=self.region)
