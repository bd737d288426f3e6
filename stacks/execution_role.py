"""A least-privilege SageMaker execution role: trust scoped to this account, one managed policy."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.container_image import ResolvedImage
from stacks.nag import acknowledge, nag_form

ENDPOINT_LOG_GROUPS = "/aws/sagemaker/Endpoints"


class SageMakerExecutionRole(Construct):
    """Role that SageMaker assumes to pull the image, read model data and write logs and metrics.

    Permissions live in a customer-managed policy (`self.policy`); grants to more S3 objects are
    added with `grant_read_objects`. No AWS-managed policy is attached.
    """

    def __init__(
        self, scope: Construct, id: str, *, image: ResolvedImage | None, description: str = "SageMaker execution role of an LLM endpoint"
    ) -> None:
        """`image`: the image the role pulls; None for a shared endpoint's role (its components' models pull with their own)."""
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        account, partition, region = stack.account, stack.partition, stack.region
        # Confused-deputy guard: only SageMaker acting for this account may assume the role.
        principal = iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:sagemaker:{region}:{account}:*"},
            }
        )
        self.role = iam.Role(self, "Role", assumed_by=principal, description=description)
        self.policy = iam.ManagedPolicy(
            self, "Policy", roles=[self.role], description="Least-privilege access of an LLM endpoint's container"
        )

        log_groups = f"arn:{partition}:logs:{region}:{account}:log-group:{ENDPOINT_LOG_GROUPS}/*"
        log_streams = f"{log_groups}:log-stream:*"
        if image is not None:
            self.policy.add_statements(
                iam.PolicyStatement(
                    sid="PullServingImage",
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[image.repository_arn],
                ),
                # ecr:GetAuthorizationToken has no resource-level permissions.
                iam.PolicyStatement(sid="GetRegistryToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            )
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="WriteEndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[log_groups, log_streams],
            ),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            iam.PolicyStatement(
                sid="PutEndpointMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints*"]}},
            ),
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions; "
            "the metrics statement is limited to the /aws/sagemaker/Endpoints namespace by condition.",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{nag_form(log_groups)}]",
            "SageMaker names the log group after the endpoint, which is created after this role; "
            "access is limited to endpoint log groups of this account and region.",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{nag_form(log_streams)}]",
            "Log streams are created per instance at run time; limited to endpoint log groups of this account and region.",
        )

    def grant_describe_alarms(self, alarms: Sequence[cloudwatch.IAlarm]) -> None:
        """DescribeAlarms on the alarms that roll a blue/green update back.

        SageMaker reads the auto-rollback alarms with the execution role during an update; without
        this grant the guardrail cannot watch them (docs/aws-contract.md, "Rollback alarms").
        """
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="ReadRollbackAlarms", actions=["cloudwatch:DescribeAlarms"], resources=[alarm.alarm_arn for alarm in alarms]
            )
        )

    def grant_read_objects(self, sid: str, bucket_arn: str, key_pattern: str, *, why: str = "") -> None:
        """Read objects matching `key_pattern` (`prefix*` or one key) and list only that prefix.

        A wildcard pattern is acknowledged to cdk-nag with `why` as the reason.
        """
        if "*" in key_pattern:
            if not why:
                raise ValueError("a wildcard grant needs a reason a reviewer can accept")
            acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{nag_form(bucket_arn)}/{key_pattern}]", why)
        # The bucket must belong to this account: a bucket found by name could be someone else's.
        owner = {"StringEquals": {"s3:ResourceAccount": cdk.Stack.of(self).account}}
        self.policy.add_statements(
            iam.PolicyStatement(sid=f"{sid}Objects", actions=["s3:GetObject"], resources=[f"{bucket_arn}/{key_pattern}"], conditions=owner),
            iam.PolicyStatement(
                sid=f"{sid}List",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={**owner, "StringLike": {"s3:prefix": [key_pattern]}},
            ),
        )
