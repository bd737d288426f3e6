"""The stateful stack: a retained, private, TLS-only, versioned, encrypted, logged model bucket."""

from __future__ import annotations

from aws_cdk.assertions import Match

BLOCK_ALL = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}


def model_bucket(bucket_template) -> dict:
    buckets = bucket_template.find_resources("AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": Match.any_value()}})
    (resource,) = buckets.values()
    return resource


def test_buckets_block_public_access_and_are_encrypted(bucket):
    buckets = bucket.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2
    for resource in buckets.values():
        assert resource["Properties"]["PublicAccessBlockConfiguration"] == BLOCK_ALL
        (rule,) = resource["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_buckets_are_retained_on_delete(bucket):
    for resource in bucket.find_resources("AWS::S3::Bucket").values():
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"


def test_stack_has_termination_protection(seed_app):
    assert seed_app.composed.bucket_stack.termination_protection is True


def test_model_bucket_is_versioned_and_logs_access(bucket):
    resource = model_bucket(bucket)
    assert resource["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert resource["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "model-bucket/"


def test_buckets_deny_requests_without_tls(bucket):
    policies = bucket.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Action"] == "s3:*" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_model_bucket_name_is_per_account_and_region(us_east_1_app):
    us_east_1_app.template().has_resource_properties("AWS::S3::Bucket", {"BucketName": "llm-models-111122223333-us-east-1"})


def test_abandoned_multipart_uploads_are_cleaned_up(bucket):
    rules = model_bucket(bucket)["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}, "Status": "Enabled"} in rules


def test_outputs_the_bucket_name(bucket):
    assert "ModelBucketName" in bucket.to_json()["Outputs"]


def test_log_delivery_is_allowed_by_bucket_policy_for_the_model_bucket_only(bucket):
    # S3: with ACLs disabled (bucket owner enforced), the logging service is granted in the
    # destination's bucket policy, limited to the source bucket and account.
    (model_bucket_id,) = [k for k, r in bucket.find_resources("AWS::S3::Bucket").items() if "LoggingConfiguration" in r["Properties"]]
    statements = [
        s
        for p in bucket.find_resources("AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    (delivery,) = statements
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"]["Fn::Join"][1][-1] == "/model-bucket/*"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [model_bucket_id, "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
