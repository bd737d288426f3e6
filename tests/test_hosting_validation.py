"""Inference-component hosting without synth: each problem of components and shared endpoints,
and what the summary says they cost."""

from __future__ import annotations

import pytest

from blueprint.config.errors import ConfigError
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
