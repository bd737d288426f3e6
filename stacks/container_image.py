"""Resolves an image of the table to a URI and registry account, for a known or unknown region."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import Construct

from blueprint.images.image_catalog import ImageEntry


@dataclass(frozen=True)
class ResolvedImage:
    uri: str
    registry_account: str
    repository: str
    repository_arn: str


def resolve_image(scope: Construct, id: str, image: ImageEntry) -> ResolvedImage:
    """The image for the stack's region; an environment-agnostic stack gets a region mapping.

    The registry account differs per region, so an agnostic template carries the table's regions
    as a CloudFormation mapping and picks the row at deploy time.
    """
    stack = cdk.Stack.of(scope)
    if not cdk.Token.is_unresolved(stack.region):
        row = image.regions[stack.region]  # config validation has checked the region is there
        uri, account = row["uri"], row["account"]
    else:
        mapping = cdk.CfnMapping(scope, id, mapping={r: dict(row) for r, row in sorted(image.regions.items())})
        uri, account = mapping.find_in_map(cdk.Aws.REGION, "uri"), mapping.find_in_map(cdk.Aws.REGION, "account")
    arn = stack.format_arn(service="ecr", account=account, resource="repository", resource_name=image.repository)
    return ResolvedImage(uri=uri, registry_account=account, repository=image.repository, repository_arn=arn)
