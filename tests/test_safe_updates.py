"""Endpoint updates: blue/green with rollback on alarms, and which changes replace what."""

from __future__ import annotations

import re

import pytest
from aws_cdk.assertions import Match

from blueprint.loader import load_config
from blueprint.review.review_report import rejected_updates
from blueprint.review.template_changes import compare
from tests.conftest import build_app


def endpoint_properties(built, variant="tgi") -> dict:
    (endpoint,) = built.template(variant).find_resources("AWS::SageMaker::Endpoint").values()
    return endpoint["Properties"]


def test_default_is_blue_green_all_at_once_with_bake_and_rollback_on_5xx_and_latency(seed_app):
    template = seed_app.template("tgi")
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    rollback_ids = {
        a for a, r in alarms.items() if r["Properties"].get("MetricName") == "Invocation5XXErrors" or "Metrics" in r["Properties"]
    }
    config = endpoint_properties(seed_app)["DeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 7200,
    }
    assert {a["AlarmName"]["Ref"] for a in config["AutoRollbackConfiguration"]["Alarms"]} == rollback_ids
    assert len(rollback_ids) == 2


@pytest.mark.parametrize(
    "routing,key,expected",
    [
        ("canary", "CanarySize", {"Type": "CAPACITY_PERCENT", "Value": 10}),
        ("linear", "LinearStepSize", {"Type": "CAPACITY_PERCENT", "Value": 10}),
    ],
)
def test_canary_and_linear_traffic_shifting(tmp_path, routing, key, expected):
    context = {
        "variants.tgi.instance_count": "2",  # the first step may be at most half the fleet
        "variants.tgi.deployment.traffic_routing": routing,
        f"variants.tgi.deployment.{'canary_size' if routing == 'canary' else 'linear_step'}_percent": "10",
    }
    traffic = endpoint_properties(build_app(tmp_path, checks=False, **context))["DeploymentConfig"]["BlueGreenUpdatePolicy"][
        "TrafficRoutingConfiguration"
    ]
    assert traffic == {"Type": routing.upper(), key: expected, "WaitIntervalInSeconds": 600}


def test_rollback_needs_alarms():
    with pytest.raises(Exception, match="variants.tgi.deployment.rollback_on_alarms = True: needs the endpoint's alarms"):
        load_config({"variants.tgi.alarms.enabled": "false"})


def test_rejects_unknown_traffic_routing():
    with pytest.raises(Exception, match="variants.lmi.deployment.traffic_routing = 'rolling': one of all-at-once, canary, linear"):
        load_config({"variants.lmi.deployment.traffic_routing": "rolling"})


@pytest.fixture(scope="module")
def seed_templates(seed_app):
    return {v: seed_app.template(v).to_json() for v in ("tgi", "lmi")}


# Changes to different deployments are independent (each stack is compared with its own seed
# template), so one app carries a change of TGI's and one of LMI's: half the app builds.
INSTANCE_TYPE_CHANGE = {"variants.tgi.instance_type": "ml.g5.48xlarge", "variants.tgi.num_gpus": "8"}
ALARM_THRESHOLD_CHANGE = {"variants.lmi.alarms.invocation_4xx_errors": "50"}
ENVIRONMENT_CHANGE = {"variants.tgi.max_input_tokens": "1024"}
VARIANT_RENAME = {"variants.lmi.variant_name": "primary"}


@pytest.fixture(scope="module")
def instance_type_and_alarm_threshold_changed(tmp_path_factory):
    """TGI on a bigger instance type, LMI with another alarm threshold: each stack's template."""
    built = build_app(tmp_path_factory.mktemp("instance-type-alarm"), checks=False, **INSTANCE_TYPE_CHANGE, **ALARM_THRESHOLD_CHANGE)
    return {v: built.template(v).to_json() for v in ("tgi", "lmi")}


@pytest.fixture(scope="module")
def environment_changed_and_variant_renamed(tmp_path_factory):
    """TGI with a new container environment, LMI's variant renamed: each stack's template."""
    built = build_app(tmp_path_factory.mktemp("environment-rename"), checks=False, **ENVIRONMENT_CHANGE, **VARIANT_RENAME)
    return {v: built.template(v).to_json() for v in ("tgi", "lmi")}


def changes_for(new_templates, variant, seed_templates) -> dict[str, object]:
    return {c.type: c for c in compare(seed_templates[variant], new_templates[variant])}


def test_instance_type_change_replaces_the_endpoint_config_and_updates_the_endpoint(
    instance_type_and_alarm_threshold_changed, seed_templates
):
    changes = changes_for(instance_type_and_alarm_threshold_changed, "tgi", seed_templates)
    config = changes["AWS::SageMaker::EndpointConfig"]
    assert config.replaces and config.replaced_by == ["ProductionVariants"]  # new instances
    assert changes["AWS::SageMaker::Model"].replaces  # SM_NUM_GPUS is container environment
    endpoint = changes["AWS::SageMaker::Endpoint"]
    assert not endpoint.replaces and endpoint.changed_properties == ["EndpointConfigName"]  # a blue/green update
    assert all(c.blocked_by_name is None for c in changes.values())  # no explicit names to collide


def test_environment_change_replaces_model_then_config_through_the_reference(environment_changed_and_variant_renamed, seed_templates):
    changes = changes_for(environment_changed_and_variant_renamed, "tgi", seed_templates)
    assert changes["AWS::SageMaker::Model"].replaced_by == ["PrimaryContainer"]
    # The config's template text is unchanged; it reads the new model's name: replaced too.
    assert changes["AWS::SageMaker::EndpointConfig"].replaced_by == ["ProductionVariants"]
    assert not changes["AWS::SageMaker::Endpoint"].replaces


def test_alarm_threshold_change_touches_no_sagemaker_resource(instance_type_and_alarm_threshold_changed, seed_templates):
    changes = changes_for(instance_type_and_alarm_threshold_changed, "lmi", seed_templates)
    assert set(changes) == {"AWS::CloudWatch::Alarm"}
    assert not changes["AWS::CloudWatch::Alarm"].replaces


def test_an_explicit_config_name_would_block_the_replacement():
    old = {
        "Resources": {
            "C": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"EndpointConfigName": "fixed", "ProductionVariants": [{"InstanceType": "ml.g5.2xlarge"}]},
            }
        }
    }
    new = {
        "Resources": {
            "C": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"EndpointConfigName": "fixed", "ProductionVariants": [{"InstanceType": "ml.g5.12xlarge"}]},
            }
        }
    }
    (change,) = compare(old, new)
    assert change.replaces and change.blocked_by_name == "EndpointConfigName"


def test_stable_endpoint_name_has_no_reference_cycle(seed_app):
    # Alarms name the endpoint by its literal name; a GetAtt there would loop through DeploymentConfig.
    seed_app.template("tgi").has_resource_properties(
        "AWS::CloudWatch::Alarm", {"Dimensions": Match.array_with([{"Name": "EndpointName", "Value": "LlmEndpointTgi"}])}
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"variants.tgi.deployment.traffic_routing": "canary"},
            "variants.tgi.deployment.traffic_routing = 'canary': needs 2 or more instances (instance_count is 1",
        ),
        (
            {"variants.tgi.deployment.canary_size_percent": "60"},
            "variants.tgi.deployment.canary_size_percent = 60: 1..50 percent of the fleet",
        ),
        (
            {"variants.tgi.deployment.linear_step_percent": "5"},
            "variants.tgi.deployment.linear_step_percent = 5: 10..50 percent of the fleet",
        ),
    ],
)
def test_traffic_shifting_must_fit_the_fleet(overrides, message):
    # SageMaker: a canary is at most half of the fleet, a linear step 10-50 % of it.
    with pytest.raises(Exception, match=re.escape(message)):
        load_config(overrides)


SCALED = {"variants.tgi.autoscaling.enabled": "true"}


@pytest.fixture(scope="module")
def scaled_template(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("scaled"), checks=False, **SCALED).template("tgi").to_json()


@pytest.fixture(scope="module")
def scaled_bigger_template(tmp_path_factory):
    """The autoscaled TGI on a bigger instance type."""
    return (
        build_app(tmp_path_factory.mktemp("scaled-bigger"), checks=False, **SCALED, **{"variants.tgi.instance_type": "ml.g5.24xlarge"})
        .template("tgi")
        .to_json()
    )


def test_new_instance_type_of_an_autoscaled_variant_is_reported_as_rejected_with_the_way_through(scaled_template, scaled_bigger_template):
    # SageMaker fails an update that changes the instance type of a registered scalable target.
    (reason,) = rejected_updates(scaled_template, scaled_bigger_template)
    assert "endpoint `LlmEndpointTgi` variant `AllTraffic` changes instance type ml.g5.12xlarge -> ml.g5.24xlarge" in reason
    assert "first with `variants.tgi.autoscaling.enabled=false`" in reason


def test_turning_autoscaling_off_in_the_same_change_is_still_rejected(tmp_path, scaled_template):
    # The old scalable target is deleted only in the clean-up phase, after the endpoint update.
    bigger = build_app(tmp_path, checks=False, **{"variants.tgi.instance_type": "ml.g5.24xlarge"}).template("tgi").to_json()
    assert len(rejected_updates(scaled_template, bigger)) == 1


def test_the_second_step_and_other_changes_of_an_autoscaled_variant_are_accepted(
    tmp_path, seed_templates, scaled_template, scaled_bigger_template
):
    second_step = scaled_bigger_template  # the autoscaled variant on its new instance type
    assert rejected_updates(seed_templates["tgi"], second_step) == []  # no scalable target before this deploy
    more = build_app(tmp_path / "more", checks=False, **SCALED, **{"variants.tgi.autoscaling.max_capacity": "4"}).template("tgi").to_json()
    assert rejected_updates(scaled_template, more) == []


def test_renaming_the_variant_is_reported_as_rejected(environment_changed_and_variant_renamed, seed_templates):
    # Deployment guardrails: the new endpoint config must have the same variant name as the old.
    (reason,) = rejected_updates(seed_templates["lmi"], environment_changed_and_variant_renamed["lmi"])
    assert reason.startswith(
        "endpoint `LlmEndpointLmi` renames its variant variant1 -> primary: a blue/green update needs the same variant name"
    )
    assert "Keep `variants.lmi.variant_name`" in reason
