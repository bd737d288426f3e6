"""What the settings classes compute: the weights prefix, enabled variants, stages and their routing."""

from __future__ import annotations

import dataclasses

import pytest

from blueprint.config.settings import (
    AppConfig,
    DevStageSettings,
    ModelSettings,
    PipelineSettings,
    ProdStageSettings,
    StageSettings,
    WeightsSettings,
)
from blueprint.engines.lmi import LmiSettings
from blueprint.engines.tgi import TgiSettings


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (None, "models/meta-llama/Llama-2-13b-chat-hf/main/"),
        ("", "models/meta-llama/Llama-2-13b-chat-hf/main/"),
        ("staged/llama", "staged/llama/"),
        ("staged/llama/", "staged/llama/"),
        ("staged/llama//", "staged/llama/"),
        ("staged/llamaX/", "staged/llamaX/"),
    ],
)
def test_weights_prefix_is_the_setting_or_the_model_and_revision_and_ends_in_one_slash(prefix, expected):
    assert AppConfig(weights=WeightsSettings(s3_prefix=prefix)).weights_s3_prefix() == expected


def test_weights_prefix_follows_the_model_and_its_revision():
    config = AppConfig(model=ModelSettings(id="acme/m-7b", revision="v2"))
    assert config.weights_s3_prefix() == "models/acme/m-7b/v2/"


def test_weights_prefix_of_a_deployments_own_model():
    config = AppConfig(model=ModelSettings(id="acme/m-7b"))
    assert config.weights_s3_prefix(ModelSettings(id="acme/other", revision="abc")) == "models/acme/other/abc/"
    assert AppConfig(weights=WeightsSettings(s3_prefix="x")).weights_s3_prefix(ModelSettings(id="acme/other")) == "x/"


def test_enabled_variants_in_a_stable_order():
    both = AppConfig(variants={"tgi": TgiSettings(), "lmi": LmiSettings()})
    assert list(both.enabled_variants()) == ["tgi", "lmi"]
    assert both.enabled_variants()["tgi"] is both.variants["tgi"]
    assert list(AppConfig(variants={"b": TgiSettings(), "a": LmiSettings()}).enabled_variants()) == ["b", "a"]
    assert list(AppConfig(variants={"tgi": TgiSettings(enabled=False), "lmi": LmiSettings()}).enabled_variants()) == ["lmi"]
    assert AppConfig(variants={"tgi": TgiSettings(enabled=False), "lmi": LmiSettings(enabled=False)}).enabled_variants() == {}


def test_stages_in_deployment_order():
    pipeline = PipelineSettings()
    assert list(pipeline.stages()) == ["dev", "prod"]
    assert pipeline.stages()["dev"] is pipeline.dev and pipeline.stages()["prod"] is pipeline.prod
    assert (pipeline.dev.traffic_routing, pipeline.dev.manual_approval) == ("all-at-once", False)
    assert (pipeline.prod.traffic_routing, pipeline.prod.manual_approval) == (None, True)


@pytest.mark.parametrize(
    ("routing", "count", "expected"),
    [(None, 1, "all-at-once"), (None, 2, "canary"), (None, 5, "canary"), ("linear", 1, "linear"), ("all-at-once", 4, "all-at-once")],
)
def test_a_stage_routes_its_setting_or_a_canary_where_the_fleet_allows_one(routing, count, expected):
    assert StageSettings(traffic_routing=routing).routing_for(TgiSettings(instance_count=count)) == expected


def test_the_app_in_a_stage_takes_its_place_and_routing_and_has_no_pipeline():
    config = AppConfig(
        account="111111111111",
        region="us-east-1",
        variants={"tgi": TgiSettings(instance_count=2), "lmi": LmiSettings(instance_count=1)},
        pipeline=PipelineSettings(enabled=True, repository="acme/llm"),
    )
    prod = config.for_stage(ProdStageSettings(account="333333333333", region="eu-west-1"))
    assert (prod.account, prod.region) == ("333333333333", "eu-west-1")
    assert prod.pipeline == PipelineSettings(enabled=False)
    assert prod.variants["tgi"].deployment.traffic_routing == "canary"
    assert prod.variants["lmi"].deployment.traffic_routing == "all-at-once"
    # Everything else is the app's own.
    assert prod.variants["tgi"].instance_count == 2
    assert dataclasses.replace(prod.variants["tgi"].deployment, traffic_routing="all-at-once") == config.variants["tgi"].deployment
    assert (prod.model, prod.bucket, prod.profile) == (config.model, config.bucket, config.profile)
    dev = config.for_stage(DevStageSettings(account="222222222222", region="us-east-1"))
    assert dev.variants["tgi"].deployment.traffic_routing == "all-at-once"
    assert config.variants["tgi"].deployment.traffic_routing == "all-at-once"  # the app is unchanged
