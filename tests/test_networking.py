"""Private networking: the endpoint's instances in the team's VPC (security group, S3 gateway
endpoint, VpcConfig, the role's network-interface permissions) and invoke access by config."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from tests.conftest import build_app

VPC, SUBNETS, ROUTES = "vpc-0a1b2c3d4e5f60718", ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"], "rtb-0a1b2c3d4e5f60718"
PREFIX_LIST = "pl-63a5400a"
CALLER = "arn:aws:iam::444455556666:role/app-backend"
# The staged profile (weights mounted, network isolation on) in a VPC with no internet route: what
# docs/networking.md shows. TGI's stack creates the S3 gateway endpoint, LMI's relies on it.
PRIVATE = {
    "profile": "llama2-13b-staged",
    "account": "111122223333",
    "region": "us-east-1",
    **{
        f"variants.{name}.network.{key}": value
        for name in ("tgi", "lmi")
        for key, value in (("vpc_id", VPC), ("subnet_ids", ",".join(SUBNETS)), ("s3_prefix_list_id", PREFIX_LIST))
    },
    "variants.tgi.network.s3_endpoint_route_table_ids": ROUTES,
    "variants.lmi.network.s3_endpoint": "true",
    "variants.tgi.invoke_principals": f"{CALLER},777788889999",
}


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("private"), **PRIVATE)


def only(template: Template, kind: str) -> tuple[str, dict]:
    (found,) = template.find_resources(kind).items()
    return found


@pytest.mark.parametrize("deployment", ["tgi", "lmi"])
def test_the_model_runs_in_the_subnets_with_its_own_security_group_and_no_network_of_its_own(private, deployment):
    template = private.template(deployment)
    group_id, group = only(template, "AWS::EC2::SecurityGroup")
    _, model = only(template, "AWS::SageMaker::Model")
    assert model["Properties"]["VpcConfig"] == {"Subnets": SUBNETS, "SecurityGroupIds": [{"Fn::GetAtt": [group_id, "GroupId"]}]}
    assert model["Properties"]["EnableNetworkIsolation"] is True  # staged weights: the container needs no network
    assert "SecurityGroupIngress" not in group["Properties"]  # nothing calls into the instances
    assert group["Properties"]["VpcId"] == VPC
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "DestinationPrefixListId": PREFIX_LIST,
            "Description": "HTTPS to S3 (model data and staged weights) through the S3 gateway endpoint",
        }
    ]


def test_one_stack_creates_the_s3_gateway_endpoint_on_the_route_tables(private):
    _, endpoint = only(private.template("tgi"), "AWS::EC2::VPCEndpoint")
    assert endpoint["Properties"] == {
        "VpcId": VPC,
        "ServiceName": "com.amazonaws.us-east-1.s3",
        "VpcEndpointType": "Gateway",
        "RouteTableIds": [ROUTES],
    }
    assert private.template("lmi").find_resources("AWS::EC2::VPCEndpoint") == {}


def test_the_role_may_create_network_interfaces_only_in_the_subnets_and_the_vpc(private):
    template = private.template("tgi")
    group_id, _ = only(template, "AWS::EC2::SecurityGroup")
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    statements = {
        s.get("Sid"): s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid", "").endswith(("Subnets", "Vpc", "Network"))
    }
    create = statements["CreateNetworkInterfacesInTheSubnets"]
    assert create["Action"] == "ec2:CreateNetworkInterface"
    rendered = json.dumps(create["Resource"])
    assert "network-interface/*" in rendered and all(f"subnet/{s}" in rendered for s in SUBNETS)
    assert group_id in rendered  # the security group it creates, by reference
    manage = statements["ManageNetworkInterfacesInTheVpc"]
    assert manage["Condition"] == {"ArnEquals": {"ec2:Vpc": f"arn:aws:ec2:us-east-1:111122223333:vpc/{VPC}"}}
    assert sorted(manage["Action"]) == [
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ]
    describe = statements["DescribeTheNetwork"]
    assert describe["Resource"] == "*" and all(a.startswith("ec2:Describe") for a in describe["Action"])


def test_invoke_principals_get_a_role_that_may_only_invoke_this_endpoint(private):
    template = private.template("tgi")
    roles = template.find_resources("AWS::IAM::Role")
    (invoker_id,) = [k for k, r in roles.items() if "May only invoke" in r["Properties"].get("Description", "")]
    trust = roles[invoker_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principals = json.dumps([s["Principal"] for s in trust])
    assert CALLER in principals and ":iam::777788889999:root" in principals
    policies = [p for p in template.find_resources("AWS::IAM::ManagedPolicy").values() if p["Properties"]["Roles"] == [{"Ref": invoker_id}]]
    ((statement,),) = [p["Properties"]["PolicyDocument"]["Statement"] for p in policies]
    (endpoint_id, _) = only(template, "AWS::SageMaker::Endpoint")
    assert statement["Action"] == ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
    assert statement["Resource"] == {"Ref": endpoint_id}
    assert template.to_json()["Outputs"]["InvokeRoleArn"]["Value"] == {"Fn::GetAtt": [invoker_id, "Arn"]}
    assert "InvokeRoleArn" not in private.template("lmi").to_json()["Outputs"]  # no principals, no role


def test_a_shared_endpoint_in_a_vpc_gives_its_config_and_its_components_models_the_same_placement(tmp_path):
    network = {
        f"shared_endpoints.pool.network.{k}": v for k, v in (("vpc_id", VPC), ("subnet_ids", ",".join(SUBNETS)), ("internet_route", "true"))
    }
    built = build_app(tmp_path, checks=False, profile="qwen3-packed", **network, **{"variants.qwen-8b.invoke_principals": "777788889999"})
    shared = built.template("@pool")
    group_id, group = only(shared, "AWS::EC2::SecurityGroup")
    # Hub mode through the subnets' NAT route: HTTPS anywhere.
    assert [(r["CidrIp"], r["FromPort"]) for r in group["Properties"]["SecurityGroupEgress"]] == [("0.0.0.0/0", 443)]
    _, config = only(shared, "AWS::SageMaker::EndpointConfig")
    assert config["Properties"]["VpcConfig"]["Subnets"] == SUBNETS
    component = built.template("qwen-8b")
    _, model = only(component, "AWS::SageMaker::Model")
    assert model["Properties"]["VpcConfig"]["Subnets"] == SUBNETS
    assert "LlmSharedEndpointPool" in json.dumps(model["Properties"]["VpcConfig"]["SecurityGroupIds"])  # the shared stack's group
    (ic_id, _) = only(component, "AWS::SageMaker::InferenceComponent")
    invoke = [
        s
        for p in component.find_resources("AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "InvokeTheEndpoint"
    ]
    assert len(invoke) == 1 and {"Ref": ic_id} in invoke[0]["Resource"]  # the endpoint and this component only


def test_grant_invoke_gives_a_principal_of_your_own_app_the_invoke_actions_on_this_endpoint_only(tmp_path):
    from aws_cdk import aws_iam as iam

    built = build_app(tmp_path, checks=False, **{"variants.lmi.enabled": "false"})
    stack = built.composed.endpoint_stacks["tgi"]
    caller = iam.Role(stack, "AppRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    stack.endpoint.grant_invoke(caller)
    template = Template.from_stack(stack)
    (endpoint_id, _) = only(template, "AWS::SageMaker::Endpoint")
    (caller_id,) = [k for k in template.find_resources("AWS::IAM::Role") if k.startswith("AppRole")]
    (policy,) = [p for p in template.find_resources("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": caller_id}]]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            "Effect": "Allow",
            "Resource": {"Ref": endpoint_id},
        }
    ]
