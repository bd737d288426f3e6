"""An endpoint's place in the team's VPC: its security group, an S3 gateway endpoint if asked, the
`VpcConfig` its models (and a shared endpoint's config) carry, and the network-interface
permissions SageMaker needs from the execution role (docs/networking.md, docs/aws-contract.md)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from blueprint.config.settings import NetworkSettings
from blueprint.networking import needs_s3
from stacks.execution_role import SageMakerExecutionRole
from stacks.nag import acknowledge, nag_form

HTTPS = 443


class EndpointNetwork(Construct):
    """The subnets and security groups of `settings` (a group of its own when none is given)."""

    def __init__(self, scope: Construct, id: str, *, settings: NetworkSettings) -> None:
        super().__init__(scope, id)
        self.settings = settings
        self.security_group_ids: list[str] = list(settings.security_group_ids)
        if not self.security_group_ids:
            # No inbound rule: nothing calls into the instances (the runtime API is SageMaker's);
            # egress only over HTTPS, to S3 through its prefix list unless the subnets have a NAT route.
            if needs_s3(settings):
                egress = ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    destination_prefix_list_id=settings.s3_prefix_list_id,
                    description="HTTPS to S3 (model data and staged weights) through the S3 gateway endpoint",
                )
            else:
                egress = ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    cidr_ip="0.0.0.0/0",
                    description="HTTPS through the subnets' NAT route: the Hugging Face hub and S3",
                )
            self.security_group = ec2.CfnSecurityGroup(
                self,
                "SecurityGroup",
                group_description="LLM endpoint instances: no inbound traffic, HTTPS out only",
                vpc_id=settings.vpc_id,
                security_group_egress=[egress],
            )
            self.security_group_ids = [self.security_group.attr_group_id]
        if settings.s3_endpoint_route_table_ids:
            self.s3_endpoint = ec2.CfnVPCEndpoint(
                self,
                "S3GatewayEndpoint",
                vpc_id=settings.vpc_id,
                service_name=f"com.amazonaws.{cdk.Stack.of(self).region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=list(settings.s3_endpoint_route_table_ids),
            )

    def grant_network_interfaces(self, role: SageMakerExecutionRole) -> None:
        """What SageMaker needs from the role to put network interfaces in the subnets, scoped to
        them, the security groups and the VPC as far as EC2's actions allow (Describe*: none)."""
        stack = cdk.Stack.of(self)

        def arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        interfaces = arn("network-interface", "*")
        in_vpc = {"ArnEquals": {"ec2:Vpc": arn("vpc", self.settings.vpc_id or "")}}
        role.policy.add_statements(
            iam.PolicyStatement(
                sid="CreateNetworkInterfacesInTheSubnets",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    interfaces,
                    *(arn("subnet", subnet) for subnet in self.settings.subnet_ids),
                    *(arn("security-group", group) for group in self.security_group_ids),
                ],
            ),
            iam.PolicyStatement(
                sid="ManageNetworkInterfacesInTheVpc",
                actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
                resources=[interfaces],
                conditions=in_vpc,
            ),
            # These Describe actions have no resource-level permissions.
            iam.PolicyStatement(
                sid="DescribeTheNetwork",
                actions=[
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],
            ),
        )
        acknowledge(
            role.policy,
            f"AwsSolutions-IAM5[Resource::{nag_form(interfaces)}]",
            "SageMaker creates the network interfaces when it starts instances, so their ids are unknown here; creation is limited "
            "to the configured subnets and security groups, and the other actions to interfaces in the configured VPC (ec2:Vpc).",
        )


def vpc_config(network: EndpointNetwork | None) -> dict[str, list[str]] | None:
    """`VpcConfig` of a model or endpoint config, or None outside a VPC."""
    if network is None:
        return None
    return {"subnets": list(network.settings.subnet_ids), "security_group_ids": network.security_group_ids}
