"""vLLM and SGLang as data: the SM_<ENGINE>_<FLAG> environment their SageMaker images read, their
checks and serving limits (no synth); and the registry as the one place engines are named."""

from __future__ import annotations

import dataclasses

import pytest

from blueprint.config.facts import instance_facts, model_facts
from blueprint.config.settings import ImageSettings, ModelSettings
from blueprint.engines import sglang, vllm
from blueprint.engines.container_spec import MODEL_DIR, SecretReference
from blueprint.engines.launcher import LauncherEngine
from blueprint.engines.registry import ENGINES
from blueprint.images.image_catalog import find_image

G5_12 = instance_facts("ml.g5.12xlarge")  # 4 x A10G
QWEN = ModelSettings(id="Qwen/Qwen3-14B")
QWEN_FACTS = model_facts(QWEN)  # 40 attention heads, 8 KV heads, 40,960 tokens of context
LLAMA_FACTS = model_facts(ModelSettings())  # gated
WEIGHTS = "s3://bucket/models/x/main/"
VLLM, SGLANG = vllm.ENGINE, sglang.ENGINE


def settings(engine: LauncherEngine, **changes: object):
    image = {"vllm": ImageSettings("vllm", "0.30.0"), "sglang": ImageSettings("sglang", "0.5.20")}[engine.NAME]
    return dataclasses.replace(engine.SETTINGS(engine=engine.NAME, image=image, model=QWEN), **changes)


def spec(engine: LauncherEngine, **changes: object):
    s = settings(engine, **changes)
    return engine.container_spec(s, find_image(s.image.framework, s.image.version), G5_12, WEIGHTS)


def test_vllm_reads_its_flags_as_sm_vllm_environment_with_the_hub_model():
    found = spec(VLLM, max_model_len=8192, max_num_seqs=64, gpu_memory_utilization=0.85, args={"enable_prefix_caching": "true"})
    assert dict(found.environment) == {
        "SM_VLLM_MODEL": "Qwen/Qwen3-14B",
        "SM_VLLM_SERVED_MODEL_NAME": "Qwen/Qwen3-14B",
        "SM_VLLM_TENSOR_PARALLEL_SIZE": "4",  # all of the instance's GPUs by default
        "SM_VLLM_MAX_MODEL_LEN": "8192",
        "SM_VLLM_MAX_NUM_SEQS": "64",
        "SM_VLLM_GPU_MEMORY_UTILIZATION": "0.85",
        "SM_VLLM_ENABLE_PREFIX_CACHING": "true",
    }
    assert (found.secret_environment, found.reads_staged_weights, found.mounts_staged_weights, found.model_data_archive) == (
        {},
        False,
        False,
        None,
    )


def test_sglang_reads_the_same_settings_under_its_own_flag_names():
    found = spec(SGLANG, tensor_parallel_size=2, max_model_len=8192, max_num_seqs=64, gpu_memory_utilization=0.8)
    assert dict(found.environment) == {
        "SM_SGLANG_MODEL_PATH": "Qwen/Qwen3-14B",
        "SM_SGLANG_SERVED_MODEL_NAME": "Qwen/Qwen3-14B",
        "SM_SGLANG_TP_SIZE": "2",
        "SM_SGLANG_CONTEXT_LENGTH": "8192",
        "SM_SGLANG_MAX_RUNNING_REQUESTS": "64",
        "SM_SGLANG_MEM_FRACTION_STATIC": "0.8",
    }


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
def test_unset_limits_are_left_to_the_engine_and_a_pinned_revision_is_passed(engine):
    found = spec(engine, model=dataclasses.replace(QWEN, revision="abc123"), environment={"X": "1"})
    prefix = engine.LAUNCHER.env_prefix
    assert dict(found.environment) == {
        f"{prefix}{engine.LAUNCHER.model.upper()}": "Qwen/Qwen3-14B",
        f"{prefix}SERVED_MODEL_NAME": "Qwen/Qwen3-14B",
        f"{prefix}REVISION": "abc123",
        f"{prefix}{engine.LAUNCHER.tensor_parallel.upper()}": "4",
        "X": "1",
    }


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
def test_staged_weights_are_mounted_without_token_or_revision(engine):
    found = spec(engine, weights_loading="s3", model=dataclasses.replace(QWEN, revision="abc"), hub_token_secret=None)
    assert found.environment[f"{engine.LAUNCHER.env_prefix}{engine.LAUNCHER.model.upper()}"] == MODEL_DIR
    assert found.environment[f"{engine.LAUNCHER.env_prefix}SERVED_MODEL_NAME"] == "Qwen/Qwen3-14B"
    assert not any(name.endswith("REVISION") for name in found.environment)
    assert (found.reads_staged_weights, found.mounts_staged_weights, dict(found.secret_environment)) == (True, True, {})


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
def test_a_hub_token_is_a_secret_reference_read_as_hf_token(engine):
    found = spec(engine, hub_token_secret="hf/token", hub_token_secret_json_field="token")
    assert dict(found.secret_environment) == {"HF_TOKEN": SecretReference("hf/token", "token")}
    assert "HF_TOKEN" not in found.environment


def paths(engine: LauncherEngine, facts=QWEN_FACTS, **changes: object) -> list[str]:
    found = engine.validate("variants.x", settings(engine, **changes), G5_12, facts)
    assert all(p.allowed for p in found)
    return [p.path for p in found]


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"tensor_parallel_size": 2}, []),
        ({"tensor_parallel_size": 1}, ["variants.x.tensor_parallel_size"]),  # 29.6 GB do not fit one A10G
        ({"tensor_parallel_size": 3}, ["variants.x.tensor_parallel_size"]),  # does not divide 40 heads
        ({"tensor_parallel_size": 8}, ["variants.x.tensor_parallel_size"]),  # more than the instance's 4
        ({"max_model_len": 40960}, []),
        ({"max_model_len": 40961}, ["variants.x.max_model_len"]),
        ({"max_model_len": 0}, ["variants.x.max_model_len"]),
        ({"max_num_seqs": 0}, ["variants.x.max_num_seqs"]),
        ({"gpu_memory_utilization": 1.0}, []),
        ({"gpu_memory_utilization": 0.0}, ["variants.x.gpu_memory_utilization"]),
        ({"gpu_memory_utilization": 1.01}, ["variants.x.gpu_memory_utilization"]),
        ({"gpu_memory_utilization": float("nan")}, ["variants.x.gpu_memory_utilization"]),
    ],
)
def test_limits_against_the_instance_and_the_model(engine, changes, expected):
    assert paths(engine, **changes) == expected


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
def test_extra_flags_are_named_plain_and_not_the_typed_ones(engine):
    launcher = engine.LAUNCHER
    assert paths(engine, args={"enable_prefix_caching": "true", "kv_cache_dtype": "fp8"}) == []
    assert paths(engine, args={"Enable-Prefix-Caching": "true"}) == ["variants.x.args.Enable-Prefix-Caching"]
    assert paths(engine, args={launcher.tensor_parallel: "2"}) == [f"variants.x.args.{launcher.tensor_parallel}"]
    assert paths(engine, args={launcher.model: "other/model"}) == [f"variants.x.args.{launcher.model}"]
    found = engine.validate("variants.x", settings(engine, args={"api_key": "hf_" + "a" * 30}), G5_12, QWEN_FACTS)
    assert [(p.path, p.value) for p in found] == [("variants.x.args.api_key", "<redacted>")]


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
def test_the_environment_may_not_set_what_a_setting_owns(engine):
    launcher = engine.LAUNCHER
    for name in (launcher.env(launcher.context_length), launcher.env(launcher.model), "HF_MODEL_ID", "HF_TOKEN"):
        assert paths(engine, environment={name: "1"}) == [f"variants.x.environment.{name}"], name
    assert paths(engine, args={"enable_prefix_caching": "true"}, environment={launcher.env("enable_prefix_caching"): "false"}) == [
        f"variants.x.environment.{launcher.env('enable_prefix_caching')}"
    ]
    assert paths(engine, environment={"VLLM_LOGGING_LEVEL": "DEBUG"}) == []


@pytest.mark.parametrize("engine", [VLLM, SGLANG], ids=lambda e: e.NAME)
def test_a_gated_model_from_the_hub_needs_a_token_reference(engine):
    llama = ModelSettings()
    assert paths(engine, LLAMA_FACTS, model=llama) == ["variants.x.hub_token_secret"]
    assert paths(engine, LLAMA_FACTS, model=llama, hub_token_secret="hf/token") == []
    assert paths(engine, LLAMA_FACTS, model=dataclasses.replace(llama, public=True)) == []
    assert paths(engine, LLAMA_FACTS, model=llama, weights_loading="s3") == []
    assert paths(engine, weights_loading="s3", hub_token_secret="hf/token") == ["variants.x.hub_token_secret"]


def test_hugging_faces_sglang_image_passes_true_on_as_written():
    hf = ImageSettings("huggingface-sglang", "0.5.8")
    found = SGLANG.validate("variants.x", settings(SGLANG, image=hf, args={"enable_metrics": "true"}), G5_12, QWEN_FACTS)
    assert [p.path for p in found] == ["variants.x.args.enable_metrics"]
    assert "--enable-metrics true" in found[0].allowed and "empty value" in found[0].allowed
    assert SGLANG.validate("variants.x", settings(SGLANG, image=hf, args={"enable_metrics": ""}), G5_12, QWEN_FACTS) == []
    assert paths(SGLANG, args={"enable_metrics": "true"}) == []  # AWS's image turns true into the bare flag


def test_serving_limits_use_each_engines_defaults():
    v = VLLM.serving_limits("variants.x", settings(VLLM, max_model_len=8192), G5_12, QWEN_FACTS)
    assert (v.gpus_used, v.batch_token_limit, v.context_tokens, v.memory_fraction) == (4, 256 * 8192, 8192, 0.92)
    assert v.batch_limit_setting == "variants.x.max_num_seqs"
    s = SGLANG.serving_limits("variants.x", settings(SGLANG, tensor_parallel_size=2), G5_12, QWEN_FACTS)
    assert (s.gpus_used, s.batch_token_limit, s.context_tokens, s.memory_fraction) == (2, None, None, None)
    assert "engine-chosen" in s.token_summary and "40,960" in s.token_summary
    own = SGLANG.serving_limits("variants.x", settings(SGLANG, max_num_seqs=10, gpu_memory_utilization=0.7), G5_12, QWEN_FACTS)
    assert (own.batch_token_limit, own.memory_fraction) == (10 * 40960, 0.7)


def test_every_engine_states_what_the_rest_of_the_app_derives_from_it():
    assert list(ENGINES) == ["tgi", "lmi", "vllm", "sglang"]
    for name, engine in ENGINES.items():
        assert name == engine.NAME
        assert engine.API in ("generate", "chat")
        assert engine.FRAMEWORKS and engine.WEIGHTS_LOADING
        assert engine.SETTINGS().weights_loading == engine.WEIGHTS_LOADING[0]  # its default first
        assert engine.SECRET_SETTING is None or any(f.name == engine.SECRET_SETTING for f in dataclasses.fields(engine.SETTINGS))


def problems_of(engine: LauncherEngine, **changes: object) -> list[tuple[str, object, str]]:
    return [(p.path, p.value, p.allowed) for p in engine.validate("variants.x", settings(engine, **changes), G5_12, QWEN_FACTS)]


def test_each_problem_shows_the_value_given_and_what_is_allowed():
    assert problems_of(VLLM, tensor_parallel_size=3) == [
        ("variants.x.tensor_parallel_size", 3, "tensor_parallel_size must divide 40, the attention heads of Qwen/Qwen3-14B")
    ]
    assert problems_of(SGLANG, gpu_memory_utilization=0.0) == [
        ("variants.x.gpu_memory_utilization", 0.0, "a share of GPU memory in (0, 1]")
    ]
    assert problems_of(SGLANG, max_num_seqs=0) == [("variants.x.max_num_seqs", 0, "must be a positive whole number")]
    assert problems_of(VLLM, max_model_len=1, max_num_seqs=1) == []  # the smallest allowed
    assert problems_of(SGLANG, args={"tp_size": "2"}) == [("variants.x.args.tp_size", "2", "set by variants.x.tensor_parallel_size")]
    assert problems_of(VLLM, environment={"SM_VLLM_MODEL": "x"}) == [
        ("variants.x.environment.SM_VLLM_MODEL", "x", "set from model.id (or the mounted weights)")
    ]
    assert problems_of(VLLM, environment={"SM_VLLM_SERVED_MODEL_NAME": "x"}) == [
        ("variants.x.environment.SM_VLLM_SERVED_MODEL_NAME", "x", "set from model.id")
    ]
    assert problems_of(VLLM, environment={"SM_VLLM_REVISION": "x"}) == [
        ("variants.x.environment.SM_VLLM_REVISION", "x", "set from model.revision")
    ]
    assert problems_of(VLLM, environment={"HF_MODEL_ID": "x"}) == [
        ("variants.x.environment.HF_MODEL_ID", "x", "set from model.id (as SM_VLLM_MODEL)")
    ]


def test_hugging_faces_sglang_image_refuses_false_too():
    hf = ImageSettings("huggingface-sglang", "0.5.8")
    found = problems_of(SGLANG, image=hf, args={"enable_metrics": "False"})
    assert [(path, value) for path, value, _ in found] == [("variants.x.args.enable_metrics", "False")]


def test_the_container_runs_the_image_given():
    image = find_image("vllm", "0.30.0")
    assert VLLM.container_spec(settings(VLLM), image, G5_12, WEIGHTS).image is image


def test_the_token_summary_says_where_the_length_and_the_batch_come_from():
    own = VLLM.serving_limits("variants.x", settings(VLLM, max_model_len=8192, max_num_seqs=64), G5_12, QWEN_FACTS)
    assert own.token_summary == "max model length 8,192, up to 64 sequences in a batch"
    assert own.batch_limit_label == "max_num_seqs 64 x 8,192 tokens"
    engine_chosen = SGLANG.serving_limits("variants.x", settings(SGLANG), G5_12, QWEN_FACTS)
    assert engine_chosen.token_summary == "model context 40,960, up to engine-chosen sequences in a batch"
    assert engine_chosen.batch_limit_label == "max_running_requests engine-chosen x 40,960 tokens"
