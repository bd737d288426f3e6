"""Bad input stops the synth with one line per problem: setting path, value, what is allowed."""

from __future__ import annotations

import re

import pytest

from blueprint.config.errors import ConfigError
from blueprint.loader import load_config

FAKE_HF_TOKEN = "hf_" + "FAKE" * 9  # an obvious fake, built so no token-shaped literal is stored


def problems(**context: object) -> list[str]:
    """Lines of the ConfigError raised for `context` (dotted keys)."""
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    lines = str(raised.value).splitlines()
    assert all(line.startswith("config error: ") for line in lines)
    return lines


def only(**context: object) -> str:
    lines = problems(**context)
    assert len(lines) == 1, lines
    return lines[0]


def ctx(**dotted: object) -> dict:
    """Dotted keys as -c gives them: `variants__tgi__num_gpus` -> `variants.tgi.num_gpus`."""
    return {k.replace("__", "."): v for k, v in dotted.items()}


def fails(**dotted: object) -> str:
    return only(**ctx(**dotted))


def test_seed_and_current_profiles_are_valid():
    assert load_config({}).profile == "llama2-13b-seed"
    assert load_config({"profile": "llama2-13b-current"}).variants["lmi"].image.framework == "djl-lmi"


def test_cdk_owned_context_keys_are_ignored():
    config = load_config({"@aws-cdk/core:newStyleStackSynthesis": True, "aws:cdk:enable-path-metadata": True, "cli-telemetry": False})
    assert config.profile == "llama2-13b-seed"


def test_rejects_unknown_setting_with_suggestion():
    line = fails(variants__tgi__instnace_type="ml.g5.48xlarge")
    assert "variants.tgi.instnace_type = 'ml.g5.48xlarge'" in line
    assert "did you mean 'instance_type'" in line


def test_rejects_unknown_top_level_key():
    assert "profle = 'current': unknown setting" in fails(profle="current")


def test_rejects_unknown_profile():
    line = fails(profile="llama3")
    assert "profile = 'llama3'" in line and "llama2-13b-seed, current" in line


def test_a_new_deployment_needs_an_engine():
    line = fails(variants__mistral__enabled="true")
    assert (
        "variants.mistral.engine = None: a deployment named 'mistral' needs an engine: set variants.mistral.engine to one of tgi, lmi, vllm, sglang"
        in line
    )


def test_rejects_an_unknown_engine():
    line = fails(variants__mistral__engine="triton")
    assert "variants.mistral.engine = 'triton': one of tgi, lmi, vllm, sglang" in line
    assert "variants.tgi.engine = 'triton'" in fails(variants__tgi__engine="triton")  # a named deployment may not lose its engine


def test_a_setting_of_another_engine_is_unknown_for_this_one():
    line = fails(variants__lmi__num_gpus="2")
    assert "variants.lmi.num_gpus = '2': unknown setting; allowed here:" in line and "serving_properties" in line
    # the engine decides the settings, whichever order the keys come in
    image = {"variants.a.image.framework": "huggingface-llm", "variants.a.image.version": "1.0.3"}
    config = load_config({**ctx(variants__a__engine="tgi", variants__a__num_gpus="2", variants__a__hub_token_secret="t"), **image})
    assert config.variants["a"].num_gpus == 2


def test_rejects_value_of_wrong_type():
    assert "variants.tgi.instance_count = 'two': must be a whole number" in fails(variants__tgi__instance_count="two")


def test_command_line_strings_are_converted_to_setting_types():
    config = load_config(
        ctx(variants__tgi__instance_count="2", variants__lmi__enabled="false", variants__tgi__max_batch_total_tokens="none")
    )
    assert config.variants["tgi"].instance_count == 2
    assert config.variants["lmi"].enabled is False
    assert config.variants["tgi"].max_batch_total_tokens is None


def test_rejects_instance_type_without_gpu_facts():
    line = fails(variants__tgi__instance_type="ml.g9.12xlarge")
    assert "variants.tgi.instance_type = 'ml.g9.12xlarge': no GPU facts" in line and "ml.g5.12xlarge" in line


def test_rejects_instance_type_without_gpu():
    assert "variants.lmi.instance_type = 'ml.m5.xlarge': has no GPU" in fails(variants__lmi__instance_type="ml.m5.xlarge")


def test_rejects_sm_num_gpus_above_instance_gpus():
    line = fails(variants__tgi__num_gpus="8")
    assert "variants.tgi.num_gpus = 8: SM_NUM_GPUS must be 1..4 (ml.g5.12xlarge has 4 GPUs)" in line


def test_rejects_sm_num_gpus_not_dividing_attention_heads():
    line = fails(variants__tgi__num_gpus="3")
    assert "variants.tgi.num_gpus = 3: SM_NUM_GPUS must divide 40, the attention heads of meta-llama/Llama-2-13b-chat-hf" in line


def test_rejects_tp_degree_above_gpu_count():
    line = fails(variants__lmi__options__tensor_parallel_degree="8")
    assert (
        "variants.lmi.options.tensor_parallel_degree = '8': tensor_parallel_degree (or max) must be 1..4 (ml.g5.12xlarge has 4 GPUs)"
        in line
    )


def test_rejects_tp_degree_not_dividing_attention_heads():
    line = fails(variants__lmi__instance_type="ml.g5.48xlarge", variants__lmi__options__tensor_parallel_degree="3")
    assert "tensor_parallel_degree = '3': tensor_parallel_degree (or max) must divide 40" in line


def test_rejects_input_tokens_not_below_total_tokens():
    line = fails(variants__tgi__max_input_tokens="4096")
    assert "variants.tgi.max_input_tokens = 4096: must be less than max_total_tokens (4096)" in line


def test_rejects_batch_total_below_total_tokens():
    line = fails(variants__tgi__max_batch_total_tokens="2048")
    assert "variants.tgi.max_batch_total_tokens = 2048: must be at least max_total_tokens (4096)" in line


def test_accepts_batch_total_equal_to_total_tokens():
    assert load_config(ctx(variants__tgi__max_batch_total_tokens="4096")).variants["tgi"].max_batch_total_tokens == 4096


def test_rejects_total_tokens_beyond_model_context():
    line = fails(variants__tgi__max_total_tokens="8192", variants__tgi__max_batch_total_tokens="16384")
    assert "variants.tgi.max_total_tokens = 8192: at most 4096" in line


@pytest.mark.parametrize("field", ["model_data_download_timeout_in_seconds", "container_startup_health_check_timeout_in_seconds"])
@pytest.mark.parametrize("value", ["59", "3601"])
def test_rejects_timeouts_outside_60_to_3600(field, value):
    assert f"variants.tgi.{field} = {value}: 60..3600 seconds" in fails(**{f"variants__tgi__{field}": value})


@pytest.mark.parametrize("value", ["60", "3600"])
def test_accepts_timeouts_at_the_bounds(value):
    config = load_config(ctx(variants__tgi__container_startup_health_check_timeout_in_seconds=value))
    assert config.variants["tgi"].container_startup_health_check_timeout_in_seconds == int(value)


def test_rejects_image_version_not_in_registry_table():
    line = fails(variants__tgi__image__version="9.9.9")
    assert "variants.tgi.image.version = '9.9.9'" in line and "known: 1.0.3, 3.3.6" in line


def test_rejects_image_version_unknown_in_region():
    # djl-lmi 0.38.0 is listed in 44 regions; the SDK registry has no me-west-1 row for it.
    line = fails(profile="llama2-13b-current", region="me-west-1")
    assert "region = 'me-west-1': djl-lmi 0.38.0 has no image in this region" in line


def test_rejects_framework_of_other_container():
    line = fails(variants__tgi__image__framework="djl-lmi", variants__tgi__image__version="0.38.0")
    assert "variants.tgi.image.framework = 'djl-lmi': the tgi engine runs huggingface-llm" in line


def test_rejects_lmi_dist_on_vllm_era_lmi():
    line = fails(profile="llama2-13b-current", variants__lmi__options__rolling_batch="lmi-dist")
    assert (
        "variants.lmi.options.rolling_batch = 'lmi-dist'" in line
        and "(vLLM era, LMI v15+) accepts rolling_batch auto, disable, vllm" in line
    )


def test_rejects_engine_mpi_on_vllm_era_lmi():
    # The seed file (engine=MPI, lmi-dist) on a current image: both problems, one line each.
    lines = problems(**ctx(profile="llama2-13b-current", variants__lmi__serving_properties="lmi/llama2-13b-seed/serving.properties"))
    assert any("serving.properties engine = 'MPI': djl-lmi 0.38.0 (vLLM era, LMI v15+) runs engine Python" in line for line in lines)
    assert any("option.rolling_batch = 'lmi-dist'" in line for line in lines)


def test_rejects_vllm_async_mode_on_lmi_0_25():
    lines = problems(**ctx(variants__lmi__serving_properties="lmi/current/serving.properties"))
    assert any("option.async_mode = 'true': async mode needs djl-lmi >= 0.33.0" in line for line in lines)
    assert any("option.max_model_len = '4096': not read by djl-deepspeed 0.25.0" in line for line in lines)


def test_rejects_max_input_length_on_tgi_3():
    line = fails(profile="llama2-13b-current", variants__tgi__environment__MAX_INPUT_LENGTH="2048")
    assert "variants.tgi.environment.MAX_INPUT_LENGTH = '2048': not read by huggingface-llm 3.3.6 (it reads MAX_INPUT_TOKENS)" in line


def test_rejects_max_input_tokens_on_tgi_1():
    line = fails(variants__tgi__environment__MAX_INPUT_TOKENS="2048")
    assert "MAX_INPUT_TOKENS = '2048': not read by huggingface-llm 1.0.3 (it reads MAX_INPUT_LENGTH)" in line


def test_rejects_option_model_id_in_serving_properties():
    line = fails(variants__lmi__options__model_id="s3://some-bucket/weights/")
    assert "variants.lmi.options.model_id" in line and "OPTION_MODEL_ID" in line


@pytest.mark.parametrize("field,value", [("kms_key_arn", "arn:aws:kms:us-east-1:111122223333:key/abcd-1234"), ("volume_size_in_gb", "100")])
@pytest.mark.parametrize("instance_type", ["ml.g5.12xlarge", "ml.p4d.24xlarge"])
def test_rejects_volume_settings_on_nvme_families(field, value, instance_type):
    line = fails(**{"variants__tgi__instance_type": instance_type, f"variants__tgi__{field}": value})
    family = instance_type.split(".")[1]
    expected = {
        "kms_key_arn": f"has no effect on {family} instances: their NVMe instance storage is encrypted by a hardware module",
        "volume_size_in_gb": f"SageMaker refuses a volume size on {family} instances",
    }[field]
    assert f"variants.tgi.{field}" in line and expected in line and line.endswith("leave it unset")


def test_accepts_volume_settings_on_ebs_families():
    config = load_config(ctx(variants__tgi__instance_type="ml.p3.8xlarge", variants__tgi__volume_size_in_gb="200"))
    assert config.variants["tgi"].volume_size_in_gb == 200


def test_rejects_hub_token_in_environment_without_echoing_it():
    line = fails(variants__tgi__environment__HF_TOKEN=FAKE_HF_TOKEN)
    assert "variants.tgi.environment.HF_TOKEN = '<redacted>': secrets are not accepted as plain values" in line
    assert FAKE_HF_TOKEN not in line


def test_rejects_token_shaped_value_under_any_name():
    line = fails(variants__lmi__environment__SOME_SETTING=FAKE_HF_TOKEN)
    assert "<redacted>" in line and FAKE_HF_TOKEN not in line


def test_rejects_token_given_as_secret_reference():
    line = fails(variants__tgi__hub_token_secret=FAKE_HF_TOKEN)
    assert "variants.tgi.hub_token_secret = '<redacted>': looks like a token value" in line
    assert FAKE_HF_TOKEN not in line


def test_accepts_secret_arn_reference():
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:hf/read-token-AbCdEf"
    assert load_config(ctx(variants__tgi__hub_token_secret=arn)).variants["tgi"].hub_token_secret == arn


def test_rejects_gated_model_without_token_reference():
    line = fails(variants__tgi__hub_token_secret="none")
    assert "variants.tgi.hub_token_secret = None: meta-llama/Llama-2-13b-chat-hf is gated" in line and "model.public=true" in line


def test_public_model_needs_no_token_reference():
    config = load_config(ctx(variants__tgi__hub_token_secret="none", model__public="true"))
    assert config.variants["tgi"].hub_token_secret is None


@pytest.mark.parametrize("name", ["-starts-with-hyphen", "has_underscore", "x" * 64])
def test_rejects_endpoint_name_outside_sagemaker_pattern(name):
    assert f"variants.tgi.endpoint_name = '{name}': 1-63 letters, digits and hyphens" in fails(variants__tgi__endpoint_name=name)


def test_accepts_endpoint_name_in_pattern():
    assert load_config(ctx(variants__tgi__endpoint_name="llama2-13b-tgi")).variants["tgi"].endpoint_name == "llama2-13b-tgi"


def test_unknown_model_needs_its_facts():
    lines = problems(**ctx(model__id="acme/unknown-7b", model__public="true"))
    assert any("model.num_layers = None: no facts for acme/unknown-7b" in line for line in lines)


def test_disabled_variant_is_not_validated():
    config = load_config(ctx(variants__lmi__enabled="false", variants__lmi__instance_type="ml.m5.xlarge"))
    assert list(config.enabled_variants()) == ["tgi"]


def test_reports_every_problem_at_once():
    lines = problems(**ctx(variants__tgi__num_gpus="8", variants__lmi__model_data_download_timeout_in_seconds="10", region="nowhere"))
    assert len(lines) == 3


def test_rejects_lmi_loading_timeout_beyond_the_health_check_timeout():
    line = fails(variants__lmi__container_startup_health_check_timeout_in_seconds="600")
    assert "option.model_loading_timeout = 900: at most the start-up health-check timeout (600 s)" in line


def test_rejects_serving_properties_outside_model_artifacts():
    for path in ("/etc/os-release", "../README.md"):
        assert f"variants.lmi.serving_properties = '{path}': no such file below model_artifacts/" in fails(
            variants__lmi__serving_properties=path
        )


def test_map_given_as_json_then_extended_by_a_dotted_key():
    config = load_config({"variants.tgi.environment": '{"A": "1"}', "variants.tgi.environment.B": "2"})
    assert config.variants["tgi"].environment == {"A": "1", "B": "2"}


def test_rejects_a_map_that_is_not_json():
    line = fails(variants__tgi__environment="A=1")
    assert "variants.tgi.environment = 'A=1': must be a map of names to values" in line


def test_colon_typo_in_our_key_is_not_taken_for_a_cdk_key():
    assert "variants.tgi:num_gpus" in fails(**{"variants.tgi:num_gpus": "8"})


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0660", "-4", "four"])
def test_rejects_non_ascii_or_non_positive_numbers_in_options(value):
    value = value.encode().decode("unicode_escape")
    lines = problems(**ctx(variants__lmi__options__max_rolling_batch_size=value))
    assert any(f"variants.lmi.options.max_rolling_batch_size = {value!r}: must be a positive whole number" in line for line in lines)


def test_rejects_secret_in_lmi_options_without_echoing_it():
    line = fails(variants__lmi__options__hf_token=FAKE_HF_TOKEN)
    assert "variants.lmi.options.hf_token = '<redacted>'" in line and FAKE_HF_TOKEN not in line


@pytest.mark.parametrize("name", ["HF_MODEL_ID", "TENSOR_PARALLEL_DEGREE"])
def test_rejects_lmi_environment_that_bypasses_typed_settings(name):
    assert f"variants.lmi.environment.{name}" in fails(**{f"variants__lmi__environment__{name}": "x"})


@pytest.mark.parametrize("name", ["MODEL_ID", "NUM_SHARD", "REVISION"])
def test_rejects_tgi_environment_that_bypasses_typed_settings(name):
    assert f"variants.tgi.environment.{name}" in fails(**{f"variants__tgi__environment__{name}": "x"})


def test_rejects_weights_that_do_not_fit_the_gpus_used():
    line = fails(variants__tgi__instance_type="ml.g4dn.xlarge", variants__tgi__num_gpus="1")
    assert "variants.tgi.num_gpus = 1: 26.0 GB of weights do not fit 16 GiB on 1 GPU(s)" in line


@pytest.mark.parametrize(
    "key,value",
    [("sizing.runtime_overhead_gib_per_gpu", "nan"), ("sizing.gpu_memory_utilization", "0.01"), ("model.num_parameters", "inf")],
)
def test_rejects_nan_infinite_and_absurd_numbers(key, value):
    assert f"{key} = " in only(**{key: value})


@pytest.mark.parametrize("prefix", ["models/*", "a//b", "a/../b", "./x", "with space/"])
def test_rejects_unsafe_weights_prefix(prefix):
    assert f"weights.s3_prefix = {prefix!r}" in only(**{"weights.s3_prefix": prefix})


@pytest.mark.parametrize("revision", ["", "a b", "../main"])
def test_rejects_bad_revision(revision):
    assert f"model.revision = {revision!r}" in only(**{"model.revision": revision})


def test_accepts_commit_revision_and_uses_it_in_the_prefix():
    config = load_config({"model.revision": "0ba94ac9b9e1d5a0037780667e8b219adde1908c"})
    assert config.weights_s3_prefix() == "models/meta-llama/Llama-2-13b-chat-hf/0ba94ac9b9e1d5a0037780667e8b219adde1908c/"


def test_rejects_autoscaling_min_above_max():
    lines = problems(
        **ctx(
            variants__tgi__autoscaling__enabled="true",
            variants__tgi__autoscaling__min_capacity="3",
            variants__tgi__autoscaling__max_capacity="2",
        )
    )
    assert "config error: variants.tgi.autoscaling.min_capacity = 3: 1..max_capacity (2)" in lines


def test_rejects_unknown_scaling_metric():
    assert "variants.lmi.autoscaling.metric = 'gpu': one of concurrent-requests, invocations" in fails(
        variants__lmi__autoscaling__enabled="true", variants__lmi__autoscaling__metric="gpu"
    )


def test_rejects_alarm_percentages_and_topic():
    lines = problems(**ctx(variants__tgi__alarms__disk_utilization_percent="150", variants__tgi__alarms__topic_arn="ops-alerts"))
    assert any("variants.tgi.alarms.disk_utilization_percent = 150.0: a percentage in (0, 100]" in line for line in lines)
    assert any("variants.tgi.alarms.topic_arn = 'ops-alerts': an SNS topic ARN" in line for line in lines)


def test_rejects_an_empty_model_id_by_name():
    assert only(**{"model.id": ""}) == ("config error: model.id = '': a Hugging Face hub model id like meta-llama/Llama-2-13b-chat-hf")


def test_rejects_zero_max_capacity_by_name():
    lines = problems(**ctx(variants__tgi__autoscaling__enabled="true", variants__tgi__autoscaling__max_capacity="0"))
    assert lines == ["config error: variants.tgi.autoscaling.max_capacity = 0: at least 1 instance"]


@pytest.mark.parametrize("period", ["10", "20", "30", "60", "300"])
def test_accepts_cloudwatch_alarm_periods(period):
    assert load_config(ctx(variants__tgi__alarms__period_in_seconds=period)).variants["tgi"].alarms.period_in_seconds == int(period)


@pytest.mark.parametrize("period", ["0", "15", "45", "90"])
def test_rejects_other_alarm_periods(period):
    assert fails(variants__tgi__alarms__period_in_seconds=period) == (
        f"config error: variants.tgi.alarms.period_in_seconds = {period}: 10, 20, 30 or a multiple of 60"
    )


def test_alarm_evaluation_is_at_most_a_day_for_periods_under_an_hour():
    assert load_config(ctx(variants__tgi__alarms__period_in_seconds="900", variants__tgi__alarms__evaluation_periods="96"))
    assert fails(variants__tgi__alarms__period_in_seconds="900", variants__tgi__alarms__evaluation_periods="97") == (
        "config error: variants.tgi.alarms.evaluation_periods = 97: at most 96 with a period of 900 s (CloudWatch evaluates at most 1 day(s))"
    )


def test_alarm_evaluation_is_at_most_seven_days_for_hourly_periods():
    assert load_config(ctx(variants__tgi__alarms__period_in_seconds="3600", variants__tgi__alarms__evaluation_periods="100"))
    assert "at most 84 with a period of 7200 s" in fails(
        variants__tgi__alarms__period_in_seconds="7200", variants__tgi__alarms__evaluation_periods="85"
    )


@pytest.mark.parametrize("timeout", ["600", "28800"])
def test_accepts_blue_green_timeouts_sagemaker_allows(timeout):
    config = load_config(
        ctx(
            variants__tgi__deployment__maximum_execution_timeout_in_seconds=timeout,
            variants__tgi__deployment__wait_interval_in_seconds="0",
            variants__tgi__deployment__termination_wait_in_seconds="0",
        )
    )
    assert config.variants["tgi"].deployment.maximum_execution_timeout_in_seconds == int(timeout)


@pytest.mark.parametrize("timeout", ["599", "28801"])
def test_rejects_blue_green_timeouts_outside_sagemakers_range(timeout):
    assert fails(variants__tgi__deployment__maximum_execution_timeout_in_seconds=timeout) == (
        f"config error: variants.tgi.deployment.maximum_execution_timeout_in_seconds = {timeout}: 600..28800 seconds"
    )


def test_rejects_a_blue_green_timeout_shorter_than_its_waits():
    # Defaults: 600 s bake + 300 s termination wait.
    assert fails(variants__lmi__deployment__maximum_execution_timeout_in_seconds="900") == (
        "config error: variants.lmi.deployment.maximum_execution_timeout_in_seconds = 900: more than wait_interval_in_seconds"
        " + termination_wait_in_seconds (900 s), plus the time a new fleet takes to start"
    )


# app_name starts the stack, bucket and role names (tests/test_app_name.py: the names themselves).


@pytest.mark.parametrize("name", ["Team-A", "team_a", "-team", "team-", "team--a", "9team", "a" * 13, "team a"])
def test_rejects_app_names_that_cannot_start_every_name(name):
    message = fails(app_name=name)
    assert message.startswith(f"config error: app_name = {name!r}: lowercase letters and digits in words joined by single hyphens")
    assert "at most 12 characters" in message


@pytest.mark.parametrize("name", ["a", "team-a", "t2", "abcdefghijkl", "a1-b2-c3"])
def test_accepts_app_names_within_the_limits(name):
    assert load_config(ctx(app_name=name)).bucket_name_prefix() == f"{name}-llm-models"


def test_rejects_an_app_name_whose_bucket_name_would_be_too_long():
    # 12 + 1 + 22 = 35 characters before -<account>-<region>: one more than S3's 63 allows.
    message = fails(app_name="abcdefghijkl", bucket__name_prefix="b" * 22)
    assert message == (
        "config error: app_name = 'abcdefghijkl': with bucket.name_prefix 'bbbbbbbbbbbbbbbbbbbbbb' the bucket name starts "
        "'abcdefghijkl-bbbbbbbbbbbbbbbbbbbbbb' (35 characters): at most 34 keep it within S3's 63 with -<account>-<region>"
    )
    assert load_config(ctx(app_name="abcdefghijkl", bucket__name_prefix="b" * 21)).bucket_name_prefix() == "abcdefghijkl-" + "b" * 21


def test_deployment_names_fit_the_names_derived_from_them():
    image = {"image.framework": "vllm", "image.version": "0.30.0", "model.id": "Qwen/Qwen3-14B", "engine": "vllm"}

    def deployment(name: str) -> dict[str, str]:
        return {f"variants.{name}.{key}": value for key, value in image.items()}

    longest = "a" * 24
    config = load_config({**deployment(longest), "app_name": "a" * 12})
    assert len(f"{'a' * 12}-llm-smoke-test-prod-{longest}") <= 64  # the longest role the name starts
    assert list(config.variants)[-1] == longest
    for bad in ("a" * 25, "Qwen", "qwen_vllm", "qwen--vllm", "-qwen", "qwen-", "1qwen"):
        with pytest.raises(ConfigError, match=rf"variants.{re.escape(bad)} = '{re.escape(bad)}': a deployment name is lowercase"):
            load_config(deployment(bad))
    with pytest.raises(ConfigError, match="variants.x1 = 'x1': derives the stack id LlmEndpointX1, as deployment 'x-1' does; rename one"):
        load_config({**deployment("x-1"), **deployment("x1")})


def test_an_inherited_value_that_no_longer_fits_says_how_to_clear_it():
    # The seed profile sets num_gpus=4 and a token secret; a user changes something else.
    smaller = fails(variants__tgi__instance_type="ml.g5.2xlarge")
    assert (
        "variants.tgi.num_gpus = 4: SM_NUM_GPUS must be 1..1 (ml.g5.2xlarge has 1 GPUs); -c variants.tgi.num_gpus=none uses all of the instance's GPUs"
        in smaller
    )
    staged = fails(variants__tgi__weights_loading="s3")
    assert "remove it, or clear a profile's value with -c variants.tgi.hub_token_secret=none" in staged
    cleared = load_config(ctx(variants__tgi__weights_loading="s3", variants__tgi__hub_token_secret="none"))
    assert cleared.variants["tgi"].hub_token_secret is None
