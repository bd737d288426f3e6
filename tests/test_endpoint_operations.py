"""Autoscaling, alarms and dashboard of each endpoint stack."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.conftest import build_app


def alarms_by_metric(template) -> dict[str, dict]:
    found = {}
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        name = props.get("MetricName") or next(m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m)
        found[name] = props
    return found


@pytest.mark.parametrize(
    "variant,variant_name,endpoint_name", [("tgi", "AllTraffic", "LlmEndpointTgi"), ("lmi", "variant1", "LlmEndpointLmi")]
)
def test_alarms_cover_errors_latency_gpu_memory_and_disk(seed_app, variant, variant_name, endpoint_name):
    template = seed_app.template(variant)
    alarms = alarms_by_metric(template)
    assert set(alarms) == {"Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency", "GPUMemoryUtilization", "DiskUtilization"}
    template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": endpoint_name})
    assert alarms["Invocation5XXErrors"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": endpoint_name},
        {"Name": "VariantName", "Value": variant_name},
    ]
    assert (alarms["Invocation5XXErrors"]["Threshold"], alarms["Invocation5XXErrors"]["Namespace"]) == (0, "AWS/SageMaker")
    assert alarms["DiskUtilization"]["Namespace"] == "/aws/sagemaker/Endpoints"
    for alarm in alarms.values():
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["EvaluationPeriods"] == 3
        (topic_id,) = template.find_resources("AWS::SNS::Topic")
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_gpu_memory_threshold_is_per_gpu_times_the_gpus(seed_app):
    # 99 % per GPU on 4 GPUs: SageMaker reports the sum, 0..400 %.
    assert alarms_by_metric(seed_app.template("tgi"))["GPUMemoryUtilization"]["Threshold"] == 396


def test_latency_alarm_is_p90_in_milliseconds(seed_app):
    latency = alarms_by_metric(seed_app.template("tgi"))["ModelLatency"]
    (expression,) = [m for m in latency["Metrics"] if "Expression" in m]
    (stat,) = [m for m in latency["Metrics"] if "MetricStat" in m]
    assert expression["Expression"].endswith("/ 1000")  # microseconds to ms
    assert stat["MetricStat"]["Stat"] == "p90"
    assert latency["Threshold"] == 60000


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(seed_app):
    # SNS: AWS event sources such as CloudWatch need a customer managed key whose policy allows
    # them; the AWS managed alias/aws/sns key cannot (docs/aws-contract.md, "Alarm topic").
    template = seed_app.template("tgi")
    (key_id,) = template.find_resources("AWS::KMS::Key")
    (topic,) = template.find_resources("AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = template.find_resources("AWS::KMS::Key")[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    (statement,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert_only_this_accounts_alarms(statement["Condition"])


def test_alarm_topic_policy_lets_this_accounts_alarms_publish_over_tls_only(seed_app):
    template = seed_app.template("tgi")
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert (allow["Principal"], allow["Action"], allow["Resource"]) == (
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
        {"Ref": topic_id},
    )
    assert_only_this_accounts_alarms(allow["Condition"])
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def assert_only_this_accounts_alarms(condition: dict) -> None:
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert condition["ArnLike"]["aws:SourceArn"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":alarm:*"],
        ]
    }


GIVEN_TOPIC = "arn:aws:sns:us-east-1:111122223333:ops-alerts"


@pytest.fixture(scope="module")
def given_topic_and_thresholds(tmp_path_factory):
    """TGI's alarms with a given topic and their own thresholds: independent settings, one app."""
    context = {
        "variants.tgi.alarms.topic_arn": GIVEN_TOPIC,
        "variants.tgi.alarms.invocation_4xx_errors": "5",
        "variants.tgi.alarms.evaluation_periods": "2",
    }
    return build_app(tmp_path_factory.mktemp("given-topic-thresholds"), checks=False, **context).template("tgi")


def test_a_given_alarm_topic_is_used_as_is(given_topic_and_thresholds):
    given = given_topic_and_thresholds
    assert given.find_resources("AWS::SNS::Topic") == {}
    assert given.find_resources("AWS::KMS::Key") == {}
    assert {a["AlarmActions"][0] for a in alarms_by_metric(given).values()} == {GIVEN_TOPIC}


def test_thresholds_are_settings(given_topic_and_thresholds):
    template = given_topic_and_thresholds
    alarm = alarms_by_metric(template)["Invocation4XXErrors"]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (5, 2)


def test_dashboard_per_endpoint(seed_app):
    for variant in ("tgi", "lmi"):
        (dashboard,) = seed_app.template(variant).find_resources("AWS::CloudWatch::Dashboard").values()
        body = str(dashboard["Properties"]["DashboardBody"])
        for metric in ("GPUUtilization", "GPUMemoryUtilization", "DiskUtilization", "Invocation5XXErrors", "ModelLatency", "SampleCount"):
            assert metric in body


def test_alarms_can_be_switched_off(tmp_path):
    context = {"variants.tgi.alarms.enabled": "false", "variants.tgi.deployment.rollback_on_alarms": "false"}
    template = build_app(tmp_path, checks=False, **context).template("tgi")
    assert template.find_resources("AWS::CloudWatch::Alarm") == {}
    assert "AutoRollbackConfiguration" not in str(template.find_resources("AWS::SageMaker::Endpoint"))


def test_seed_has_no_autoscaling(seed_app):
    for variant in ("tgi", "lmi"):
        assert seed_app.template(variant).find_resources("AWS::ApplicationAutoScaling::ScalableTarget") == {}


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    context = {
        "variants.lmi.autoscaling.enabled": "true",
        "variants.lmi.autoscaling.max_capacity": "4",
        "variants.tgi.autoscaling.enabled": "true",
        "variants.tgi.autoscaling.metric": "invocations",
        "variants.tgi.autoscaling.target_value": "30",
    }
    return build_app(tmp_path_factory.mktemp("scaled"), **context)


def test_scalable_target_is_the_variant_without_a_role(scaled):
    template = scaled.template("lmi")
    (endpoint_id,) = template.find_resources("AWS::SageMaker::Endpoint")
    (target,) = template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert endpoint_id in target["DependsOn"]
    assert target["Properties"] == {
        "MaxCapacity": 4,
        "MinCapacity": 1,
        "ResourceId": "endpoint/LlmEndpointLmi/variant/variant1",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "ServiceNamespace": "sagemaker",
    }
    assert (
        template.find_resources(
            "AWS::IAM::Role",
            {
                "Properties": {
                    "AssumeRolePolicyDocument": Match.object_like(
                        {"Statement": [Match.object_like({"Principal": {"Service": "application-autoscaling.amazonaws.com"}})]}
                    )
                }
            },
        )
        == {}
    )


def test_autoscaled_endpoint_keeps_its_instance_count_across_updates(scaled, seed_app):
    # Without it every update (a new EndpointConfig) resets the fleet to InitialInstanceCount.
    scaled.template("lmi").has_resource_properties("AWS::SageMaker::Endpoint", {"RetainAllVariantProperties": True})
    (endpoint,) = seed_app.template("lmi").find_resources("AWS::SageMaker::Endpoint").values()
    assert "RetainAllVariantProperties" not in endpoint["Properties"]  # the recipe's fixed fleet takes the config's count


def test_target_tracking_on_concurrency_with_slow_scale_in(scaled):
    scaled.template("lmi").has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"},
                "TargetValue": 8,
                "ScaleInCooldown": 1800,
                "ScaleOutCooldown": 300,
                "DisableScaleIn": False,
            },
        },
    )


def test_target_tracking_on_invocations_per_instance(scaled):
    scaled.template("tgi").has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {"PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}, "TargetValue": 30}
            )
        },
    )


def test_scaled_app_passes_nag(scaled):
    assert scaled.synth().stacks
