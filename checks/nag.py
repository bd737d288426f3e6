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


def wildcard_findings(policy: Construct) -> list[str]:
    """The AwsSolutions-IAM5 finding ids cdk-nag reports for a CfnPolicy, computed the same way.

    For policies a library generates (CDK Pipelines), so each of its findings can be acknowledged
    by its exact id with a reason; a wildcard nobody reviewed keeps failing the synth.
    """
    document = cdk.Stack.of(policy).resolve(policy.policy_document)
    findings: dict[str, None] = {}
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        for action in _as_list(statement.get("Action")):
            if "*" in action:
                findings[f"AwsSolutions-IAM5[Action::{action}]"] = None
        for resource in map(flatten_reference, _as_list(statement.get("Resource"))):
            if "*" in resource:
                findings[f"AwsSolutions-IAM5[Resource::{resource}]"] = None
    return list(findings)


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
