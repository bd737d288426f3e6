"""The execution role: least privilege in one customer-managed policy, trust scoped to the account."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match, Template


def policy_statements(template: Template) -> dict[str, dict]:
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def rendered(value: object) -> str:
    return json.dumps(value)


def test_no_aws_managed_policies_or_inline_policies(tgi, lmi):
    for template in (tgi, lmi):
        (role,) = template.find_resources("AWS::IAM::Role").values()
        assert "ManagedPolicyArns" not in role["Properties"]
        assert "Policies" not in role["Properties"]
        assert template.find_resources("AWS::IAM::Policy") == {}
        template.has_resource_properties("AWS::IAM::ManagedPolicy", {"Roles": [{"Ref": Match.any_value()}]})


def test_trust_is_sagemaker_with_source_account_and_arn(tgi):
    tgi.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"aws:SourceArn": Match.any_value()},
                        },
                    }
                ],
                "Version": "2012-10-17",
            }
        },
    )


def test_image_pull_is_scoped_to_the_image_repository(us_east_1_app):
    statements = policy_statements(us_east_1_app.template("tgi"))
    pull = statements["PullServingImage"]
    assert sorted(pull["Action"]) == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-tgi-inference"
    # Only the registry token call is unscoped, because it cannot be scoped.
    assert statements["GetRegistryToken"] == {
        "Action": "ecr:GetAuthorizationToken",
        "Effect": "Allow",
        "Resource": "*",
        "Sid": "GetRegistryToken",
    }


def test_logs_are_limited_to_endpoint_log_groups(tgi):
    logs = policy_statements(tgi)["WriteEndpointLogs"]
    assert all(":log-group:/aws/sagemaker/Endpoints/*" in rendered(r) for r in logs["Resource"])


def test_metrics_are_limited_by_namespace(tgi):
    metrics = policy_statements(tgi)["PutEndpointMetrics"]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints*"]}}


def test_tgi_in_hub_mode_reads_no_s3(tgi):
    statements = policy_statements(tgi)
    assert not any(
        a.startswith("s3:") for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )


def test_lmi_reads_only_the_weights_prefix_and_its_code_object(us_east_1_app):
    statements = policy_statements(us_east_1_app.template("lmi"))
    weights = statements["ReadWeightsObjects"]
    assert weights["Action"] == "s3:GetObject"
    assert weights["Resource"] == "arn:aws:s3:::llm-models-111122223333-us-east-1/models/meta-llama/Llama-2-13b-chat-hf/main/*"
    owner = {"StringEquals": {"s3:ResourceAccount": "111122223333"}}
    assert weights["Condition"] == owner
    assert statements["ReadWeightsList"]["Condition"] == {
        **owner,
        "StringLike": {"s3:prefix": ["models/meta-llama/Llama-2-13b-chat-hf/main/*"]},
    }
    code = statements["ReadModelDataObjects"]
    assert code["Resource"].startswith("arn:aws:s3:::cdk-hnb659fds-assets-111122223333-us-east-1/")
    assert code["Resource"].endswith(".gz") and "*" not in code["Resource"]  # one object


def test_no_secret_permission_is_granted(tgi):
    # CloudFormation resolves the token's dynamic reference with the deployer's rights; the
    # container never calls Secrets Manager, so the role gets no secretsmanager action.
    assert "secretsmanager" not in rendered(policy_statements(tgi))


def test_model_waits_for_its_policy(tgi):
    (policy_id,) = tgi.find_resources("AWS::IAM::ManagedPolicy")
    tgi.has_resource("AWS::SageMaker::Model", {"DependsOn": Match.array_with([policy_id])})


def test_role_reads_exactly_the_rollback_alarms(tgi):
    # Deployment guardrails read the auto-rollback alarms with the execution role.
    (endpoint,) = tgi.find_resources("AWS::SageMaker::Endpoint").values()
    rollback = [a["AlarmName"]["Ref"] for a in endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    statement = policy_statements(tgi)["ReadRollbackAlarms"]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == sorted(rollback)
    assert all(r["Fn::GetAtt"][1] == "Arn" for r in statement["Resource"])


def test_without_rollback_the_role_reads_no_alarm(tmp_path):
    from tests.conftest import build_app

    template = build_app(tmp_path, checks=False, **{"variants.tgi.deployment.rollback_on_alarms": "false"}).template("tgi")
    assert "ReadRollbackAlarms" not in policy_statements(template)
    assert "cloudwatch:DescribeAlarms" not in rendered(policy_statements(template))
