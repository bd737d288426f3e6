"""The engines as data: environment, secrets, model data and serving limits (no synth)."""

from __future__ import annotations

import dataclasses
import tarfile

import pytest

from blueprint.config.facts import instance_facts, model_facts
from blueprint.config.settings import ImageSettings, ModelSettings
from blueprint.engines import lmi, tgi
from blueprint.engines.container_spec import MODEL_DIR, SecretReference
from blueprint.engines.lmi import LmiSettings
from blueprint.engines.tgi import TgiSettings
from blueprint.images.image_catalog import find_image

G5_12 = instance_facts("ml.g5.12xlarge")  # 4 GPUs
MODEL = model_facts(ModelSettings())
WEIGHTS = "s3://bucket/models/x/main/"


@pytest.mark.parametrize(
    ("version", "max_input", "hub_token"),
    [
        ("1.0.3", "MAX_INPUT_LENGTH", "HUGGING_FACE_HUB_TOKEN"),
        ("2.0.0", "MAX_INPUT_TOKENS", "HUGGING_FACE_HUB_TOKEN"),
        ("2.0.2", "MAX_INPUT_TOKENS", "HUGGING_FACE_HUB_TOKEN"),
        ("2.1.0", "MAX_INPUT_TOKENS", "HF_TOKEN"),
        ("3.3.6", "MAX_INPUT_TOKENS", "HF_TOKEN"),
    ],
)
def test_tgi_environment_names_by_image_version(version, max_input, hub_token):
    names = tgi.env_names(version)
    assert (names.max_input, names.hub_token) == (max_input, hub_token)
    assert {names.max_input, names.legacy_max_input} == {"MAX_INPUT_TOKENS", "MAX_INPUT_LENGTH"}
    assert {names.hub_token, names.legacy_hub_token} == {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}


def tgi_settings(**changes: object) -> TgiSettings:
    return dataclasses.replace(TgiSettings(image=ImageSettings("huggingface-llm", "2.1.0")), **changes)


def test_tgi_hub_container_from_the_recipe():
    image = find_image("huggingface-llm", "1.0.3")
    spec = tgi.container_spec(
        tgi_settings(image=ImageSettings("huggingface-llm", "1.0.3"), hub_token_secret="hf/token"), image, G5_12, WEIGHTS
    )
    assert spec.image is image
    assert dict(spec.environment) == {"HF_MODEL_ID": "meta-llama/Llama-2-13b-chat-hf", "SM_NUM_GPUS": "4"}
    assert dict(spec.secret_environment) == {"HUGGING_FACE_HUB_TOKEN": SecretReference("hf/token", None)}
    assert (spec.reads_staged_weights, spec.mounts_staged_weights, spec.model_data_archive) == (False, False, None)


def test_tgi_limits_revision_extra_environment_and_json_field_secret():
    settings = tgi_settings(
        num_gpus=2,
        max_input_tokens=1000,
        max_total_tokens=2000,
        max_batch_total_tokens=None,
        environment={"X": "1"},
        hub_token_secret="s",
        hub_token_secret_json_field="token",
        model=ModelSettings(revision="abc123"),
    )
    spec = tgi.container_spec(settings, find_image("huggingface-llm", "2.1.0"), G5_12, WEIGHTS)
    assert dict(spec.environment) == {
        "HF_MODEL_ID": "meta-llama/Llama-2-13b-chat-hf",
        "SM_NUM_GPUS": "2",
        "HF_MODEL_REVISION": "abc123",
        "MAX_INPUT_TOKENS": "1000",
        "MAX_TOTAL_TOKENS": "2000",
        "X": "1",
    }
    assert dict(spec.secret_environment) == {"HF_TOKEN": SecretReference("s", "token")}


def test_tgi_without_a_secret_has_no_secret_environment():
    spec = tgi.container_spec(tgi_settings(max_batch_total_tokens=8000), find_image("huggingface-llm", "2.1.0"), G5_12, WEIGHTS)
    assert dict(spec.secret_environment) == {}
    assert spec.environment["MAX_BATCH_TOTAL_TOKENS"] == "8000"


def test_tgi_staged_weights_are_mounted_and_need_no_token_or_revision():
    settings = tgi_settings(weights_loading="s3")
    image = find_image("huggingface-llm", "2.1.0")
    spec = tgi.container_spec(dataclasses.replace(settings, model=ModelSettings(revision="abc")), image, G5_12, WEIGHTS)
    assert spec.image is image
    assert dict(spec.environment) == {"HF_MODEL_ID": MODEL_DIR, "SM_NUM_GPUS": "4"}
    assert (spec.reads_staged_weights, spec.mounts_staged_weights, dict(spec.secret_environment)) == (True, True, {})


def test_tgi_serving_limits():
    auto = tgi.serving_limits("variants.tgi", tgi_settings(), G5_12, MODEL)
    assert (auto.gpus_used, auto.batch_token_limit, auto.note) == (4, None, None)
    assert auto.token_summary == "input auto, total auto, batch total auto"
    assert auto.batch_limit_label == auto.batch_limit_setting == "variants.tgi.max_batch_total_tokens"
    fixed = tgi.serving_limits(
        "variants.tgi", tgi_settings(num_gpus=2, max_input_tokens=1024, max_total_tokens=4096, max_batch_total_tokens=16384), G5_12, MODEL
    )
    assert (fixed.gpus_used, fixed.batch_token_limit) == (2, 16384)
    assert fixed.token_summary == "input 1,024, total 4,096, batch total 16,384"
    assert fixed.note and "warm-up" in fixed.note


def test_tgi_hub_token_secret_rules():
    def problems(**changes: object) -> list[tuple[str, object]]:
        found = tgi.validate("variants.tgi", tgi_settings(**changes), G5_12, MODEL)
        assert all(p.allowed for p in found)
        return [(p.path, p.value) for p in found]

    assert problems(hub_token_secret="hf/token") == []
    assert problems(hub_token_secret=f"arn:aws:secretsmanager:us-east-1:{'1' * 12}:secret:hf-AbCdEf") == []
    assert problems(weights_loading="s3", hub_token_secret="hf/token") == [("variants.tgi.hub_token_secret", "hf/token")]
    assert problems(weights_loading="s3") == []
    assert problems(hub_token_secret="bad name!") == [("variants.tgi.hub_token_secret", "bad name!")]
    assert problems(hub_token_secret="x" * 513) == [("variants.tgi.hub_token_secret", "x" * 513)]
    assert problems() == [("variants.tgi.hub_token_secret", None)]  # gated, no token
    assert [
        p.path for p in tgi.validate("variants.tgi", dataclasses.replace(tgi_settings(), model=ModelSettings(public=True)), G5_12, MODEL)
    ] == []


@pytest.mark.parametrize(
    ("inp", "total", "batch", "paths"),
    [
        (None, None, None, []),
        (0, None, None, ["max_input_tokens"]),
        (None, 0, None, ["max_total_tokens"]),
        (None, None, 0, ["max_batch_total_tokens"]),
        (1, 2, 2, []),
        (2, 2, None, ["max_input_tokens"]),
        (3, 2, None, ["max_input_tokens"]),
        (None, 3, 2, ["max_batch_total_tokens"]),
        (None, 3, 3, []),
        (None, 4097, None, ["max_total_tokens"]),
    ],
)
def test_tgi_token_limits(inp, total, batch, paths):
    settings = tgi_settings(max_input_tokens=inp, max_total_tokens=total, max_batch_total_tokens=batch, hub_token_secret="t")
    found = tgi.validate("variants.tgi", settings, G5_12, MODEL)
    assert [p.path.removeprefix("variants.tgi.") for p in found] == paths


def test_tgi_environment_names_it_manages_by_version():
    def paths(version: str, env: dict[str, str]) -> list[str]:
        settings = tgi_settings(image=ImageSettings("huggingface-llm", version), environment=env, hub_token_secret="t")
        return [p.path for p in tgi.validate("variants.tgi", settings, G5_12, MODEL)]

    for name in (
        "HF_MODEL_ID",
        "MODEL_ID",
        "HF_MODEL_REVISION",
        "REVISION",
        "SM_NUM_GPUS",
        "NUM_SHARD",
        "MAX_TOTAL_TOKENS",
        "MAX_BATCH_TOTAL_TOKENS",
        "MAX_INPUT_TOKENS",
        "MAX_INPUT_LENGTH",
    ):
        assert paths("2.1.0", {name: "1"}) == [f"variants.tgi.environment.{name}"], name
    assert paths("2.1.0", {"OTHER": "1"}) == []


# --- LMI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("framework", "version", "engines", "batches", "async_mode", "max_model_len"),
    [
        (
            "djl-deepspeed",
            "0.25.0",
            {"MPI", "Python", "DeepSpeed"},
            {"auto", "scheduler", "lmi-dist", "vllm", "disable", "deepspeed"},
            False,
            False,
        ),
        ("djl-lmi", "0.26.0", {"MPI", "Python"}, {"auto", "scheduler", "lmi-dist", "vllm", "disable"}, False, True),
        ("djl-lmi", "0.32.9", {"MPI", "Python"}, {"auto", "scheduler", "lmi-dist", "vllm", "disable"}, False, True),
        ("djl-lmi", "0.33.0", {"Python"}, {"auto", "vllm", "disable"}, True, True),
        (
            "djl-deepspeed",
            "0.33.0",
            {"MPI", "Python", "DeepSpeed"},
            {"auto", "scheduler", "lmi-dist", "vllm", "disable", "deepspeed"},
            False,
            True,
        ),
    ],
)
def test_lmi_generations(framework, version, engines, batches, async_mode, max_model_len):
    gen = lmi.generation(framework, version)
    assert (set(gen.engines), set(gen.rolling_batches), gen.async_mode, gen.max_model_len) == (engines, batches, async_mode, max_model_len)
    assert f"{framework} {version}" in gen.description


def test_whole_numbers_and_the_tensor_parallel_degree():
    assert [lmi.whole_number(v) for v in ("1", "32", "0", "-1", "²", "١٠", "1.5", "", None, " 3")] == [
        1,
        32,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert lmi.tensor_parallel_degree({}, G5_12) == 4
    assert lmi.tensor_parallel_degree({"option.tensor_parallel_degree": "max"}, G5_12) == 4
    assert lmi.tensor_parallel_degree({"option.tensor_parallel_degree": "2"}, G5_12) == 2
    assert lmi.tensor_parallel_degree({"option.tensor_parallel_degree": "two"}, G5_12) is None


def test_properties_file_must_be_a_file_below_model_artifacts():
    assert lmi.properties_file(LmiSettings()) == lmi.MODEL_ARTIFACTS / "lmi/llama2-13b-seed/serving.properties"
    for outside in ("../README.md", "lmi/llama2-13b-seed", "lmi/none/serving.properties"):
        assert lmi.properties_file(LmiSettings(serving_properties=outside)) is None, outside


def test_lmi_environment_for_mounted_weights():
    env = lmi.environment_configuration(
        {"engine": "MPI", "option.rolling_batch": "lmi-dist", "option.max_rolling_batch_size": "8", "other": "x"}
    )
    assert env == {
        "SERVING_LOAD_MODELS": f"model::MPI={MODEL_DIR}",
        "OPTION_MODEL_ID": MODEL_DIR,
        "OPTION_ROLLING_BATCH": "lmi-dist",
        "OPTION_MAX_ROLLING_BATCH_SIZE": "8",
        "OPTION_ENGINE": "MPI",
    }
    assert lmi.environment_configuration({}) == {"SERVING_LOAD_MODELS": f"model::Python={MODEL_DIR}", "OPTION_MODEL_ID": MODEL_DIR}


def test_lmi_container_with_a_code_archive_or_mounted_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(lmi, "BUILD_DIR", tmp_path)  # a fresh archive, not one an earlier synth left
    image = find_image("djl-deepspeed", "0.25.0")
    settings = LmiSettings(image=ImageSettings("djl-deepspeed", "0.25.0"), environment={"X": "1"})
    spec = lmi.container_spec(settings, image, G5_12, WEIGHTS)
    assert dict(spec.environment) == {"OPTION_MODEL_ID": WEIGHTS, "X": "1"}
    assert spec.model_data_archive is not None and spec.model_data_archive.path.is_file()
    assert spec.image is image
    assert spec.model_data_archive.path.is_relative_to(tmp_path)
    with tarfile.open(spec.model_data_archive.path) as archive:
        assert [m.name for m in archive.getmembers()][-1].endswith("serving.properties")
    assert spec.model_data_archive.content_hash.startswith(spec.model_data_archive.path.parent.name)
    assert (spec.reads_staged_weights, spec.mounts_staged_weights) == (True, False)
    mounted = lmi.container_spec(dataclasses.replace(settings, weights_loading="s3"), image, G5_12, WEIGHTS)
    assert mounted.model_data_archive is None and mounted.image is image
    assert (mounted.reads_staged_weights, mounted.mounts_staged_weights) == (True, True)
    assert mounted.environment["OPTION_MODEL_ID"] == MODEL_DIR and mounted.environment["X"] == "1"
    assert mounted.environment["OPTION_ROLLING_BATCH"] == "lmi-dist"


def test_lmi_serving_limits_from_the_file_or_the_model_context():
    seed = lmi.serving_limits("variants.lmi", LmiSettings(), G5_12, MODEL)
    assert (seed.gpus_used, seed.batch_token_limit) == (4, 64 * 4096)
    assert seed.batch_limit_label == "option.max_rolling_batch_size 64 x 4096 tokens"
    assert seed.token_summary == "model context 4,096, up to 64 sequences in a rolling batch"
    options = {"max_model_len": "2048", "tensor_parallel_degree": "2"}
    own = lmi.serving_limits("variants.lmi", LmiSettings(options=options), G5_12, MODEL)
    assert (own.gpus_used, own.batch_token_limit) == (2, 64 * 2048)
    assert own.token_summary.startswith("max model length 2,048")


def minimal_properties(tmp_path, monkeypatch, text: str) -> LmiSettings:
    """A reviewed serving.properties of the test's own, below a model_artifacts/ of its own."""
    monkeypatch.setattr(lmi, "MODEL_ARTIFACTS", tmp_path)
    (tmp_path / "minimal").mkdir()
    (tmp_path / "minimal/serving.properties").write_text(text)
    lmi._read_properties.cache_clear()  # files are read once per name: this name is reused
    return LmiSettings(image=ImageSettings("djl-deepspeed", "0.25.0"), serving_properties="minimal/serving.properties")


def test_lmi_serving_limits_default_to_djl_servings_batch_size_and_all_gpus(tmp_path, monkeypatch):
    settings = minimal_properties(tmp_path, monkeypatch, "engine=MPI\noption.rolling_batch=lmi-dist\n")
    limits = lmi.serving_limits("variants.lmi", settings, instance_facts("ml.g5.48xlarge"), MODEL)
    assert (limits.gpus_used, limits.batch_token_limit) == (8, lmi.DEFAULT_MAX_ROLLING_BATCH_SIZE * 4096)


def test_lmi_file_without_a_tensor_parallel_degree_shards_across_all_gpus(tmp_path, monkeypatch):
    settings = minimal_properties(tmp_path, monkeypatch, "engine=MPI\n")
    assert lmi.validate("variants.lmi", settings, G5_12, MODEL) == []
    # "max" is judged as the GPU count: Llama 2 13B's weights do not fit one 16 GB GPU.
    [problem] = lmi.validate("variants.lmi", settings, instance_facts("ml.p3.2xlarge"), MODEL)
    assert (problem.path, problem.value) == ("minimal/serving.properties option.tensor_parallel_degree", "max")


def test_lmi_unreadable_file_is_one_problem_naming_it(tmp_path, monkeypatch):
    settings = minimal_properties(tmp_path, monkeypatch, "engine=MPI\nno equals sign here\n")
    [problem] = lmi.validate("variants.lmi", settings, G5_12, MODEL)
    assert (problem.path, problem.value) == ("variants.lmi.serving_properties", "minimal/serving.properties")
    assert "no equals sign here" in problem.allowed or "line 2" in problem.allowed


def test_lmi_vllm_async_entry_point_needs_a_vllm_era_image(tmp_path, monkeypatch):
    settings = minimal_properties(tmp_path, monkeypatch, "engine=Python\noption.entryPoint=djl_python.lmi_vllm.vllm_async_service\n")
    [problem] = lmi.validate("variants.lmi", settings, G5_12, MODEL)
    assert (problem.path, problem.value) == ("minimal/serving.properties option.entryPoint", "djl_python.lmi_vllm.vllm_async_service")
    assert "0.33.0" in problem.allowed
    # A file without an entry point, an async mode or a rolling batch takes the defaults: accepted.
    assert lmi.validate("variants.lmi", dataclasses.replace(settings, options={"entryPoint": "djl_python.huggingface"}), G5_12, MODEL) == []


def test_lmi_model_id_in_the_file_is_refused_with_its_value(tmp_path, monkeypatch):
    settings = minimal_properties(tmp_path, monkeypatch, "engine=MPI\noption.model_id=s3://x/y\n")
    found = lmi.validate("variants.lmi", settings, G5_12, MODEL)
    assert [(p.path, p.value) for p in found] == [("minimal/serving.properties option.model_id", "s3://x/y")]


@pytest.mark.parametrize("key", ["max_rolling_batch_size", "max_model_len", "model_loading_timeout"])
def test_lmi_whole_number_options(tmp_path, monkeypatch, key):
    image = {"image": ImageSettings("djl-lmi", "0.30.0")}  # reads max_model_len
    settings = dataclasses.replace(minimal_properties(tmp_path, monkeypatch, "engine=MPI\n"), **image, options={key: "0"})
    found = lmi.validate("variants.lmi", settings, G5_12, MODEL)
    assert [(p.path, p.value) for p in found] == [(f"variants.lmi.options.{key}", "0")]


def test_lmi_max_model_len_beyond_the_model_context(tmp_path, monkeypatch):
    settings = dataclasses.replace(
        minimal_properties(tmp_path, monkeypatch, "engine=MPI\noption.max_model_len=8192\n"), image=ImageSettings("djl-lmi", "0.30.0")
    )
    found = lmi.validate("variants.lmi", settings, G5_12, MODEL)
    assert [(p.path, p.value) for p in found] == [("minimal/serving.properties option.max_model_len", 8192)]


def test_lmi_environment_may_not_set_what_the_file_or_the_app_sets(tmp_path, monkeypatch):
    settings = minimal_properties(tmp_path, monkeypatch, "engine=MPI\noption.rolling_batch=lmi-dist\n")
    for name in ("OPTION_MODEL_ID", "HF_MODEL_ID", "TENSOR_PARALLEL_DEGREE", "SERVING_LOAD_MODELS", "OPTION_ROLLING_BATCH"):
        found = lmi.validate("variants.lmi", dataclasses.replace(settings, environment={name: "x"}), G5_12, MODEL)
        assert [p.path for p in found] == [f"variants.lmi.environment.{name}"], name
        assert found[0].allowed
    assert lmi.validate("variants.lmi", dataclasses.replace(settings, environment={"OPTION_DTYPE": "fp16"}), G5_12, MODEL) == []


def test_lmi_where_names_the_override_or_the_file_key():
    seed_image = ImageSettings("djl-deepspeed", "0.25.0")
    settings = LmiSettings(image=seed_image, options={"rolling_batch": "nope"})
    found = lmi.validate("variants.lmi", settings, G5_12, MODEL)
    assert [(p.path, p.value) for p in found] == [("variants.lmi.options.rolling_batch", "nope")]
    in_file = lmi.validate("variants.lmi", LmiSettings(image=ImageSettings("djl-lmi", "0.33.0")), G5_12, MODEL)
    assert ("lmi/llama2-13b-seed/serving.properties engine", "MPI") in [(p.path, p.value) for p in in_file]


def test_lmi_unknown_file_lists_the_known_ones():
    found = lmi.validate("variants.lmi", LmiSettings(serving_properties="lmi/none/serving.properties"), G5_12, MODEL)
    assert [p.path for p in found] == ["variants.lmi.serving_properties"]
    assert "lmi/llama2-13b-seed/serving.properties" in found[0].allowed and "lmi/current/serving.properties" in found[0].allowed
