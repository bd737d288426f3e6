"""Reviewed cdk-nag findings on the resources CDK Pipelines generates, each with its reason.

CDK Pipelines writes its own IAM grants (artifact bucket, artifact key, CodeBuild logs and
reports, the CDK bootstrap roles). cdk-nag reports every wildcard in them. Each finding id is
computed from the generated policy (`checks.nag.wildcard_findings`) and acknowledged only if it
matches a reviewed kind below; any other wildcard, such as one added to this stack by hand, still
fails the synth.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines

from checks.nag import acknowledge, flatten_reference, wildcard_findings

_ARTIFACTS = "the pipeline's artifact bucket (and its cross-region replica): source and cloud assembly of each run"
# (finding id pattern, reason). Patterns name the generated resource, so a wildcard elsewhere does not match.
REVIEWED_WILDCARDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (
            r"^AwsSolutions-IAM5\[Action::s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*\]$",
            f"S3 action families that CDK Pipelines grants on {_ARTIFACTS}; every statement with them names that bucket only.",
        ),
        (
            r"^AwsSolutions-IAM5\[Action::kms:(GenerateDataKey|ReEncrypt)\*\]$",
            "KMS action families on the pipeline's artifact key (and the replica bucket's key in other regions) for the encrypted artifacts.",
        ),
        (
            r"^AwsSolutions-IAM5\[Resource::arn:[a-z-]+:logs:[a-z0-9-]+:\d{12}:log-group:/aws/codebuild/(<Pipeline[A-Za-z0-9]+>:)?\*\]$",
            "CodeBuild log groups and streams of the pipeline's own build projects (named after the projects).",
        ),
        (
            r"^AwsSolutions-IAM5\[Resource::arn:[a-z-]+:codebuild:[a-z0-9-]+:\d{12}:report-group/(<Pipeline[A-Za-z0-9]+>-)?\*\]$",
            "CodeBuild test report groups of the pipeline's own build projects.",
        ),
        (
            r"^AwsSolutions-IAM5\[Resource::arn:\*:iam::\d{12}:role/\*\]$",
            "Self-mutation and asset publishing assume the CDK bootstrap roles; the statement is limited by condition to roles tagged aws-cdk:bootstrap-role (deploy, file-publishing, image-publishing).",
        ),
    )
)
# Resource::* is acceptable only for these generated statements, recognised by their actions.
REVIEWED_UNSCOPED_ACTIONS: dict[frozenset[str], str] = {
    frozenset({"cloudformation:DescribeStacks", "s3:ListBucket"}): (
        "Self-mutation runs `cdk deploy` of the pipeline stack, which reads stack state and lists the bootstrap bucket before it knows their names."
    ),
    frozenset({"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}): (
        "The pipeline role encrypts artifacts for the replica bucket in another region, whose key lives in the cross-region support stack and is not known here."
    ),
    frozenset({"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"}): (
        "CDK Pipelines' asset-publishing role (trusted by CodeBuild only) starts and watches the asset builds of this pipeline; CDK grants it without a resource."
    ),
}


def acknowledge_pipeline_findings(stack: cdk.Stack, pipeline: pipelines.CodePipeline) -> None:
    """Acknowledge the reviewed findings on `pipeline`'s generated policies and buckets."""
    code_pipeline = pipeline.pipeline
    buckets = [code_pipeline.artifact_bucket] + [s.replication_bucket for s in code_pipeline.cross_region_support.values()]
    artifact_objects = {f"AwsSolutions-IAM5[Resource::{flatten_reference(stack.resolve(b.arn_for_objects('*')))}]" for b in buckets}
    for construct in stack.node.find_all():
        if isinstance(construct, iam.CfnPolicy):
            for finding in wildcard_findings(construct):
                if finding in artifact_objects:
                    reason = f"Objects of {_ARTIFACTS}; keys are generated per run."
                else:
                    reason = _reason(finding, construct)
                if reason is not None:
                    acknowledge(construct, finding, reason)
    acknowledge(
        code_pipeline.artifact_bucket,
        "AwsSolutions-S1",
        "Holds only this pipeline's run artifacts, encrypted with its KMS key; CloudTrail records the pipeline's access. "
        "Server access logs would need a log bucket per pipeline region for no extra review value.",
    )
    for support in code_pipeline.cross_region_support.values():
        acknowledge(
            support.replication_bucket,
            "AwsSolutions-S1",
            "CDK Pipelines' replica of the artifact bucket in a stage's region: the same artifacts, encrypted with the support stack's key.",
        )


def _reason(finding: str, policy: iam.CfnPolicy) -> str | None:
    for pattern, reason in REVIEWED_WILDCARDS:
        if pattern.match(finding):
            return reason
    if finding == "AwsSolutions-IAM5[Resource::*]":
        statements = cdk.Stack.of(policy).resolve(policy.policy_document)["Statement"]
        unscoped = [frozenset(_as_list(s["Action"])) for s in statements if "*" in _as_list(s.get("Resource"))]
        reasons = [REVIEWED_UNSCOPED_ACTIONS.get(actions) for actions in unscoped]
        if reasons and None not in reasons:
            return " ".join(dict.fromkeys(reasons))
    return None


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]
