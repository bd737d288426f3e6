"""Every bounded setting at, inside and beyond its bounds, and the patterns of names and ARNs.

`validate` is called on the configuration the loader builds (no synth): a value outside the
allowed range gives exactly one problem at the setting's path, carrying the value; a value inside
gives none there.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprint.config.errors import Problem
from blueprint.loader import build_config
from blueprint.validation import _check_same_place, image_cuda, validate

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None)
ACCOUNT, REGION = "111111111111", "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
CONNECTION = f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/12345678-1234-1234-1234-123456789012"


def check(**context: object) -> list[Problem]:
    problems = validate(build_config(context))
    assert all(isinstance(p.allowed, str) and p.allowed for p in problems), problems  # each says what is allowed
    return problems


def at(path: str, **context: object) -> list[Problem]:
    """The problems reported at `path`."""
    return [p for p in check(**context) if p.path == path]


def dotted(**keys: object) -> dict[str, object]:
    return {k.replace("__", "."): v for k, v in keys.items()}


AUTOSCALED = {"variants.tgi.autoscaling.enabled": True, "variants.tgi.autoscaling.max_capacity": 4}
NO_WAITS = {"variants.tgi.deployment.wait_interval_in_seconds": 0, "variants.tgi.deployment.termination_wait_in_seconds": 0}
INF = math.inf

# setting, lowest allowed, highest allowed (None: no upper bound), whether the low bound is itself
# allowed, integer or float, context that makes the rest of the configuration valid around it.
BOUNDS = [
    ("sizing.gpu_memory_utilization", 0.5, 1, True, float, {}),
    ("sizing.runtime_overhead_gib_per_gpu", 0, 16, True, float, {}),
    ("variants.tgi.instance_count", 1, None, True, int, {}),
    ("variants.lmi.instance_count", 1, None, True, int, {}),
    ("variants.tgi.model_data_download_timeout_in_seconds", 60, 3600, True, int, {}),
    ("variants.tgi.container_startup_health_check_timeout_in_seconds", 60, 3600, True, int, {}),
    ("variants.lmi.model_data_download_timeout_in_seconds", 60, 3600, True, int, {}),
    ("variants.tgi.volume_size_in_gb", 1, 512, True, int, {"variants.tgi.instance_type": "ml.p3.8xlarge"}),
    ("variants.tgi.autoscaling.target_value", 0, INF, False, float, AUTOSCALED),
    ("variants.tgi.autoscaling.scale_out_cooldown_in_seconds", 0, 86400, True, int, AUTOSCALED),
    ("variants.tgi.autoscaling.scale_in_cooldown_in_seconds", 0, 86400, True, int, AUTOSCALED),
    ("variants.tgi.alarms.evaluation_periods", 1, 100, True, int, {}),
    ("variants.tgi.alarms.invocation_5xx_errors", 0, INF, True, float, {}),
    ("variants.tgi.alarms.invocation_4xx_errors", 0, INF, True, float, {}),
    ("variants.tgi.alarms.model_latency_p90_ms", 0, INF, True, float, {}),
    ("variants.tgi.alarms.gpu_memory_utilization_percent", 0, 100, False, float, {}),
    ("variants.tgi.alarms.disk_utilization_percent", 0, 100, False, float, {}),
    ("variants.tgi.deployment.canary_size_percent", 1, 50, True, int, {}),
    ("variants.tgi.deployment.linear_step_percent", 10, 50, True, int, {}),
    ("variants.tgi.deployment.wait_interval_in_seconds", 0, 3600, True, int, {}),
    ("variants.tgi.deployment.termination_wait_in_seconds", 0, 3600, True, int, {}),
    ("variants.tgi.deployment.maximum_execution_timeout_in_seconds", 600, 28800, True, int, NO_WAITS),
    ("variants.lmi.deployment.maximum_execution_timeout_in_seconds", 600, 28800, True, int, {k.replace("tgi", "lmi"): 0 for k in NO_WAITS}),
    ("variants.tgi.max_total_tokens", 1, 4096, True, int, {}),  # the model's context: 4096
]


def allowed(value: float, low: float, high: float | None, low_allowed: bool) -> bool:
    above_low = value >= low if low_allowed else value > low
    below_high = high is None or (value < high if high == INF else value <= high)  # "finite" excludes infinity
    return above_low and below_high


def around(low: float, high: float | None, kind: type) -> st.SearchStrategy:
    """The bounds, one step beyond each, and values anywhere near them."""
    top = high if high is not None and high != INF else low + 1000
    step = 1 if kind is int else 0.01
    edges = [low, low - step, top, top + step, low + step, top - step]
    if kind is int:
        return st.one_of(st.sampled_from([int(e) for e in edges]), st.integers(int(low) - 100, int(top) + 100))
    special = [math.nan, -INF] + ([INF] if high is not None else [])
    return st.one_of(st.sampled_from(edges + special), st.floats(low - 10, top + 10, allow_nan=False))


@pytest.mark.parametrize(("path", "low", "high", "low_allowed", "kind", "context"), BOUNDS, ids=[b[0] for b in BOUNDS])
@PROPERTY
@given(data=st.data())
def test_each_bounded_setting_is_refused_exactly_beyond_its_bounds(path, low, high, low_allowed, kind, context, data):
    value = data.draw(around(low, high, kind), label=path)
    found = at(path, **context, **{path: value})
    if allowed(value, low, high, low_allowed):
        assert found == []
    else:
        assert len(found) == 1, found
        problem = found[0]
        assert problem.value == value or (math.isnan(value) and math.isnan(problem.value))
        assert problem.allowed


def test_the_seed_and_a_full_environment_are_valid():
    assert check() == []
    assert check(account=ACCOUNT, region=REGION) == []
    assert check(profile="llama2-13b-current", account=ACCOUNT, region=REGION) == []


@pytest.mark.parametrize(
    ("path", "good", "bad"),
    [
        ("account", ["123456789012"], ["12345678901", "1234567890123", "12345678901a"]),
        (
            "region",
            ["us-east-1", "eu-west-2", "us-gov-west-1"],
            ["useast1", "us-east-1a", "US-east-1", "us-east", "u-east-1", "1us-east-1"],
        ),
        (
            "bucket.name_prefix",
            ["abc", "a" * 24, "llm-models", "a1-b"],
            ["ab", "a" * 25, "1abc", "abc-", "Abc", "ab_c", "-abc"],
        ),
        (
            "weights.s3_prefix",
            ["models/x/", "a", "a/b/c", "a.b/(c)!_-", "a/", "a/.X", "a/..b"],
            ["a//b", "a/./b", "../a", "a/..", "a*", "/a", "a b", ".", "a/b/../c"],
        ),
        ("model.revision", ["main", "v1.0", "refs/pr/1", "0" * 40, "a_b-c"], ["a..b", "a//b", "/a", "a/", "", "a b", "..", "a:b"]),
    ],
)
def test_names_and_prefixes_follow_their_patterns(path, good, bad):
    for value in good:
        assert at(path, **{path: value}) == [], value
    for value in bad:
        found = at(path, **{path: value})
        assert [p.value for p in found] == [value], value


def test_a_bad_region_is_reported_once_not_again_per_image():
    found = check(region="moon-1")
    assert [p.path for p in found] == ["region"]


@pytest.mark.parametrize("dtype_bytes", [0, 1, 2, 3, 4, 8, -2])
def test_weight_width_is_one_two_or_four_bytes(dtype_bytes):
    found = at("model.dtype_bytes", **{"model.dtype_bytes": dtype_bytes})
    assert (found == []) == (dtype_bytes in (1, 2, 4))


MODEL_FACTS = [("num_parameters", v) for v in (0.0, -1.0, INF, math.nan)] + [
    (name, v)
    for name in ("num_layers", "hidden_size", "num_attention_heads", "num_key_value_heads", "max_position_embeddings")
    for v in (0, -1)
]


@pytest.mark.parametrize(("name", "value"), MODEL_FACTS)
def test_model_facts_must_be_positive_and_finite_and_stop_the_variant_checks(name, value):
    found = check(**{f"model.{name}": value, "variants.tgi.instance_count": 0})
    assert [p.path for p in found] == [f"model.{name}"]  # the variant's own problem waits for sound facts
    assert found[0].value == value or math.isnan(value)


def test_a_blank_model_id_is_the_only_problem_reported():
    for blank in ("", "   "):
        found = check(**{"model.id": blank, "variants.tgi.instance_count": 0, "model.num_layers": 0})
        assert [(p.path, p.value) for p in found] == [("model.id", blank)]


def test_a_model_without_facts_names_each_missing_fact_and_nothing_else():
    found = check(**{"model.id": "acme/unknown-7b", "variants.tgi.instance_count": 0})
    paths = [p.path for p in found]
    assert "model.num_parameters" in paths and "model.num_layers" in paths
    assert all(p.startswith("model.") for p in paths)
    assert all(p.value is None and "acme/unknown-7b" in p.allowed for p in found)


def test_problems_before_the_model_id_check_are_kept():
    found = check(**{"account": "x", "model.id": "", "model.dtype_bytes": 3})
    assert [p.path for p in found] == ["account", "model.dtype_bytes", "model.id"]


def test_instance_types_without_facts_or_gpus():
    unknown = at("variants.tgi.instance_type", **{"variants.tgi.instance_type": "ml.x9.huge"})
    assert len(unknown) == 1 and "ml.g5.12xlarge" in unknown[0].allowed and "ml.m5.xlarge" not in unknown[0].allowed
    cpu = at("variants.lmi.instance_type", **{"variants.lmi.instance_type": "ml.m5.xlarge"})
    assert len(cpu) == 1 and cpu[0].value == "ml.m5.xlarge" and "ml.p3.2xlarge" in cpu[0].allowed and "ml.c5" not in cpu[0].allowed
    # Without a usable instance the container's own checks (GPU count, memory) are skipped.
    assert [p.path for p in check(**{"variants.tgi.instance_type": "ml.m5.xlarge", "variants.tgi.num_gpus": 99})] == [
        "variants.tgi.instance_type"
    ]


def test_weights_loading_is_one_the_variant_supports():
    assert at("variants.tgi.weights_loading", **{"variants.tgi.weights_loading": "s3-download"})[0].value == "s3-download"
    assert at("variants.lmi.weights_loading", **{"variants.lmi.weights_loading": "hub"})[0].value == "hub"
    assert at("variants.tgi.weights_loading", **{"variants.tgi.weights_loading": "s3"}) == []


@pytest.mark.parametrize("field", ["variant_name", "endpoint_name"])
def test_sagemaker_names(field):
    path = f"variants.tgi.{field}"
    for good in ("a", "A1", "a-b", "a--b", "x" * 63, "1"):
        assert at(path, **{path: good}) == [], good
    for bad in ("x" * 64, "-a", "a-", "a_b", "a.b"):
        assert [p.value for p in at(path, **{path: bad})] == [bad], bad


def test_nvme_families_refuse_a_key_and_a_volume_size_and_others_take_them():
    nvme = check(**{"variants.tgi.kms_key_arn": KEY, "variants.tgi.volume_size_in_gb": 100})
    assert sorted((p.path, p.value) for p in nvme) == [("variants.tgi.kms_key_arn", KEY), ("variants.tgi.volume_size_in_gb", 100)]
    assert "g5" in nvme[0].allowed
    assert (
        check(**{"variants.tgi.instance_type": "ml.p3.8xlarge", "variants.tgi.kms_key_arn": KEY, "variants.tgi.volume_size_in_gb": 100})
        == []
    )


def test_kms_key_arn_format_region_and_account():
    p3 = {"variants.tgi.instance_type": "ml.p3.8xlarge"}
    path = "variants.tgi.kms_key_arn"
    for bad in ("alias/x", f"arn:aws:kms:{REGION}:{ACCOUNT}:secret/x", f"arn:aws:kms:{REGION}:1111:key/x"):
        assert [p.value for p in at(path, **p3, **{path: bad})] == [bad]
    assert at(path, **p3, **{path: f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/my-key"}) == []
    other_region = at(path, **p3, region="eu-west-1", **{path: KEY})
    assert len(other_region) == 1 and "eu-west-1" in other_region[0].allowed
    assert "key of the endpoint's region" in other_region[0].allowed  # the reason is given
    other_account = at(path, **p3, account="222222222222", **{path: KEY})
    assert len(other_account) == 1 and "222222222222" in other_account[0].allowed
    assert at(path, **p3, account=ACCOUNT, region=REGION, **{path: KEY}) == []


def test_same_place_checks_the_account_only_for_keys():
    config = build_config({"account": "222222222222", "region": REGION})
    assert _check_same_place("x.alarms.topic_arn", TOPIC, config, "why") == []
    assert [(p.path, p.value) for p in _check_same_place("x.kms_key_arn", KEY, config, "why")] == [("x.kms_key_arn", KEY)]
    moved = build_config({"account": ACCOUNT, "region": "eu-west-1"})
    [problem] = _check_same_place("x.alarms.topic_arn", TOPIC, moved, "because")
    assert (problem.path, problem.value) == ("x.alarms.topic_arn", TOPIC)
    assert "eu-west-1" in problem.allowed and "because" in problem.allowed
    assert _check_same_place("x.kms_key_arn", KEY, build_config({}), "why") == []


def test_host_image_must_be_known_and_support_the_image_cuda():
    path = "variants.tgi.inference_ami_version"
    assert at(path, **{path: "al2-ami-sagemaker-inference-gpu-9"})[0].value == "al2-ami-sagemaker-inference-gpu-9"
    assert at(path, **{path: "al2-ami-sagemaker-inference-gpu-2"}) == []  # the seed image is cu118
    current = {"profile": "llama2-13b-current"}
    old = at(path, **current, **{path: "al2-ami-sagemaker-inference-gpu-2"})
    assert len(old) == 1 and old[0].value == "al2-ami-sagemaker-inference-gpu-2"
    # TGI 3.3.6 is built for CUDA 12.4: the host images that support exactly that or more.
    assert old[0].allowed.endswith(
        "supports CUDA 12.2; the image needs 12.4: use al2-ami-sagemaker-inference-gpu-3-1 or al2023-ami-sagemaker-inference-gpu-4-1"
    )
    assert "al2-ami-sagemaker-inference-gpu-2 " not in old[0].allowed + " "
    assert at(path, **current, **{path: "al2023-ami-sagemaker-inference-gpu-4-1"}) == []


def test_a_host_image_for_an_unknown_image_is_judged_by_its_name_only():
    found = check(**{"variants.tgi.image.version": "9.9.9", "variants.tgi.inference_ami_version": "al2-ami-sagemaker-inference-gpu-2"})
    assert [p.path for p in found] == ["variants.tgi.image.version"]


@pytest.mark.parametrize(
    ("context", "path"),
    [
        ({"variants.tgi.image.framework": "djl-lmi", "variants.tgi.image.version": "0.38.0"}, "variants.tgi.image.framework"),
        ({"variants.tgi.image.version": "9.9.9", "variants.tgi.num_gpus": 99}, "variants.tgi.image.version"),
        ({"region": "mx-central-9", "variants.tgi.num_gpus": 99, "variants.lmi.enabled": False}, "region"),
    ],
)
def test_an_unusable_image_stops_the_containers_own_checks(context, path):
    # num_gpus 99 would be a container problem: it is not judged without a usable image.
    found = check(**context)
    assert [p.path for p in found if p.path.startswith("variants.tgi") or p.path == "region"] == [path]


def test_environment_secrets_point_to_the_variants_secret_setting():
    token = "hf_" + "FAKE" * 9
    tgi_found = at("variants.tgi.environment.X", **{"variants.tgi.environment": {"X": token}})
    assert len(tgi_found) == 1 and "variants.tgi.hub_token_secret" in tgi_found[0].allowed
    lmi_found = at("variants.lmi.environment.X", **{"variants.lmi.environment": {"X": token}})
    assert len(lmi_found) == 1 and "needs no secret" in lmi_found[0].allowed


def test_image_cuda_version_from_a_tag():
    assert image_cuda("2.0.1-tgi1.0.3-gpu-py39-cu118-ubuntu20.04") == (11, 8)
    assert image_cuda("x-cu124-y") == (12, 4)
    assert image_cuda("0.25.0-deepspeed0.11.1-cu1") is None


def test_autoscaling_bounds():
    scaled = {"variants.tgi.autoscaling.enabled": True}
    assert check(**scaled) == []
    zero_max = check(**scaled, **{"variants.tgi.autoscaling.max_capacity": 0})
    assert [p.path for p in zero_max] == ["variants.tgi.autoscaling.max_capacity"]  # min and instance count not judged
    for low, high, count, bad in (
        (1, 1, 1, None),
        (2, 1, 1, "min_capacity"),
        (0, 2, 1, "min_capacity"),
        (1, 3, 3, None),
        (2, 3, 1, "instance_count"),
    ):
        found = check(
            **scaled,
            **{
                "variants.tgi.autoscaling.min_capacity": low,
                "variants.tgi.autoscaling.max_capacity": high,
                "variants.tgi.instance_count": count,
            },
        )
        names = [p.path.rpartition(".")[2] for p in found]
        assert (names[:1] or [None])[0] == bad, (low, high, count, found)
    over = at("variants.tgi.instance_count", **scaled, **{"variants.tgi.instance_count": 3})
    assert len(over) == 1 and over[0].value == 3 and "(1..2)" in over[0].allowed
    one = {"variants.tgi.autoscaling.min_capacity": 1, "variants.tgi.autoscaling.max_capacity": 1, "variants.tgi.instance_count": 2}
    assert [p.path for p in check(**scaled, **one)] == ["variants.tgi.instance_count"]
    for metric, ok in (("invocations", True), ("concurrent-requests", True), ("cpu", False)):
        assert (at("variants.tgi.autoscaling.metric", **scaled, **{"variants.tgi.autoscaling.metric": metric}) == []) is ok
    # Off, nothing about autoscaling is judged.
    assert check(**{"variants.tgi.autoscaling.max_capacity": 0, "variants.tgi.autoscaling.metric": "cpu"}) == []


@pytest.mark.parametrize("period", [10, 20, 30, 60, 120, 3600, 0, 5, 15, 45, 59, 90, -60, 61])
def test_alarm_periods(period):
    found = at(
        "variants.tgi.alarms.period_in_seconds",
        **{"variants.tgi.alarms.period_in_seconds": period, "variants.tgi.alarms.evaluation_periods": 1},
    )
    assert (found == []) == (period in (10, 20, 30) or (period >= 60 and period % 60 == 0))


@pytest.mark.parametrize(("period", "most"), [(60, 100), (1800, 48), (3540, 24), (3600, 100), (7200, 84), (86400, 7)])
def test_alarm_evaluation_covers_at_most_a_day_below_an_hour_and_seven_days_from_an_hour(period, most):
    path = "variants.tgi.alarms.evaluation_periods"
    base = {"variants.tgi.alarms.period_in_seconds": period}
    assert at(path, **base, **{path: most}) == []
    over = at(path, **base, **{path: most + 1})
    assert len(over) == 1 and over[0].value == most + 1
    if most < 100:
        assert f"at most {most} with a period of {period} s" in over[0].allowed
        assert f"at most {1 if period < 3600 else 7} day(s)" in over[0].allowed


def test_a_bad_period_is_reported_before_the_evaluation_periods():
    found = check(**{"variants.tgi.alarms.period_in_seconds": 45, "variants.tgi.alarms.evaluation_periods": 0})
    assert [p.path for p in found] == ["variants.tgi.alarms.period_in_seconds"]


def test_alarm_topic_format_and_region():
    path = "variants.tgi.alarms.topic_arn"
    assert at(path, account=ACCOUNT, region=REGION, **{path: TOPIC}) == []
    for bad in ("alarms", f"arn:aws:sns:{REGION}:{ACCOUNT}:a b", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"):
        assert [p.value for p in at(path, **{path: bad})] == [bad]
    [moved] = at(path, region="eu-west-1", **{path: TOPIC})
    assert "eu-west-1" in moved.allowed and "notify topics of their own region" in moved.allowed
    # Reported beside the other problems of the variant, not instead of them.
    both = check(region="eu-west-1", **{path: TOPIC, "variants.tgi.autoscaling.enabled": True, "variants.tgi.autoscaling.max_capacity": 0})
    assert [p.path for p in both] == ["variants.tgi.autoscaling.max_capacity", path]
    assert at(path, account="222222222222", **{path: TOPIC}) == []  # any account's topic


def test_alarms_off_are_not_judged_but_rollback_needs_them():
    found = check(**{"variants.tgi.alarms.enabled": False, "variants.tgi.alarms.period_in_seconds": 7})
    assert [(p.path, p.value) for p in found] == [("variants.tgi.deployment.rollback_on_alarms", True)]
    assert check(**{"variants.tgi.alarms.enabled": False, "variants.tgi.deployment.rollback_on_alarms": False}) == []


@pytest.mark.parametrize(
    ("routing", "count", "ok"),
    [("all-at-once", 1, True), ("canary", 1, False), ("linear", 1, False), ("canary", 2, True), ("linear", 2, True), ("blue", 2, False)],
)
def test_traffic_routing_and_the_fleet_it_needs(routing, count, ok):
    found = at(
        "variants.tgi.deployment.traffic_routing",
        **{"variants.tgi.deployment.traffic_routing": routing, "variants.tgi.instance_count": count},
    )
    assert (found == []) is ok
    if not ok:
        assert found[0].value == routing


def test_execution_timeout_must_exceed_the_waits():
    path = "variants.tgi.deployment.maximum_execution_timeout_in_seconds"
    waits = {"variants.tgi.deployment.wait_interval_in_seconds": 600, "variants.tgi.deployment.termination_wait_in_seconds": 300}
    assert at(path, **waits, **{path: 901}) == []
    for timeout in (900, 600):
        found = at(path, **waits, **{path: timeout})
        assert len(found) == 1 and "(900 s)" in found[0].allowed
    assert len(at(path, **waits, **{path: 599})) == 1  # out of range: reported once, as the range


def test_each_variant_is_checked_under_its_own_path():
    found = check(**{"variants.tgi.instance_count": 0, "variants.lmi.instance_count": 0})
    assert [p.path for p in found] == ["variants.tgi.instance_count", "variants.lmi.instance_count"]
    assert check(**{"variants.lmi.enabled": False, "variants.lmi.instance_count": 0}) == []


PIPELINE = {
    "pipeline.enabled": True,
    "pipeline.repository": "acme/llm",
    "pipeline.connection_arn": CONNECTION,
    "pipeline.account": "999999999999",
    "pipeline.region": REGION,
    "pipeline.dev.account": "222222222222",
    "pipeline.dev.region": REGION,
    "pipeline.prod.account": "333333333333",
    "pipeline.prod.region": "eu-west-1",
}


def test_a_complete_pipeline_is_valid():
    assert check(**PIPELINE) == []
    assert check(**{**PIPELINE, "pipeline.repository": "group/sub/name", "pipeline.branch": "release/v1.2"}) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pipeline.repository", None),
        ("pipeline.repository", "llm"),
        ("pipeline.repository", "acme/"),
        ("pipeline.branch", "a..b"),
        ("pipeline.branch", "/main"),
        ("pipeline.branch", "main/"),
        ("pipeline.branch", "a//b"),
        ("pipeline.branch", "main."),
        ("pipeline.branch", "ma in"),
        ("pipeline.connection_arn", None),
        ("pipeline.connection_arn", CONNECTION.replace("codeconnections", "codebuild")),
        ("pipeline.connection_arn", CONNECTION[:-1]),
        ("pipeline.account", None),
        ("pipeline.account", "1"),
        ("pipeline.region", None),
        ("pipeline.region", "east"),
        ("pipeline.dev.account", None),
        ("pipeline.prod.region", "x"),
        ("pipeline.dev.traffic_routing", "blue"),
    ],
)
def test_each_pipeline_setting_is_checked_at_its_path(key, value):
    found = check(**{**PIPELINE, key: value})
    assert [(p.path, p.value) for p in found] == [(key, value)]


def test_codestar_connections_arns_are_accepted_too():
    assert check(**{**PIPELINE, "pipeline.connection_arn": CONNECTION.replace("codeconnections", "codestar-connections")}) == []


def test_stages_must_not_share_an_account_and_region_with_each_other_or_the_workstation_stacks():
    found = check(**{**PIPELINE, "pipeline.prod.account": "222222222222", "pipeline.prod.region": REGION})
    assert [(p.path, p.value) for p in found] == [("pipeline.prod.account", "222222222222")]
    assert "stage dev" in found[0].allowed
    found = check(**PIPELINE, account="222222222222", region=REGION)
    assert [p.path for p in found] == ["pipeline.dev.account"]
    assert "taken by the workstation stacks (account, region)" in found[0].allowed
    # Only a complete place collides.
    assert check(**PIPELINE, account="222222222222") == []


def test_the_app_is_validated_as_each_stage_deploys_it():
    # Canary in prod (unset routing, two instances) is fine; a variant of one instance with a
    # stage forcing canary is reported at the stage's setting.
    two = {"variants.tgi.instance_count": 2}
    assert check(**PIPELINE, **two) == []
    found = check(**{**PIPELINE, "pipeline.dev.traffic_routing": "canary"})
    assert [p.path for p in found] == ["pipeline.dev.traffic_routing"]  # the stage's one setting, once for both deployments
    assert all("(in stage dev, 222222222222/us-east-1)" in p.allowed for p in found)
    # A key of another account is reported in the stage that deploys it, once per stage.
    key = {"variants.tgi.instance_type": "ml.p3.8xlarge", "variants.tgi.kms_key_arn": KEY.replace(ACCOUNT, "222222222222")}
    found = check(**PIPELINE, **key)
    assert [(p.path, p.value) for p in found] == [("variants.tgi.kms_key_arn", key["variants.tgi.kms_key_arn"])]
    assert "(in stage prod, 333333333333/eu-west-1)" in found[0].allowed  # dev's account and region own the key
    # A stage that sets its routing still reports other settings at their own path.
    prod_key = {**key, "variants.tgi.kms_key_arn": KEY.replace(ACCOUNT, "333333333333")}
    found = check(**PIPELINE, **prod_key)
    assert [p.path for p in found] == ["variants.tgi.kms_key_arn", "variants.tgi.kms_key_arn"]
    assert "in stage dev" in found[0].allowed and "in stage prod" in found[1].allowed


def test_stage_region_problems_are_named_for_the_stage():
    # An image that the stage's region lacks is the stage's region problem.
    found = check(**{**PIPELINE, "pipeline.prod.region": "mx-central-9"})
    paths = {p.path for p in found}
    assert paths and paths <= {"pipeline.prod.region"}, found
    assert all("in stage prod" in p.allowed for p in found)


def test_problems_of_the_app_are_not_repeated_per_stage():
    found = check(**PIPELINE, **{"variants.tgi.instance_count": 0})
    assert [p.path for p in found] == ["variants.tgi.instance_count"]


def test_a_disabled_pipeline_is_not_judged():
    assert check(**{"pipeline.repository": "x", "pipeline.branch": ".."}) == []
