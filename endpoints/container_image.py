"""Resolves an image of the table to a URI and registry account, for a known or unknown region."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import Construct

from images.image_catalog import ImageEntry


@dataclass(frozen=True)
class ResolvedImage:
    uri: str
    registry_account: str
    repository: str

    def repository_arn(self) -> str:
        return f"arn:{cdk.Aws.PARTITION}:ecr:{cdk.Aws.REGION}:{self.registry_account}:repository/{self.repository}"


def resolve_image(scope: Construct, id: str, image: ImageEntry) -> ResolvedImage:
    """The image for the stack's region; an environment-agnostic stack gets a region mapping.

    The registry account differs per region, so an agnostic template carries the table's regions
    as a CloudFormation mapping and picks the row at deploy time.
    """
    region = cdk.Stack.of(scope).region
    if not cdk.Token.is_unresolved(region):
        row = image.regions[region]  # config validation has checked the region is there
        return ResolvedImage(row["uri"], row["account"], image.repository)
    mapping = cdk.CfnMapping(scope, id, mapping={r: dict(row) for r, row in sorted(image.regions.items())})
    return ResolvedImage(
        uri=mapping.find_in_map(cdk.Aws.REGION, "uri"),
        registry_account=mapping.find_in_map(cdk.Aws.REGION, "account"),
        repository=image.repository,
    )
