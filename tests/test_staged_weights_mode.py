"""weights_loading=s3: mounted, uncompressed staged weights, network isolation and no token."""

from __future__ import annotations

import json

import pytest

from blueprint.loader import load_config
from tests.conftest import build_app

PREFIX = "models/meta-llama/Llama-2-13b-chat-hf/main/"


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("staged"), profile="llama2-13b-staged", account="111122223333", region="us-east-1")


def model(built, variant: str) -> dict:
    (resource,) = built.template(variant).find_resources("AWS::SageMaker::Model").values()
    return resource["Properties"]


@pytest.mark.parametrize("variant", ["tgi", "lmi"])
def test_model_mounts_the_uncompressed_staged_prefix(staged, variant):
    properties = model(staged, variant)
    assert properties["PrimaryContainer"]["ModelDataSource"] == {
        "S3DataSource": {"S3Uri": f"s3://llm-models-111122223333-us-east-1/{PREFIX}", "S3DataType": "S3Prefix", "CompressionType": "None"}
    }
    assert "ModelDataUrl" not in properties["PrimaryContainer"]


@pytest.mark.parametrize("variant", ["tgi", "lmi"])
def test_network_isolation_is_on(staged, variant):
    assert model(staged, variant)["EnableNetworkIsolation"] is True


@pytest.mark.parametrize("variant", ["tgi", "lmi"])
def test_no_token_reaches_the_endpoint(staged, variant):
    rendered = json.dumps(staged.template(variant).to_json())
    assert "secretsmanager" not in rendered
    assert "HF_TOKEN" not in rendered and "HUGGING_FACE_HUB_TOKEN" not in rendered


def test_tgi_reads_the_mounted_directory(staged):
    environment = model(staged, "tgi")["PrimaryContainer"]["Environment"]
    assert environment["HF_MODEL_ID"] == "/opt/ml/model"


def test_lmi_reads_its_serving_properties_from_the_environment(staged):
    environment = model(staged, "lmi")["PrimaryContainer"]["Environment"]
    assert environment["OPTION_MODEL_ID"] == "/opt/ml/model"
    assert environment["SERVING_LOAD_MODELS"] == "model::MPI=/opt/ml/model"
    assert environment["OPTION_ROLLING_BATCH"] == "lmi-dist"
    assert environment["OPTION_TENSOR_PARALLEL_DEGREE"] == "4"
    assert environment["OPTION_ENTRYPOINT"] == "djl_python.huggingface"
    assert environment["MODEL_LOADING_TIMEOUT"] == "3600"


@pytest.mark.parametrize("variant", ["tgi", "lmi"])
def test_role_reads_only_the_staged_prefix_of_its_own_bucket(staged, variant):
    (policy,) = staged.template(variant).find_resources("AWS::IAM::ManagedPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["ReadWeightsObjects"]["Resource"] == f"arn:aws:s3:::llm-models-111122223333-us-east-1/{PREFIX}*"
    assert statements["ReadWeightsList"]["Condition"]["StringLike"] == {"s3:prefix": [f"{PREFIX}*"]}
    assert statements["ReadWeightsObjects"]["Condition"] == {"StringEquals": {"s3:ResourceAccount": "111122223333"}}
    s3_actions = {
        a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if a.startswith("s3:")
    }
    assert s3_actions == {"s3:GetObject", "s3:ListBucket"}


def test_seed_profile_keeps_the_recipes_loading(seed_app):
    tgi = seed_app.template("tgi").to_json()
    (tgi_model,) = [r for r in tgi["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"]
    assert "EnableNetworkIsolation" not in tgi_model["Properties"]
    assert tgi_model["Properties"]["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "meta-llama/Llama-2-13b-chat-hf"


def test_token_reference_in_s3_mode_is_an_error():
    with pytest.raises(Exception, match="variants.tgi.hub_token_secret = 'x': not used with weights_loading=s3"):
        load_config({"profile": "llama2-13b-staged", "variants.tgi.hub_token_secret": "x"})


def test_gated_model_in_s3_mode_needs_no_token():
    assert load_config({"profile": "llama2-13b-staged"}).variants["tgi"].hub_token_secret is None


@pytest.mark.parametrize("variant,value", [("lmi", "hub"), ("tgi", "s3-download"), ("tgi", "ftp")])
def test_rejects_loading_modes_a_variant_does_not_have(variant, value):
    with pytest.raises(Exception, match=f"variants.{variant}.weights_loading = '{value}': the {variant} engine loads weights by"):
        load_config({f"variants.{variant}.weights_loading": value})
