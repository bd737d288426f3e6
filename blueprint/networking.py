"""VPC placement and invoke access: what each setting must be, and what each weights mode needs.

In a VPC, SageMaker gives each instance network interfaces in the subnets, and it downloads the
model data through them even when the container runs with network isolation (docs/networking.md):
every weights mode needs a way to S3 (an S3 gateway endpoint, or a NAT route), and the hub mode a
route to the internet. Nothing here can see the VPC (synth is offline): the settings say what the
subnets have, and these checks hold the weights modes to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from blueprint.config.errors import Problem
from blueprint.config.settings import INFERENCE_COMPONENT, AppConfig, NetworkSettings

_ID = r"[0-9a-f]{8}(?:[0-9a-f]{9})?"
PATTERNS = {
    "vpc": re.compile(rf"^vpc-{_ID}$"),
    "subnet": re.compile(rf"^subnet-{_ID}$"),
    "sg": re.compile(rf"^sg-{_ID}$"),
    "rtb": re.compile(rf"^rtb-{_ID}$"),
    "pl": re.compile(rf"^pl-{_ID}$"),
}
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5  # CreateModel's VpcConfig
_PRINCIPAL = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512})$")


def in_vpc(network: NetworkSettings) -> bool:
    return bool(network.subnet_ids)


def needs_s3(network: NetworkSettings) -> bool:
    """The created security group's egress must reach S3 through its prefix list (no NAT route)."""
    return not network.internet_route


def check_network(path: str, network: NetworkSettings, weights_modes: Iterable[str]) -> list[Problem]:
    """`path`'s `network` settings (`path` is `variants.<name>` or `shared_endpoints.<name>`), and
    what the weights modes of the deployments on it need from the subnets."""
    where = f"{path}.network"
    if not in_vpc(network):
        given = [
            name for name in ("vpc_id", "security_group_ids", "s3_endpoint_route_table_ids", "s3_prefix_list_id") if getattr(network, name)
        ]
        given += [name for name in ("s3_endpoint", "internet_route") if getattr(network, name)]
        return [
            Problem(f"{where}.{name}", getattr(network, name), "set network.subnet_ids too (no subnets: not in a VPC), or unset it")
            for name in given
        ]
    problems = []
    if network.vpc_id is None or not PATTERNS["vpc"].match(network.vpc_id):
        problems.append(Problem(f"{where}.vpc_id", network.vpc_id, "the VPC of the subnets, vpc- and 8 or 17 hexadecimal digits"))
    problems += _ids(f"{where}.subnet_ids", network.subnet_ids, "subnet")
    problems += _ids(f"{where}.security_group_ids", network.security_group_ids, "sg")
    problems += _ids(f"{where}.s3_endpoint_route_table_ids", network.s3_endpoint_route_table_ids, "rtb")
    if not 2 <= len(set(network.subnet_ids)) <= MAX_SUBNETS:
        problems.append(
            Problem(
                f"{where}.subnet_ids",
                network.subnet_ids,
                f"2..{MAX_SUBNETS} distinct subnets in at least two Availability Zones: SageMaker requires two, even for one instance",
            )
        )
    if len(network.security_group_ids) > MAX_SECURITY_GROUPS:
        problems.append(Problem(f"{where}.security_group_ids", network.security_group_ids, f"at most {MAX_SECURITY_GROUPS}"))
    if network.s3_prefix_list_id is not None and not PATTERNS["pl"].match(network.s3_prefix_list_id):
        problems.append(Problem(f"{where}.s3_prefix_list_id", network.s3_prefix_list_id, "pl- and 8 or 17 hexadecimal digits"))
    s3_reachable = network.s3_endpoint or bool(network.s3_endpoint_route_table_ids) or network.internet_route
    for mode in sorted(set(weights_modes)):
        if mode == "hub" and not network.internet_route:
            problems.append(
                Problem(
                    f"{where}.internet_route",
                    False,
                    "weights_loading=hub downloads the model from the Hugging Face hub: the subnets need a NAT route to the internet "
                    "(set internet_route=true once they have one; none is created here), or stage the weights and use weights_loading=s3",
                )
            )
        elif mode != "hub" and not s3_reachable:
            problems.append(
                Problem(
                    f"{where}.s3_endpoint",
                    False,
                    f"weights_loading={mode}: SageMaker downloads the model data through the VPC's subnets (network isolation does not "
                    "change that): give them an S3 gateway endpoint (s3_endpoint=true, or s3_endpoint_route_table_ids to create one) "
                    "or a NAT route (internet_route=true)",
                )
            )
    if not network.security_group_ids and needs_s3(network) and network.s3_prefix_list_id is None:
        problems.append(
            Problem(
                f"{where}.s3_prefix_list_id",
                None,
                "the security group the stack creates allows HTTPS only to S3: give the region's S3 prefix list (pl-...), or "
                "security_group_ids of your own",
            )
        )
    return problems


def _ids(path: str, ids: list[str], kind: str) -> list[Problem]:
    return [Problem(path, value, f"{kind}- and 8 or 17 hexadecimal digits") for value in ids if not PATTERNS[kind].match(value)]


def check_networking(config: AppConfig) -> list[Problem]:
    """Every VPC placement, one S3 gateway endpoint per VPC, and the invoke principals."""
    problems: list[Problem] = []
    creators: dict[str, str] = {}  # vpc -> the setting that creates its S3 gateway endpoint
    placements = []
    for name, variant in config.enabled_variants().items():
        path = f"variants.{name}"
        if variant.hosting == INFERENCE_COMPONENT:
            if in_vpc(variant.network):
                problems.append(
                    Problem(
                        f"{path}.network.subnet_ids",
                        variant.network.subnet_ids,
                        f"a component runs in its shared endpoint's network: set shared_endpoints.{variant.component.endpoint}.network",
                    )
                )
        else:
            placements.append((path, variant.network, [variant.weights_loading]))
        for principal in variant.invoke_principals:
            if not _PRINCIPAL.match(principal):
                problems.append(
                    Problem(
                        f"{path}.invoke_principals",
                        principal,
                        "an IAM role ARN (arn:aws:iam::<account>:role/<name>) or a 12-digit account id",
                    )
                )
    for name, endpoint in config.used_shared_endpoints().items():
        modes = [v.weights_loading for v in config.components_of(name).values()]
        placements.append((f"shared_endpoints.{name}", endpoint.network, modes))
    for path, network, modes in placements:
        problems += check_network(path, network, modes)
        if network.s3_endpoint_route_table_ids and network.vpc_id:
            if network.vpc_id in creators:
                problems.append(
                    Problem(
                        f"{path}.network.s3_endpoint_route_table_ids",
                        network.s3_endpoint_route_table_ids,
                        f"{creators[network.vpc_id]} already creates the S3 gateway endpoint of {network.vpc_id}: set s3_endpoint=true here instead",
                    )
                )
            creators.setdefault(network.vpc_id, f"{path}.network")
    return problems
