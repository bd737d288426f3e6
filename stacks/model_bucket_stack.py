"""Stateful stack: the bucket of staged model weights and its access-log bucket (both retained)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.checkov_skips import skip_checkov
from stacks.nag import acknowledge

ACCESS_LOG_RETENTION = cdk.Duration.days(365)


def model_bucket_name(scope: Construct, name_prefix: str) -> str:
    """`<prefix>-<account>-<region>`: one bucket per account and region, found without lookups.

    A stable name lets endpoint stacks (and the staging script) find the bucket without a
    cross-stack reference, so the stateless stacks never pin the stateful one.
    """
    stack = cdk.Stack.of(scope)
    return f"{name_prefix}-{stack.account}-{stack.region}"


class ModelBucketStack(cdk.Stack):
    """Holds what must outlive endpoints: weights stay when endpoint stacks are destroyed.

    Termination protection is on and both buckets are retained on delete.
    """

    def __init__(self, scope: Construct, id: str, *, bucket_name_prefix: str, **kwargs) -> None:
        super().__init__(scope, id, termination_protection=True, **kwargs)
        # Log delivery through a bucket policy, not ACLs (which BUCKET_OWNER_ENFORCED forbids),
        # whatever feature flags the enclosing app sets.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # S3 server access logging can deliver only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=ACCESS_LOG_RETENTION, noncurrent_version_expiration=cdk.Duration.days(30))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_log_bucket,
            "AwsSolutions-S1",
            "This bucket is the access-log destination of the model bucket; logging it into itself would loop.",
        )
        skip_checkov(
            self.access_log_bucket,
            "CKV_AWS_18",
            "This bucket is the access-log destination of the model bucket; logging it into itself would loop.",
        )
        acknowledge(
            self.access_log_bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to target buckets encrypted with SSE-S3, which this bucket uses.",
        )
        acknowledge(
            self.access_log_bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Access logs are versioned and retained for a year in this account; no second-region copy is required for them.",
        )
        self.bucket = s3.Bucket(
            self,
            "ModelBucket",
            bucket_name=model_bucket_name(self, bucket_name_prefix),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="model-bucket/",
            lifecycle_rules=[
                # Staging uploads are multipart: don't pay for parts of an abandoned upload.
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(7)),
                # Overwritten or deleted weights stay recoverable for a while, then stop costing.
                s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(30)),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "Holds model weights (no PHI), encrypted at rest with SSE-S3; avoids KMS request costs and throttling on multi-GB model loads.",
        )
        acknowledge(
            self.bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Weights are a versioned, retained copy of a pinned hub revision that the staging script can restore; a replica would double tens of GB of storage.",
        )
        self.bucket_name_output = cdk.CfnOutput(
            self, "ModelBucketName", value=self.bucket.bucket_name, description="Bucket of staged model weights"
        )
