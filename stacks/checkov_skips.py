"""Reviewed checkov findings, recorded in the template where checkov reads them.

checkov reads skips from a resource's `Metadata.checkov.skip` (its CDK scanning docs); each skip
names one check and gives the compensating control or the design reason as its comment, like the
cdk-nag acknowledgements in `stacks/nag.py`. tests/test_checks.py runs checkov over every
profile's templates and the pipeline's and fails on any finding or any skip without a reason.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


def skip_checkov(construct: Construct, check_id: str, reason: str) -> None:
    """Skip `check_id` on the CloudFormation resource of `construct` (an L1, or an L2's default child)."""
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to carry a checkov skip")
    if not reason.strip():
        raise ValueError("a checkov skip needs a reason a reviewer can accept")
    entry = resource.get_metadata("checkov") or {"skip": []}
    entry["skip"] = [*entry["skip"], {"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", entry)
