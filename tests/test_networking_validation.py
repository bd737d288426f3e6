"""VPC placement and invoke access checked without synth: each setting, and what each weights mode
needs from the subnets (SageMaker downloads model data through them, isolated container or not)."""

from __future__ import annotations

import pytest

from blueprint.config.errors import ConfigError
from blueprint.loader import load_config

VPC, SUBNETS = "vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718"
N = "variants.tgi.network"
SEED_IN_VPC = {f"{N}.vpc_id": VPC, f"{N}.subnet_ids": SUBNETS, "variants.lmi.enabled": "false"}


def found(**context: str) -> list[tuple[str, object, str]]:
    try:
        load_config(context)
    except ConfigError as error:
        return [(p.path, p.value, p.allowed) for p in error.problems]
    return []


def test_the_seed_in_a_vpc_with_a_nat_route_and_its_own_groups_is_valid():
    assert found(**SEED_IN_VPC, **{f"{N}.internet_route": "true"}) == []
    assert found(**SEED_IN_VPC, **{f"{N}.internet_route": "true", f"{N}.security_group_ids": "sg-0a1b2c3d"}) == []


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (
            {},  # hub mode, no route to the internet
            [
                (
                    f"{N}.internet_route",
                    False,
                    "weights_loading=hub downloads the model from the Hugging Face hub: the subnets need a NAT route to the internet "
                    "(set internet_route=true once they have one; none is created here), or stage the weights and use weights_loading=s3",
                ),
                (
                    f"{N}.s3_prefix_list_id",
                    None,
                    "the security group the stack creates allows HTTPS only to S3: give the region's S3 prefix list (pl-...), or security_group_ids of your own",
                ),
            ],
        ),
        (
            {"variants.tgi.weights_loading": "s3", "variants.tgi.hub_token_secret": "none", f"{N}.s3_prefix_list_id": "pl-63a5400a"},
            [
                (
                    f"{N}.s3_endpoint",
                    False,
                    "weights_loading=s3: SageMaker downloads the model data through the VPC's subnets (network isolation does not change that): "
                    "give them an S3 gateway endpoint (s3_endpoint=true, or s3_endpoint_route_table_ids to create one) or a NAT route (internet_route=true)",
                )
            ],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.subnet_ids": "subnet-0a1b2c3d4e5f60718"},
            [
                (
                    f"{N}.subnet_ids",
                    ["subnet-0a1b2c3d4e5f60718"],
                    "2..16 distinct subnets in at least two Availability Zones: SageMaker requires two, even for one instance",
                )
            ],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.subnet_ids": "subnet-0a1b2c3d,subnet-0a1b2c3d"},
            [
                (
                    f"{N}.subnet_ids",
                    ["subnet-0a1b2c3d", "subnet-0a1b2c3d"],
                    "2..16 distinct subnets in at least two Availability Zones: SageMaker requires two, even for one instance",
                )
            ],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.subnet_ids": "subnet-0a1b2c3d,sub-1"},
            [(f"{N}.subnet_ids", "sub-1", "subnet- and 8 or 17 hexadecimal digits")],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.vpc_id": "vpc-xyz"},
            [(f"{N}.vpc_id", "vpc-xyz", "the VPC of the subnets, vpc- and 8 or 17 hexadecimal digits")],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.security_group_ids": "sg-1"},
            [(f"{N}.security_group_ids", "sg-1", "sg- and 8 or 17 hexadecimal digits")],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.security_group_ids": ",".join(f"sg-0000000{i}" for i in range(6))},
            [(f"{N}.security_group_ids", [f"sg-0000000{i}" for i in range(6)], "at most 5")],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.s3_endpoint_route_table_ids": "rtb-9"},
            [(f"{N}.s3_endpoint_route_table_ids", "rtb-9", "rtb- and 8 or 17 hexadecimal digits")],
        ),
        (
            {f"{N}.internet_route": "true", f"{N}.s3_prefix_list_id": "pl-1"},
            [(f"{N}.s3_prefix_list_id", "pl-1", "pl- and 8 or 17 hexadecimal digits")],
        ),
    ],
)
def test_each_network_problem_names_the_setting_the_value_and_the_way(context, expected):
    assert found(**{**SEED_IN_VPC, **context}) == expected


def test_network_settings_without_subnets_are_refused():
    assert found(**{f"{N}.vpc_id": VPC, f"{N}.internet_route": "true"}) == [
        (f"{N}.vpc_id", VPC, "set network.subnet_ids too (no subnets: not in a VPC), or unset it"),
        (f"{N}.internet_route", True, "set network.subnet_ids too (no subnets: not in a VPC), or unset it"),
    ]


def test_one_vpc_gets_one_s3_gateway_endpoint():
    both = {
        **{
            f"variants.{v}.network.{k}": x
            for v in ("tgi", "lmi")
            for k, x in (("vpc_id", VPC), ("subnet_ids", SUBNETS), ("internet_route", "true"))
        },
        **{f"variants.{v}.network.s3_endpoint_route_table_ids": "rtb-0a1b2c3d" for v in ("tgi", "lmi")},
    }
    assert found(**both) == [
        (
            "variants.lmi.network.s3_endpoint_route_table_ids",
            ["rtb-0a1b2c3d"],
            f"variants.tgi.network already creates the S3 gateway endpoint of {VPC}: set s3_endpoint=true here instead",
        )
    ]


def test_invoke_principals_are_role_arns_or_account_ids():
    good = "arn:aws:iam::444455556666:role/team/app-backend,777788889999"
    assert found(**{"variants.tgi.invoke_principals": good}) == []
    assert found(**{"variants.tgi.invoke_principals": "arn:aws:iam::444455556666:user/alice"}) == [
        (
            "variants.tgi.invoke_principals",
            "arn:aws:iam::444455556666:user/alice",
            "an IAM role ARN (arn:aws:iam::<account>:role/<name>) or a 12-digit account id",
        )
    ]
    assert load_config({"variants.tgi.invoke_principals": '["777788889999"]'}).variants["tgi"].invoke_principals == ["777788889999"]


def test_a_component_takes_its_shared_endpoints_network():
    context = {"profile": "qwen3-packed", "variants.qwen-8b.network.subnet_ids": SUBNETS}
    assert found(**context) == [
        (
            "variants.qwen-8b.network.subnet_ids",
            SUBNETS.split(","),
            "a component runs in its shared endpoint's network: set shared_endpoints.pool.network",
        )
    ]
    shared = {"profile": "qwen3-packed", "shared_endpoints.pool.network.vpc_id": VPC, "shared_endpoints.pool.network.subnet_ids": SUBNETS}
    assert [p[0] for p in found(**shared)] == [
        "shared_endpoints.pool.network.internet_route",
        "shared_endpoints.pool.network.s3_prefix_list_id",
    ]
