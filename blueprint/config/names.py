"""The app's fixed names, and the app name that prefixes them (importable without the CDK).

Two copies of the app (two teams, or a second model) deploy side by side in one account and region
when their `app_name`s differ: every name that CloudFormation or IAM would otherwise share (stack
names, the model bucket, the pipeline's smoke-test roles) starts with it. The default, no app
name, keeps the names a deployed app already has.
"""

from __future__ import annotations

import re

BUCKET_STACK_ID = "LlmModelBucket"
ENDPOINT_STACK_PREFIX = "LlmEndpoint"
SHARED_ENDPOINT_STACK_PREFIX = "LlmSharedEndpoint"
PIPELINE_STACK_ID = "LlmDeliveryPipeline"
# Stage construct ids: a stage's stacks are named <Stage>-<stack id>, e.g. Dev-LlmEndpointTgi.
STAGE_IDS = {"dev": "Dev", "prod": "Prod"}
SMOKE_TEST_ROLE_PREFIX = "llm-smoke-test-"
# The pipeline's CodeBuild role that runs llm-smoke-test (named, so stages can trust it).
SMOKE_TEST_RUNNER_ROLE = "llm-pipeline-smoke-test-runner"

# Lowercase words of letters and digits joined by single hyphens: valid at the start of a stack
# name, an S3 bucket name and an IAM role name alike. 12 characters keep the longest derived names
# within their limits (role names 64, the bucket prefix 24).
APP_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
APP_NAME_MAX = 12


def prefixed(app_name: str, name: str) -> str:
    """`name` as the app `app_name` calls it: `<app_name>-<name>`, or `name` without an app name."""
    return f"{app_name}-{name}" if app_name else name


def endpoint_stack_id(deployment: str) -> str:
    """The endpoint stack's id for deployment `deployment` (a `variants.<name>` key): `LlmEndpoint`
    and the name's hyphen-separated words capitalized, so the seed's `tgi` keeps `LlmEndpointTgi`
    and `qwen-vllm` becomes `LlmEndpointQwenVllm`. The streaming client derives it the same way."""
    return ENDPOINT_STACK_PREFIX + "".join(word.capitalize() for word in deployment.split("-"))


def shared_endpoint_stack_id(endpoint: str) -> str:
    """The stack of shared endpoint `endpoint` (a `shared_endpoints.<name>` key): `pool` -> `LlmSharedEndpointPool`."""
    return SHARED_ENDPOINT_STACK_PREFIX + "".join(word.capitalize() for word in endpoint.split("-"))


def smoke_test_role_name(app_name: str, stage: str, variant: str) -> str:
    """The role in a stage's account that smoke-tests one variant's endpoint: known to both sides."""
    return prefixed(app_name, f"{SMOKE_TEST_ROLE_PREFIX}{stage}-{variant}")


def smoke_test_runner_role_name(app_name: str) -> str:
    return prefixed(app_name, SMOKE_TEST_RUNNER_ROLE)
