"""Inference-component hosting: what each copy of a component reserves, and whether they all fit.

A shared endpoint (`shared_endpoints.<name>`) runs instances SageMaker manages; each deployment
with `hosting=inference-component` is a component on it, with its own model, copy count and
reservation per copy (GPUs, host memory, CPU cores). SageMaker places copies on instances by those
reservations, so they are checked here before anything reaches AWS (docs/inference-components.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, instance_facts, known_instance, model_facts
from blueprint.config.settings import DEDICATED, INFERENCE_COMPONENT, AppConfig, SharedEndpointSettings, VariantSettings
from blueprint.engines.registry import ENGINES

HOSTING = (DEDICATED, INFERENCE_COMPONENT)
ROUTING = {"least-outstanding-requests": "LEAST_OUTSTANDING_REQUESTS", "random": "RANDOM"}
# Of a copy's share of the host's memory (by GPUs), what it reserves by default: the rest is left
# to the host (SageMaker's agents, the page cache the weights load through).
DEFAULT_MEMORY_SHARE = 0.8


@dataclass(frozen=True)
class CopyRequirements:
    """What one copy of a component reserves on an instance (ComputeResourceRequirements)."""

    accelerators: int
    memory_mib: int
    cpu_cores: float | None


def engine_gpus(name: str, variant: VariantSettings, instance: InstanceFacts) -> int:
    """The GPUs deployment `name`'s engine shards one copy over (its tensor parallel degree)."""
    return ENGINES[variant.engine].serving_limits(f"variants.{name}", variant, instance, model_facts(variant.model)).gpus_used


def copy_requirements(name: str, variant: VariantSettings, instance: InstanceFacts) -> CopyRequirements:
    """Deployment `name`'s reservation per copy on `instance`: the settings, or the engine's GPUs and
    their share of the host's memory."""
    component = variant.component
    accelerators = component.accelerators_per_copy or engine_gpus(name, variant, instance)
    memory = component.memory_per_copy_mib
    if memory is None:
        memory = math.floor(instance.memory_gib * 1024 * accelerators / instance.gpus * DEFAULT_MEMORY_SHARE)
    return CopyRequirements(accelerators, memory, component.cpu_cores_per_copy)


def check_hosting(config: AppConfig) -> list[Problem]:
    """Hosting values, shared endpoints, and every component's copies against its endpoint's instances."""
    problems: list[Problem] = []
    for name, variant in config.enabled_variants().items():
        path = f"variants.{name}"
        if variant.hosting not in HOSTING:
            problems.append(Problem(f"{path}.hosting", variant.hosting, f"one of {', '.join(HOSTING)}"))
        elif variant.hosting == INFERENCE_COMPONENT:
            problems += _check_component(path, name, variant, config)
    for name, endpoint in config.used_shared_endpoints().items():
        problems += _check_shared_endpoint(name, endpoint)
        instance = instance_facts(endpoint.instance_type)
        components = config.components_of(name)
        if instance is not None and instance.gpus and not problems:
            problems += _check_packing(name, endpoint, instance, components)
    return problems


def _check_component(path: str, name: str, variant: VariantSettings, config: AppConfig) -> list[Problem]:
    component = variant.component
    where = f"{path}.component"
    if component.endpoint not in config.shared_endpoints:
        known = ", ".join(config.shared_endpoints) or "none declared"
        return [Problem(f"{where}.endpoint", component.endpoint, f"the name of a shared endpoint (shared_endpoints.<name>; have: {known})")]
    problems = []
    if component.copies < 1:
        problems.append(Problem(f"{where}.copies", component.copies, "at least 1 (SageMaker creates a component with one copy or more)"))
    if component.autoscaling:
        if not 0 <= component.min_copies <= component.max_copies:
            problems.append(Problem(f"{where}.min_copies", component.min_copies, f"0..max_copies ({component.max_copies})"))
        if component.max_copies < 1:
            problems.append(Problem(f"{where}.max_copies", component.max_copies, "at least 1"))
        elif not component.min_copies <= component.copies <= component.max_copies:
            problems.append(
                Problem(
                    f"{where}.copies", component.copies, f"within min_copies..max_copies ({component.min_copies}..{component.max_copies})"
                )
            )
        if not 0 < component.target_concurrent_requests_per_copy < math.inf:
            problems.append(
                Problem(f"{where}.target_concurrent_requests_per_copy", component.target_concurrent_requests_per_copy, "a positive number")
            )
        for setting in ("scale_out_cooldown_in_seconds", "scale_in_cooldown_in_seconds"):
            if not 0 <= getattr(component, setting) <= 86400:
                problems.append(Problem(f"{where}.{setting}", getattr(component, setting), "0..86400 seconds"))
    if variant.autoscaling.enabled:
        problems.append(
            Problem(
                f"{path}.autoscaling.enabled",
                True,
                "a component scales its copies (component.autoscaling) and SageMaker its shared endpoint's instances "
                "(managed instance scaling); instance autoscaling of the variant would fight both: set it false",
            )
        )
    host = config.shared_endpoints[component.endpoint]
    instance = instance_facts(host.instance_type)
    if instance is None or not instance.gpus:
        return problems  # reported with the shared endpoint
    degree = engine_gpus(name, variant, instance)
    accelerators = component.accelerators_per_copy
    if accelerators is not None and accelerators != degree:
        problems.append(
            Problem(
                f"{where}.accelerators_per_copy",
                accelerators,
                f"must equal the GPUs the {variant.engine} engine shards over ({degree}, its tensor parallel degree): a copy sees only its own GPUs",
            )
        )
    requirements = copy_requirements(name, variant, instance)
    if requirements.accelerators > instance.gpus:
        problems.append(
            Problem(f"{where}.accelerators_per_copy", requirements.accelerators, f"at most the {instance.gpus} GPUs of a {instance.name}")
        )
    if not 0 < requirements.memory_mib <= instance.memory_gib * 1024:
        problems.append(
            Problem(
                f"{where}.memory_per_copy_mib", requirements.memory_mib, f"1..{instance.memory_gib * 1024} MiB (a {instance.name}'s memory)"
            )
        )
    cores = requirements.cpu_cores
    if cores is not None and not 0 < cores <= instance.vcpus:
        problems.append(
            Problem(f"{where}.cpu_cores_per_copy", cores, f"more than 0, at most the {instance.vcpus} vCPUs of a {instance.name}")
        )
    return problems


def _check_shared_endpoint(name: str, endpoint: SharedEndpointSettings) -> list[Problem]:
    path = f"shared_endpoints.{name}"
    problems = []
    instance = instance_facts(endpoint.instance_type)
    # An instance type without GPU facts is reported where each component is checked (the type is theirs too).
    if instance is not None and endpoint.kms_key_arn is not None and instance.nvme_instance_storage:
        problems.append(
            Problem(
                f"{path}.kms_key_arn",
                endpoint.kms_key_arn,
                f"has no effect on {instance.family} instances: their NVMe instance storage is encrypted by a hardware module; leave it unset",
            )
        )
    if endpoint.routing not in ROUTING:
        problems.append(Problem(f"{path}.routing", endpoint.routing, f"one of {', '.join(ROUTING)}"))
    if endpoint.max_instance_count < 1:
        problems.append(Problem(f"{path}.max_instance_count", endpoint.max_instance_count, "at least 1"))
    elif not 0 <= endpoint.min_instance_count <= endpoint.max_instance_count:
        problems.append(
            Problem(f"{path}.min_instance_count", endpoint.min_instance_count, f"0..max_instance_count ({endpoint.max_instance_count})")
        )
    elif not 1 <= endpoint.instance_count <= endpoint.max_instance_count:
        problems.append(
            Problem(f"{path}.instance_count", endpoint.instance_count, f"1..max_instance_count ({endpoint.max_instance_count})")
        )
    return problems


def _check_packing(
    name: str, endpoint: SharedEndpointSettings, instance: InstanceFacts, components: dict[str, VariantSettings]
) -> list[Problem]:
    """Every component at its largest copy count, together, within the endpoint's largest fleet."""
    needs = {n: copy_requirements(n, v, instance) for n, v in components.items()}
    most = {n: (v.component.max_copies if v.component.autoscaling else v.component.copies) for n, v in components.items()}
    fleet = endpoint.max_instance_count
    # Copies are placed on whole instances: count per instance how many copies of each fit.
    gpus = sum(needs[n].accelerators * most[n] for n in components)
    memory = sum(needs[n].memory_mib * most[n] for n in components)
    problems = []
    if gpus > instance.gpus * fleet:
        problems.append(
            Problem(
                f"shared_endpoints.{name}.max_instance_count",
                fleet,
                f"its components need {gpus} GPUs at their most copies ({_list(needs, most, 'accelerators')}); "
                f"{fleet} x {instance.name} has {instance.gpus * fleet}: raise it or lower max_copies",
            )
        )
    if memory > instance.memory_gib * 1024 * fleet:
        problems.append(
            Problem(
                f"shared_endpoints.{name}.max_instance_count",
                fleet,
                f"its components reserve {memory:,} MiB at their most copies; {fleet} x {instance.name} has "
                f"{instance.memory_gib * 1024 * fleet:,} MiB: raise it or lower memory_per_copy_mib",
            )
        )
    return problems


def _list(needs: dict[str, CopyRequirements], most: dict[str, int], field: str) -> str:
    return ", ".join(f"{n}: {most[n]} x {getattr(needs[n], field)}" for n in needs)


@dataclass(frozen=True)
class SharedCost:
    idle_per_hour: float  # at the fewest instances (0 when it scales to zero instances)
    most_per_hour: float  # at the most instances


def shared_cost(endpoint: SharedEndpointSettings) -> SharedCost:
    price = known_instance(endpoint.instance_type).price_per_hour
    return SharedCost(price * endpoint.min_instance_count, price * endpoint.max_instance_count)
