"""cdk-nag for the app, and the helpers that record reviewed findings next to their resources."""

from __future__ import annotations

import json

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import Construct


def add_checks(scope: cdk.App | cdk.Stage, *, hipaa: bool = False) -> None:
    """cdk-nag packs; a finding fails the synth.

    Every synth runs AwsSolutions. The test suite adds the HIPAA pack for every profile: its one
    rule here that AwsSolutions lacks (a customer-managed KMS key on the endpoint's storage volume)
    is also a synth warning of the endpoint stack, so `cdk synth` need not pay the pack's ~0.4 s.
    """
    packs = [AwsSolutionsChecks(scope)] + ([HIPAASecurityChecks(scope)] if hipaa else [])
    cdk.Validations.of(scope).add_plugins(*packs)


def acknowledge(construct: Construct, finding: str, reason: str) -> None:
    """Record a reviewed cdk-nag finding on the narrowest construct it concerns."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))


def nag_form(value: str) -> str:
    """`value` as cdk-nag prints it in finding ids (pseudo parameters as <AWS::Name>)."""
    for token, name in ((cdk.Aws.PARTITION, "Partition"), (cdk.Aws.ACCOUNT_ID, "AccountId"), (cdk.Aws.REGION, "Region")):
        value = value.replace(token, f"<AWS::{name}>")
    return value


def policy_statements(policy: Construct) -> list[dict]:
    """The Allow statements of a CfnPolicy, resolved, with resources flattened as cdk-nag prints them."""
    document = cdk.Stack.of(policy).resolve(policy.policy_document)
    return [
        {
            **statement,
            "Action": _as_list(statement.get("Action")),
            "Resource": [flatten_reference(r) for r in _as_list(statement.get("Resource"))],
        }
        for statement in document.get("Statement", [])
        if statement.get("Effect") == "Allow"
    ]


def statement_findings(statement: dict) -> list[str]:
    """The AwsSolutions-IAM5 finding ids cdk-nag reports for one statement of `policy_statements`.

    For policies a library generates (CDK Pipelines), so each finding can be acknowledged by its
    exact id once the statement behind it is reviewed; a wildcard nobody reviewed fails the synth.
    """
    actions = [f"AwsSolutions-IAM5[Action::{action}]" for action in statement["Action"] if "*" in action]
    resources = [f"AwsSolutions-IAM5[Resource::{resource}]" for resource in statement["Resource"] if "*" in resource]
    return actions + resources


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def flatten_reference(node: object) -> str:
    """cdk-nag's flattenCfnReference: intrinsics as <LogicalId.Attr>, <LogicalId>, joined text."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(flatten_reference(item) for item in items)
        if "Fn::Sub" in node:
            return flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
