"""Every SPEC Part 1 value of the reference recipe, asserted in the synthesized templates."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from blueprint.images.image_catalog import find_image

SEED_TGI_ENV = {
    "HF_MODEL_ID": "meta-llama/Llama-2-13b-chat-hf",
    "SM_NUM_GPUS": "4",
    "MAX_INPUT_LENGTH": "2048",
    "MAX_TOTAL_TOKENS": "4096",
    "MAX_BATCH_TOTAL_TOKENS": "8192",
}
SEED_SERVING_PROPERTIES = {
    "engine": "MPI",
    "option.entryPoint": "djl_python.huggingface",
    "option.tensor_parallel_degree": "4",
    "option.low_cpu_mem_usage": "TRUE",
    "option.rolling_batch": "lmi-dist",
    "option.max_rolling_batch_size": "64",
    "option.model_loading_timeout": "900",
    "option.paged_attention": "true",
}


def model_environment(template: Template) -> dict:
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    return model["Properties"]["PrimaryContainer"]["Environment"]


def only_variant(template: Template) -> dict:
    (config,) = template.find_resources("AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    return variant


# --- TGI -----------------------------------------------------------------------------------------


def test_tgi_environment_is_the_recipes_and_nothing_else(tgi):
    token = "{{resolve:secretsmanager:llm-endpoints/huggingface-hub-token:SecretString:::}}"
    assert model_environment(tgi) == {**SEED_TGI_ENV, "HUGGING_FACE_HUB_TOKEN": token}


def test_tgi_token_is_a_secrets_manager_reference_not_a_value(tgi):
    token = model_environment(tgi)["HUGGING_FACE_HUB_TOKEN"]
    assert token == "{{resolve:secretsmanager:llm-endpoints/huggingface-hub-token:SecretString:::}}"


def test_tgi_image_is_huggingface_llm_1_0_3_in_us_east_1(us_east_1_app):
    template = us_east_1_app.template("tgi")
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": Match.object_like(
                {
                    "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.0.1-tgi1.0.3-gpu-py39-cu118-ubuntu20.04"
                }
            )
        },
    )


def test_tgi_endpoint_config_is_one_g5_12xlarge_with_the_startup_timeout(tgi):
    # As the SDK's deploy(): variant AllTraffic, weight 1, no download timeout (no model data).
    assert only_variant(tgi) | {"ModelName": None} == {
        "VariantName": "AllTraffic",
        "InstanceType": "ml.g5.12xlarge",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1,
        "ContainerStartupHealthCheckTimeoutInSeconds": 3600,
        "ModelName": None,
    }


def test_current_tgi_image_is_tgi_3_3_6_on_a_cuda_12_host(llama2_current_app):
    template = llama2_current_app.template("tgi")
    (mapping,) = template.to_json()["Mappings"].values()
    assert (
        mapping["us-east-1"]["uri"]
        == "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    )
    assert only_variant(template)["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"


def test_current_tgi_reads_max_input_tokens_and_hf_token(llama2_current_app):
    environment = model_environment(llama2_current_app.template("tgi"))
    assert environment["MAX_INPUT_TOKENS"] == "2048"
    assert "MAX_INPUT_LENGTH" not in environment
    assert environment["HF_TOKEN"].startswith("{{resolve:secretsmanager:")
    assert "HUGGING_FACE_HUB_TOKEN" not in environment
    assert "MAX_BATCH_TOTAL_TOKENS" not in environment


# --- LMI -----------------------------------------------------------------------------------------


def test_lmi_image_is_djl_deepspeed_0_25_0_in_us_east_1(us_east_1_app):
    us_east_1_app.template("lmi").has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": Match.object_like(
                {"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.25.0-deepspeed0.11.0-cu118"}
            )
        },
    )


def test_lmi_model_environment_has_loading_timeout_and_weights_uri(us_east_1_app):
    environment = model_environment(us_east_1_app.template("lmi"))
    assert environment == {
        "MODEL_LOADING_TIMEOUT": "3600",
        "OPTION_MODEL_ID": "s3://llm-models-111122223333-us-east-1/models/meta-llama/Llama-2-13b-chat-hf/main/",
    }


def test_lmi_endpoint_config_is_variant1_on_one_g5_12xlarge(lmi):
    variant = only_variant(lmi)
    assert variant["VariantName"] == "variant1"
    assert variant["InstanceType"] == "ml.g5.12xlarge"
    assert variant["InitialInstanceCount"] == 1
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 3600
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 3600


def packed_serving_properties(built) -> dict[str, str]:
    """serving.properties as packed in the synthesized LMI model.tar.gz asset."""
    (model,) = built.template("lmi").find_resources("AWS::SageMaker::Model").values()
    url = model["Properties"]["PrimaryContainer"]["ModelDataUrl"]["Fn::Sub"]
    asset_hash = url.rsplit("/", 1)[1].split(".")[0]
    archive = next(Path(built.synth().directory).glob(f"asset.{asset_hash}*"))
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["serving.properties"]
        text = tar.extractfile("serving.properties").read().decode()
    return dict(line.split("=", 1) for line in text.splitlines())


def test_lmi_model_data_is_the_recipes_serving_properties(seed_app):
    assert packed_serving_properties(seed_app) == SEED_SERVING_PROPERTIES


def test_current_lmi_packs_vllm_async_serving_properties(llama2_current_app):
    assert packed_serving_properties(llama2_current_app) == {
        "engine": "Python",
        "option.entryPoint": "djl_python.lmi_vllm.vllm_async_service",
        "option.async_mode": "true",
        "option.rolling_batch": "disable",
        "option.tensor_parallel_degree": "4",
        "option.max_rolling_batch_size": "64",
        "option.max_model_len": "4096",
        "option.dtype": "fp16",
    }


def test_weights_location_is_in_the_environment_not_in_the_tarball(seed_app, llama2_current_app):
    # OPTION_MODEL_ID carries the deploy-time bucket name; the tarball stays account-independent.
    for built in (seed_app, llama2_current_app):
        assert "option.model_id" not in packed_serving_properties(built)
        assert model_environment(built.template("lmi"))["OPTION_MODEL_ID"]["Fn::Join"][1][0] == "s3://llm-models-"


def test_current_lmi_runs_djl_lmi_0_38_on_a_cuda_13_host(llama2_current_app):
    template = llama2_current_app.template("lmi")
    (mapping,) = template.to_json()["Mappings"].values()
    assert mapping["us-east-1"]["uri"] == "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"
    assert only_variant(template)["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"


# --- Shared construct behaviour ------------------------------------------------------------------

# Settings that change different things (the endpoint's name, the instances, the token's secret
# field, whether LMI exists): one app carries all of them and each test reads its own.
RECONFIGURED = {
    "variants.tgi.endpoint_name": "llama2-tgi",
    "variants.tgi.instance_type": "ml.g5.48xlarge",
    "variants.tgi.instance_count": "2",
    "variants.tgi.hub_token_secret_json_field": "token",
    "variants.lmi.enabled": "false",
}


@pytest.fixture(scope="module")
def reconfigured(tmp_path_factory):
    from tests.conftest import build_app

    return build_app(tmp_path_factory.mktemp("reconfigured"), checks=False, **RECONFIGURED)


def test_model_and_endpoint_config_have_no_physical_names(tgi, lmi):
    for template in (tgi, lmi):
        for resource_type, name_key in (("AWS::SageMaker::Model", "ModelName"), ("AWS::SageMaker::EndpointConfig", "EndpointConfigName")):
            for resource in template.find_resources(resource_type).values():
                assert name_key not in resource["Properties"]


def test_endpoint_is_named_after_its_stack_unless_configured(tgi, reconfigured):
    (endpoint,) = tgi.find_resources("AWS::SageMaker::Endpoint").values()
    assert endpoint["Properties"]["EndpointName"] == "LlmEndpointTgi"
    named = reconfigured.template("tgi")
    named.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "llama2-tgi"})


def test_environment_agnostic_stack_maps_image_per_region(tgi):
    (mapping,) = tgi.to_json()["Mappings"].values()
    assert mapping["us-east-1"]["account"] == "763104351884"
    assert mapping["eu-central-2"]["account"] == "380420809688"
    assert set(mapping) == set(find_image("huggingface-llm", "1.0.3").regions)
    tgi.has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": Match.object_like({"Image": {"Fn::FindInMap": [Match.any_value(), {"Ref": "AWS::Region"}, "uri"]}})},
    )


def test_stack_outputs_what_the_smoke_test_needs(tgi, lmi):
    for template, variant_name, serving in ((tgi, "AllTraffic", "tgi"), (lmi, "variant1", "lmi")):
        outputs = template.to_json()["Outputs"]
        (endpoint_id,) = template.find_resources("AWS::SageMaker::Endpoint")
        assert outputs["EndpointName"]["Value"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
        assert outputs["VariantName"]["Value"] == variant_name
        assert outputs["ServingVariant"]["Value"] == serving
        assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}


def test_disabled_variant_has_no_stack(reconfigured):
    assert list(reconfigured.composed.endpoint_stacks) == ["tgi"]


def test_instance_settings_reach_the_endpoint_config(reconfigured):
    variant = only_variant(reconfigured.template("tgi"))
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g5.48xlarge", 2)


def test_ebs_instance_without_kms_key_gets_a_synth_warning(tmp_path):
    from aws_cdk.assertions import Annotations

    from tests.conftest import build_app

    built = build_app(tmp_path, checks=False, **{"variants.tgi.instance_type": "ml.p3.8xlarge"})
    warnings = Annotations.from_stack(built.composed.endpoint_stacks["tgi"]).find_warning(
        "*", Match.string_like_regexp("variants.tgi.kms_key_arn")
    )
    assert len(warnings) == 1


def test_nvme_instance_gets_no_volume_key_warning(seed_app):
    from aws_cdk.assertions import Annotations

    assert Annotations.from_stack(seed_app.composed.endpoint_stacks["tgi"]).find_warning("*", Match.any_value()) == []


def test_cuda_12_image_without_host_image_gets_a_synth_warning(tmp_path):
    from aws_cdk.assertions import Annotations

    from tests.conftest import build_app

    built = build_app(tmp_path, checks=False, profile="llama2-13b-current", **{"variants.tgi.inference_ami_version": "none"})
    warnings = Annotations.from_stack(built.composed.endpoint_stacks["tgi"]).find_warning(
        "*", Match.string_like_regexp("inference_ami_version")
    )
    assert len(warnings) == 1


def test_hub_token_from_a_json_secret_field(reconfigured):
    token = model_environment(reconfigured.template("tgi"))["HUGGING_FACE_HUB_TOKEN"]
    assert token == "{{resolve:secretsmanager:llm-endpoints/huggingface-hub-token:SecretString:token::}}"


def test_hipaa_volume_key_acknowledgement_gives_the_api_references_reason(seed_app):
    # CreateEndpointConfig: on instances with local storage "the KmsKeyId parameter does not
    # encrypt instance local storage" (it is accepted, not rejected).
    config = seed_app.composed.endpoint_stacks["tgi"].endpoint.endpoint_config
    (acknowledged,) = [m.data for m in config.node.metadata if m.type == "aws:cdk:acknowledged-rules"]
    reason = acknowledged["Annotation::HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured"]
    assert "KmsKeyId does not encrypt instance local storage" in reason
    assert "rejects" not in reason
