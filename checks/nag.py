"""cdk-nag for the app, and the helpers that record reviewed findings next to their resources."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import Construct


def add_checks(scope: cdk.App | cdk.Stage, *, hipaa: bool = False) -> None:
    """cdk-nag packs; a finding fails the synth.

    Every synth runs AwsSolutions. The test suite adds the HIPAA pack for every profile: its one
    rule here that AwsSolutions lacks (a customer-managed KMS key on the endpoint's storage volume)
    is also a synth warning of the endpoint stack, so `cdk synth` need not pay the pack's ~0.4 s.
    """
    packs = [AwsSolutionsChecks(scope)] + ([HIPAASecurityChecks(scope)] if hipaa else [])
    cdk.Validations.of(scope).add_plugins(*packs)


def acknowledge(construct: Construct, finding: str, reason: str) -> None:
    """Record a reviewed cdk-nag finding on the narrowest construct it concerns."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))


def nag_form(value: str) -> str:
    """`value` as cdk-nag prints it in finding ids (pseudo parameters as <AWS::Name>)."""
    for token, name in ((cdk.Aws.PARTITION, "Partition"), (cdk.Aws.ACCOUNT_ID, "AccountId"), (cdk.Aws.REGION, "Region")):
        value = value.replace(token, f"<AWS::{name}>")
    return value
