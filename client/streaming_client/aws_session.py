"""The boto3 session every script uses: the standard AWS settings, plus AWS_REGION."""

from __future__ import annotations

import os
from typing import Any


def aws_session(profile: str | None = None, region: str | None = None) -> Any:
    """Profile and region from the arguments, else the standard settings.

    botocore reads AWS_DEFAULT_REGION; AWS_REGION is what other SDKs and CI systems set.
    """
    import boto3  # imported late: --help stays fast

    return boto3.Session(profile_name=profile, region_name=region or os.environ.get("AWS_REGION") or None)
