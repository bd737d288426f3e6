"""The instance table's GPU facts agree with the sagemaker SDK's own GPU table."""

from __future__ import annotations

import json
from importlib.resources import files

from blueprint.config.facts import instance_facts, known_instance_types


def sdk_gpu_info() -> dict:
    path = files("sagemaker.core") / "image_uri_config" / "instance_gpu_info.json"
    return json.loads(path.read_text())["us-east-1"]


def test_gpu_counts_and_memory_match_the_sdk():
    sdk = sdk_gpu_info()
    checked = 0
    for name in known_instance_types():
        facts = instance_facts(name)
        if name in sdk:
            assert (facts.gpus, facts.gpu_memory_mib_total) == (sdk[name]["Count"], sdk[name]["TotalGpuMemoryInMiB"]), name
            checked += 1
    assert checked >= 10


def test_cpu_instances_have_no_gpu_and_are_not_in_the_sdk_gpu_table():
    sdk = sdk_gpu_info()
    for name in known_instance_types():
        if instance_facts(name).gpus == 0:
            assert name not in sdk


def test_nvme_families_are_g4dn_g5_and_p4d():
    nvme = {instance_facts(n).family for n in known_instance_types() if instance_facts(n).nvme_instance_storage}
    assert nvme == {"g4dn", "g5", "p4d"}


def test_every_instance_has_a_price():
    assert all(instance_facts(n).price_per_hour > 0 for n in known_instance_types())
