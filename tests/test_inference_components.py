"""Inference-component hosting: the shared endpoint's and the components' templates and their copy
scaling to zero (the checks and the summary: tests/test_hosting_validation.py)."""

from __future__ import annotations

import pytest

PACKED = {"profile": "qwen3-packed"}


def only(template, kind: str) -> tuple[str, dict]:
    (found,) = template.find_resources(kind).items()
    return found


def test_the_shared_endpoint_has_a_role_and_managed_instance_scaling_but_no_model(packed_app):
    template = packed_app.template("@pool")
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["Properties"]["ProductionVariants"]
    assert "ModelName" not in variant  # the components name their models
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g5.12xlarge", 1)
    role, _ = only(template, "AWS::IAM::Role")
    assert config["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    assert template.find_resources("AWS::SageMaker::Model") == {}
    _, endpoint = only(template, "AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == "LlmSharedEndpointPool"  # what the components name
    # Its role pulls no image: each component's model has its own role for that.
    _, policy = only(template, "AWS::IAM::ManagedPolicy")
    assert "ecr:" not in str(policy)


@pytest.mark.parametrize(
    ("deployment", "accelerators", "memory", "max_copies"),
    [("qwen-14b", 2, 78_643, 1), ("qwen-8b", 1, 39_321, 2)],  # 192 GiB x GPUs/4 x 0.8, in MiB
)
def test_each_deployment_is_a_component_with_its_model_copies_and_reservation(packed_app, deployment, accelerators, memory, max_copies):
    template = packed_app.template(deployment)
    name = packed_app.composed.endpoint_stacks[deployment].stack_name
    model, _ = only(template, "AWS::SageMaker::Model")
    _, component = only(template, "AWS::SageMaker::InferenceComponent")
    assert component["Properties"] == {
        "EndpointName": "LlmSharedEndpointPool",
        "VariantName": "AllTraffic",
        "InferenceComponentName": name,  # set: CloudFormation returns no name to scale or alarm on
        "Specification": {
            "ModelName": {"Fn::GetAtt": [model, "ModelName"]},
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": accelerators, "MinMemoryRequiredInMb": memory},
            "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 3600, "ContainerStartupHealthCheckTimeoutInSeconds": 3600},
        },
        "RuntimeConfig": {"CopyCount": 1},  # at least one at creation; autoscaling takes it to zero
    }
    assert template.find_resources("AWS::SageMaker::EndpointConfig") == {}
    _, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"] == {
        "ServiceNamespace": "sagemaker",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "ResourceId": f"inference-component/{name}",
        "MinCapacity": 0,
        "MaxCapacity": max_copies,
    }
    component_id, _ = only(template, "AWS::SageMaker::InferenceComponent")
    assert component_id in target["DependsOn"]  # registered once the component exists
    outputs = template.to_json()["Outputs"]
    assert {k: outputs[k]["Value"] for k in ("EndpointName", "InferenceComponentName", "Hosting", "ServingVariant")} == {
        "EndpointName": "LlmSharedEndpointPool",
        "InferenceComponentName": name,
        "Hosting": "inference-component",
        "ServingVariant": deployment,
    }


def test_copies_scale_by_concurrent_requests_and_from_zero_on_the_first_failed_request(packed_app):
    template = packed_app.template("qwen-14b")
    policies = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    by_type = {p["Properties"]["PolicyType"]: (logical, p["Properties"]) for logical, p in policies.items()}
    tracking = by_type["TargetTrackingScaling"][1]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    }
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (4, 900, 60)
    step_id, step = by_type["StepScaling"]
    assert step["StepScalingPolicyConfiguration"]["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    assert step["StepScalingPolicyConfiguration"]["AdjustmentType"] == "ChangeInCapacity"
    _, alarm = only(template, "AWS::CloudWatch::Alarm")
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SageMaker", "NoCapacityInvocationFailures")
    assert props["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "LlmEndpointQwen14b"}]
    assert (props["Threshold"], props["ComparisonOperator"], props["EvaluationPeriods"]) == (1, "GreaterThanOrEqualToThreshold", 1)
    assert props["AlarmActions"] == [{"Fn::GetAtt": [step_id, "Arn"]}]


def test_without_scale_to_zero_there_is_no_step_and_no_alarm(tmp_path):
    from tests.conftest import build_app

    built = build_app(tmp_path, checks=False, **PACKED, **{"variants.qwen-8b.component.min_copies": "1"})
    template = built.template("qwen-8b")
    assert template.find_resources("AWS::CloudWatch::Alarm") == {}
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 1)
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 2})


def test_components_deploy_after_their_shared_endpoint_and_the_bucket(packed_app):
    shared = packed_app.composed.shared_endpoint_stacks["pool"]
    for stack in packed_app.composed.endpoint_stacks.values():
        assert shared in stack.dependencies and packed_app.composed.bucket_stack in stack.dependencies
    role_policy = packed_app.template("qwen-8b").find_resources("AWS::IAM::ManagedPolicy")
    assert "ecr:BatchGetImage" in str(role_policy)  # the component's model pulls its own image


def test_dedicated_deployments_have_no_shared_endpoint_or_component(seed_app):
    assert seed_app.composed.shared_endpoint_stacks == {}
    for deployment in ("tgi", "lmi"):
        assert seed_app.template(deployment).find_resources("AWS::SageMaker::InferenceComponent") == {}
