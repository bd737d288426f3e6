"""Inference-component hosting without synth: each problem of components and shared endpoints,
and what the summary says they cost."""

from __future__ import annotations

import pytest

from blueprint.config.errors import ConfigError
from blueprint.config.facts import known_instance, known_instance_types
from blueprint.loader import load_config
from blueprint.reports.synth_summary import render_summary

PACKED = {"profile": "qwen3-packed"}


def problems(**context: str) -> str:
    with pytest.raises(ConfigError) as error:
        load_config({**PACKED, **context})
    return str(error.value)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (
            {"variants.qwen-8b.component.endpoint": "gpu"},
            "variants.qwen-8b.component.endpoint = 'gpu': the name of a shared endpoint (shared_endpoints.<name>; have: pool)",
        ),
        ({"variants.qwen-8b.hosting": "serverless"}, "variants.qwen-8b.hosting = 'serverless': one of dedicated, inference-component"),
        (
            {"variants.qwen-8b.component.copies": "0"},
            "variants.qwen-8b.component.copies = 0: at least 1 (SageMaker creates a component with one copy or more)",
        ),
        ({"variants.qwen-8b.component.copies": "3"}, "variants.qwen-8b.component.copies = 3: within min_copies..max_copies (0..2)"),
        ({"variants.qwen-8b.component.min_copies": "3"}, "variants.qwen-8b.component.min_copies = 3: 0..max_copies (2)"),
        (
            {"variants.qwen-8b.component.accelerators_per_copy": "2"},
            "variants.qwen-8b.component.accelerators_per_copy = 2: must equal the GPUs the sglang engine shards over (1, its tensor parallel degree)",
        ),
        (
            {"variants.qwen-8b.component.memory_per_copy_mib": "300000"},
            "variants.qwen-8b.component.memory_per_copy_mib = 300000: 1..196608 MiB",
        ),
        (
            {"variants.qwen-8b.component.cpu_cores_per_copy": "64"},
            "variants.qwen-8b.component.cpu_cores_per_copy = 64.0: more than 0, at most the 48 vCPUs",
        ),
        (
            {"variants.qwen-8b.autoscaling.enabled": "true"},
            "variants.qwen-8b.autoscaling.enabled = 'true': not used with hosting=inference-component: set shared_endpoints.pool.min_instance_count",
        ),
        (
            {"variants.qwen-8b.instance_type": "ml.g5.48xlarge"},
            "variants.qwen-8b.instance_type = 'ml.g5.48xlarge': not used with hosting=inference-component: set shared_endpoints.pool.instance_type",
        ),
        (
            {"shared_endpoints.pool.routing": "fastest"},
            "shared_endpoints.pool.routing = 'fastest': one of least-outstanding-requests, random",
        ),
        ({"shared_endpoints.pool.min_instance_count": "2"}, "shared_endpoints.pool.min_instance_count = 2: 0..max_instance_count (1)"),
        ({"shared_endpoints.pool.instance_count": "0"}, "shared_endpoints.pool.instance_count = 0: 1..max_instance_count (1)"),
        (
            {"shared_endpoints.pool.kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/abc"},
            "shared_endpoints.pool.kms_key_arn = 'arn:aws:kms:us-east-1:111122223333:key/abc': has no effect on g5 instances",
        ),
        (
            {"variants.qwen-8b.component.max_copies": "3"},
            "shared_endpoints.pool.max_instance_count = 1: its components need 5 GPUs at their most copies (qwen-14b: 1 x 2, qwen-8b: 3 x 1); 1 x ml.g5.12xlarge has 4",
        ),
        (
            {"variants.qwen-8b.component.memory_per_copy_mib": "80000"},
            "shared_endpoints.pool.max_instance_count = 1: its components reserve 238,643 MiB at their most copies; 1 x ml.g5.12xlarge has 196,608 MiB",
        ),
        (
            {"shared_endpoints.pool.instance_type": "ml.m5.xlarge"},
            "shared_endpoints.pool.instance_type = 'ml.m5.xlarge': has no GPU; use one of",
        ),
    ],
)
def test_each_component_and_shared_endpoint_problem_is_named(context, expected):
    assert expected in problems(**context)


def test_the_packed_profile_is_valid_and_a_bigger_fleet_makes_room():
    assert load_config(PACKED).used_shared_endpoints().keys() == {"pool"}
    roomy = load_config({**PACKED, "variants.qwen-8b.component.max_copies": "3", "shared_endpoints.pool.max_instance_count": "2"})
    assert roomy.shared_endpoints["pool"].max_instance_count == 2


def test_the_summary_prices_the_shared_endpoint_idle_and_at_most_and_a_copy_by_its_gpus():
    text = render_summary(load_config(PACKED))
    assert "[shared endpoint pool] 0..1 x ml.g5.12xlarge (1 at creation), managed instance scaling" in text
    # ml.g5.12xlarge at $7.09/hour: nothing idle (zero instances), one instance at most.
    assert "~$0.00/hour idle (scales to zero instances when every component is at zero copies), ~$7.09/hour at most" in text
    assert "packing   qwen-14b, qwen-8b: 4 of 4 GPUs at their most copies" in text
    assert "component on shared endpoint pool (ml.g5.12xlarge): 0..1 copies, each 2 of 4 GPUs and 78,643 MiB" in text
    assert "~$3.54/hour per copy" in text and "~$1.77/hour per copy" in text  # half and a quarter of the instance
    assert "GPUs idle" not in text  # the other GPUs are the other components'


def found(**context: str) -> list[tuple[str, object, str]]:
    """Every problem of the packed profile with `context`, as (path, value, allowed)."""
    try:
        load_config({**PACKED, **context})
    except ConfigError as error:
        return [(p.path, p.value, p.allowed) for p in error.problems]
    return []


C = "variants.qwen-8b.component"
GPU_TYPES = ", ".join(t for t in known_instance_types() if known_instance(t).gpus)


@pytest.mark.parametrize(
    "context",
    [
        {f"{C}.min_copies": "2", f"{C}.copies": "2"},  # min = copies = max
        {f"{C}.copies": "2"},  # copies = max
        {f"{C}.scale_out_cooldown_in_seconds": "0", f"{C}.scale_in_cooldown_in_seconds": "86400"},
        {f"{C}.memory_per_copy_mib": "39321", f"{C}.cpu_cores_per_copy": "48"},
        {f"{C}.accelerators_per_copy": "1"},  # the engine's own degree, given
        {"shared_endpoints.pool.min_instance_count": "1"},  # min = max
        {"variants.qwen-14b.component.memory_per_copy_mib": "117964", f"{C}.memory_per_copy_mib": "39322"},  # exactly the host's memory
    ],
)
def test_the_bounds_themselves_are_allowed(context):
    assert found(**context) == []


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({f"{C}.max_copies": "0", f"{C}.min_copies": "0"}, [(f"{C}.max_copies", 0, "at least 1")]),
        ({f"{C}.target_concurrent_requests_per_copy": "0"}, [(f"{C}.target_concurrent_requests_per_copy", 0.0, "a positive number")]),
        (
            {f"{C}.target_concurrent_requests_per_copy": "inf"},
            [(f"{C}.target_concurrent_requests_per_copy", float("inf"), "a positive number")],
        ),
        ({f"{C}.scale_in_cooldown_in_seconds": "86401"}, [(f"{C}.scale_in_cooldown_in_seconds", 86401, "0..86400 seconds")]),
        ({f"{C}.scale_out_cooldown_in_seconds": "-1"}, [(f"{C}.scale_out_cooldown_in_seconds", -1, "0..86400 seconds")]),
        ({f"{C}.memory_per_copy_mib": "0"}, [(f"{C}.memory_per_copy_mib", 0, "1..196608 MiB (a ml.g5.12xlarge's memory)")]),
        ({f"{C}.memory_per_copy_mib": "196609"}, [(f"{C}.memory_per_copy_mib", 196609, "1..196608 MiB (a ml.g5.12xlarge's memory)")]),
        ({f"{C}.cpu_cores_per_copy": "0"}, [(f"{C}.cpu_cores_per_copy", 0.0, "more than 0, at most the 48 vCPUs of a ml.g5.12xlarge")]),
        ({f"{C}.cpu_cores_per_copy": "48.5"}, [(f"{C}.cpu_cores_per_copy", 48.5, "more than 0, at most the 48 vCPUs of a ml.g5.12xlarge")]),
        (
            {f"{C}.accelerators_per_copy": "5"},
            [
                (
                    f"{C}.accelerators_per_copy",
                    5,
                    "must equal the GPUs the sglang engine shards over (1, its tensor parallel degree): a copy sees only its own GPUs",
                ),
                (f"{C}.accelerators_per_copy", 5, "at most the 4 GPUs of a ml.g5.12xlarge"),
            ],
        ),
        ({"shared_endpoints.pool.max_instance_count": "0"}, [("shared_endpoints.pool.max_instance_count", 0, "at least 1")]),
        (
            {"shared_endpoints.pool.instance_type": "ml.x9.huge"},
            [("shared_endpoints.pool.instance_type", "ml.x9.huge", f"no GPU facts for this instance type; known: {GPU_TYPES}")],
        ),
        (
            {"variants.qwen-14b.component.memory_per_copy_mib": "117965", f"{C}.memory_per_copy_mib": "39322"},
            [
                (
                    "shared_endpoints.pool.max_instance_count",
                    1,
                    "its components reserve 196,609 MiB at their most copies; 1 x ml.g5.12xlarge has 196,608 MiB: raise it or lower memory_per_copy_mib",
                )
            ],
        ),
        (
            {f"{C}.autoscaling": "false", f"{C}.copies": "3"},  # without autoscaling, the copies themselves must fit
            [
                (
                    "shared_endpoints.pool.max_instance_count",
                    1,
                    "its components need 5 GPUs at their most copies (qwen-14b: 1 x 2, qwen-8b: 3 x 1); 1 x ml.g5.12xlarge has 4: raise it or lower max_copies",
                )
            ],
        ),
    ],
)
def test_each_problem_has_its_value_and_what_is_allowed(context, expected):
    assert found(**context) == expected


def test_the_shared_endpoints_the_config_has_are_named():
    assert found(**{f"{C}.endpoint": "gpu", "shared_endpoints.spare.instance_type": "ml.g5.xlarge"}) == [
        (f"{C}.endpoint", "gpu", "the name of a shared endpoint (shared_endpoints.<name>; have: pool, spare)")
    ]
    seed = {"variants.tgi.hosting": "inference-component", "variants.tgi.component.endpoint": "pool"}
    with pytest.raises(ConfigError, match=r"have: none declared\)"):
        load_config(seed)


def test_an_unused_shared_endpoint_is_not_checked_and_gets_no_stack():
    config = load_config({**PACKED, "shared_endpoints.spare.max_instance_count": "0"})
    assert list(config.used_shared_endpoints()) == ["pool"]


def test_the_cost_at_most_is_per_instance():
    from blueprint.hosting import shared_cost

    cost = shared_cost(load_config({**PACKED, "shared_endpoints.pool.max_instance_count": "3"}).shared_endpoints["pool"])
    assert (cost.idle_per_hour, round(cost.most_per_hour, 2)) == (0.0, round(3 * 7.09, 2))
