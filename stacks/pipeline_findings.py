"""Reviewed cdk-nag findings on the grants CDK Pipelines generates, each with its reason.

CDK Pipelines writes its own IAM grants (artifact bucket and key, CodeBuild logs and reports, the
CDK bootstrap roles) and cdk-nag reports every wildcard in them. A finding is acknowledged, by its
exact id on its policy, only when every statement of that policy that produces it is one of the
reviewed kinds below, checked on the statement itself: its actions, its resources (the pipeline's
own artifact buckets, keys and CodeBuild projects) and, for the bootstrap roles, its tag condition.
The same wildcard anywhere else, or added by hand to these policies, still fails the synth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines

from stacks.checkov_skips import skip_checkov
from stacks.nag import acknowledge, flatten_reference, policy_statements, statement_findings

_ARTIFACTS = "the pipeline's artifact bucket (and its replica in each other stage region): source and cloud assembly of each run"
S3_ARTIFACT_FAMILIES = re.compile(r"^s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*$")
KMS_FAMILIES = re.compile(r"^kms:(GenerateDataKey|ReEncrypt)\*$")
CODEBUILD_LOGS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
CODEBUILD_REPORTS = {
    "codebuild:BatchPutCodeCoverages",
    "codebuild:BatchPutTestCases",
    "codebuild:CreateReport",
    "codebuild:CreateReportGroup",
    "codebuild:UpdateReport",
}
BOOTSTRAP_ROLE_KINDS = {"deploy", "file-publishing", "image-publishing"}
# Statements CDK Pipelines grants on Resource "*", recognised by their exact actions.
UNSCOPED: dict[frozenset[str], str] = {
    frozenset({"cloudformation:DescribeStacks", "s3:ListBucket"}): (
        "Self-mutation runs `cdk deploy` of the pipeline stack, which reads stack state and lists the bootstrap bucket before it knows their names."
    ),
    frozenset({"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"}): (
        "CDK Pipelines' asset-publishing role (trusted by CodeBuild only) starts and watches the asset builds of this pipeline; CDK grants it without a resource."
    ),
}
REPLICA_KEYS = "The pipeline role encrypts artifacts for the replica bucket in another region, whose key lives in the cross-region support stack and is not known here."


@dataclass(frozen=True)
class PipelineResources:
    """What the generated grants may name: the pipeline's own buckets, keys and build projects."""

    artifact_resources: frozenset[str]  # bucket ARNs and their objects, flattened
    artifact_keys: frozenset[str]
    log_groups: frozenset[str]  # /aws/codebuild/<project> and its streams, flattened
    report_groups: frozenset[str]
    has_replicas: bool


def acknowledge_pipeline_findings(stack: cdk.Stack, pipeline: pipelines.CodePipeline, *, extra_policies: list[iam.Policy]) -> None:
    """Acknowledge the reviewed findings on `pipeline`'s generated policies (and `extra_policies`,
    policies of roles CDK Pipelines grants to, such as a step's own role) and its buckets."""
    known = _pipeline_resources(stack, pipeline)
    policies = [c for c in pipeline.node.find_all() if isinstance(c, iam.CfnPolicy)]
    policies += [p.node.default_child for p in extra_policies]
    for policy in policies:
        reviewed: dict[str, str] = {}
        unreviewed: set[str] = set()
        # The asset role's builds share it (bare CodeBuild grants); the pipeline role also writes to
        # the replicas in other regions (keys it cannot name).
        path = policy.node.path
        asset_role = "/Pipeline/Assets/" in path
        pipeline_role = path.endswith("/Pipeline/Pipeline/Role/DefaultPolicy/Resource")
        for statement in policy_statements(policy):
            for finding in statement_findings(statement):
                reason = _reason(finding, statement, known, asset_role=asset_role, pipeline_role=pipeline_role)
                if reason is None:
                    unreviewed.add(finding)
                else:
                    reviewed.setdefault(finding, reason)
        for finding, reason in reviewed.items():
            if finding not in unreviewed:
                acknowledge(policy, finding, reason)
                if finding == "AwsSolutions-IAM5[Resource::*]":
                    # checkov's "write access without constraints" is the same reviewed statement.
                    skip_checkov(policy, "CKV_AWS_111", reason)
    code_pipeline = pipeline.pipeline
    buckets = {
        code_pipeline.artifact_bucket: "Holds only this pipeline's run artifacts, encrypted with its KMS key; CloudTrail records the pipeline's access. "
        "Server access logs would need a log bucket per pipeline region for no extra review value.",
    }
    for support in code_pipeline.cross_region_support.values():
        buckets[support.replication_bucket] = (
            "CDK Pipelines' replica of the artifact bucket in a stage's region: the same artifacts, encrypted with the support stack's key."
        )
    for bucket, reason in buckets.items():
        acknowledge(bucket, "AwsSolutions-S1", reason)
        skip_checkov(bucket, "CKV_AWS_18", reason)
        skip_checkov(
            bucket,
            "CKV_AWS_21",
            "Each run writes its artifacts under new keys and never overwrites one; the source of every run stays in git, so versions would hold nothing to recover.",
        )


def _pipeline_resources(stack: cdk.Stack, pipeline: pipelines.CodePipeline) -> PipelineResources:
    code_pipeline = pipeline.pipeline
    buckets = [code_pipeline.artifact_bucket] + [s.replication_bucket for s in code_pipeline.cross_region_support.values()]

    def flat(value: str) -> str:
        return flatten_reference(stack.resolve(value))

    projects = [stack.resolve(stack.get_logical_id(c)) for c in stack.node.find_all() if isinstance(c, codebuild.CfnProject)]
    log_prefix = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/codebuild/"
    reports = f"arn:{stack.partition}:codebuild:{stack.region}:{stack.account}:report-group/"
    return PipelineResources(
        artifact_resources=frozenset(flat(b.bucket_arn) for b in buckets) | frozenset(flat(b.arn_for_objects("*")) for b in buckets),
        artifact_keys=frozenset(flat(b.encryption_key.key_arn) for b in buckets if b.encryption_key is not None),
        log_groups=frozenset(f"{log_prefix}<{p}>{suffix}" for p in projects for suffix in ("", ":*")),
        report_groups=frozenset(f"{reports}<{p}>-*" for p in projects),
        has_replicas=bool(code_pipeline.cross_region_support),
    )


def _reason(finding: str, statement: dict, known: PipelineResources, *, asset_role: bool, pipeline_role: bool) -> str | None:
    """Why `finding` of this statement is acceptable, or None when it is not a reviewed kind."""
    actions, resources = set(statement["Action"]), set(statement["Resource"])
    kms_resources = known.artifact_keys | ({"*"} if known.has_replicas and pipeline_role else set())
    if finding.startswith("AwsSolutions-IAM5[Action::"):
        action = finding.removeprefix("AwsSolutions-IAM5[Action::").removesuffix("]")
        if S3_ARTIFACT_FAMILIES.match(action) and resources <= known.artifact_resources:
            return f"S3 action families that CDK Pipelines grants on {_ARTIFACTS}; the statement names those buckets only."
        if KMS_FAMILIES.match(action) and resources <= kms_resources:
            return "KMS action families on the pipeline's artifact keys only (and, in other regions, the replica buckets' keys)."
        return None
    resource = finding.removeprefix("AwsSolutions-IAM5[Resource::").removesuffix("]")
    if resource in known.artifact_resources and all(a.startswith("s3:") for a in actions):
        return f"Objects of {_ARTIFACTS}; keys are generated per run."
    if actions <= CODEBUILD_LOGS and (
        resource in known.log_groups or (asset_role and _bare(resource, "logs", "log-group:/aws/codebuild/*"))
    ):
        return "CodeBuild log groups and streams of the pipeline's own build projects (the asset builds share one role)."
    if actions <= CODEBUILD_REPORTS and (
        resource in known.report_groups or (asset_role and _bare(resource, "codebuild", "report-group/*"))
    ):
        return "CodeBuild test report groups of the pipeline's own build projects."
    if re.fullmatch(r"arn:\*:iam::\d{12}:role/\*", resource) and actions == {"sts:AssumeRole"} and _bootstrap_roles_only(statement):
        return "Self-mutation and asset publishing assume the CDK bootstrap roles; the statement is limited by condition to roles tagged aws-cdk:bootstrap-role (deploy, file-publishing, image-publishing)."
    if resource == "*":
        if frozenset(actions) in UNSCOPED:
            return UNSCOPED[frozenset(actions)]
        if pipeline_role and known.has_replicas and all(a.startswith("kms:") for a in actions) and resources <= kms_resources:
            return REPLICA_KEYS
    return None


def _bare(resource: str, service: str, suffix: str) -> bool:
    """`arn:<partition>:<service>:<region>:<account>:<suffix>` exactly (the asset role's shared grants)."""
    return re.fullmatch(rf"arn:[a-z-]+:{service}:[a-z0-9-]+:\d{{12}}:{re.escape(suffix)}", resource) is not None


def _bootstrap_roles_only(statement: dict) -> bool:
    condition = statement.get("Condition", {}).get("ForAnyValue:StringEquals", {})
    kinds = condition.get("iam:ResourceTag/aws-cdk:bootstrap-role")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
    return bool(kinds) and kinds <= BOOTSTRAP_ROLE_KINDS and len(statement.get("Condition", {})) == 1
