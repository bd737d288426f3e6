"""Composes the app's stacks from a configuration, and enables the checks every synth runs."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from blueprint.config.names import BUCKET_STACK_ID, endpoint_stack_id, prefixed
from blueprint.config.settings import AppConfig
from stacks.llm_endpoint_stack import LlmEndpointStack
from stacks.model_bucket_stack import ModelBucketStack
from stacks.smoke_test_access import SmokeTestAccess


@dataclass
class ComposedApp:
    bucket_stack: ModelBucketStack
    endpoint_stacks: dict[str, LlmEndpointStack]


def compose(scope: cdk.App | cdk.Stage, config: AppConfig, *, smoke_test: SmokeTestAccess | None = None) -> ComposedApp:
    """The bucket stack and one endpoint stack per enabled deployment, in `config`'s environment.

    `smoke_test`: in a pipeline stage, each endpoint stack adds a role the pipeline assumes to test it.
    """
    env = cdk.Environment(account=config.account, region=config.region)
    bucket_stack = ModelBucketStack(
        scope,
        prefixed(config.app_name, BUCKET_STACK_ID),
        bucket_name_prefix=config.bucket_name_prefix(),
        env=env,
        description="Model weights bucket (stateful, retained)",
    )
    endpoint_stacks = {
        name: LlmEndpointStack(
            scope,
            prefixed(config.app_name, endpoint_stack_id(name)),
            config=config,
            variant=name,
            smoke_test=smoke_test,
            env=env,
            description=f"LLM streaming endpoint, {name} variant ({variant.model.id})",
        )
        for name, variant in config.enabled_variants().items()
    }
    for stack in endpoint_stacks.values():
        # Deploy order only: endpoints read weights from the bucket, by name, not by reference.
        stack.add_stack_dependency(bucket_stack)
    return ComposedApp(bucket_stack, endpoint_stacks)
