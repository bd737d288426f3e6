"""Composes the app's stacks from a configuration, and enables the checks every synth runs."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from blueprint.config.names import BUCKET_STACK_ID, endpoint_stack_id, prefixed, shared_endpoint_stack_id
from blueprint.config.settings import INFERENCE_COMPONENT, AppConfig
from stacks.component_stack import LlmComponentStack
from stacks.llm_endpoint_stack import LlmEndpointStack
from stacks.model_bucket_stack import ModelBucketStack
from stacks.shared_endpoint_stack import SharedEndpointStack
from stacks.smoke_test_access import SmokeTestAccess


@dataclass
class ComposedApp:
    bucket_stack: ModelBucketStack
    endpoint_stacks: dict[str, LlmEndpointStack | LlmComponentStack]  # by deployment
    shared_endpoint_stacks: dict[str, SharedEndpointStack]  # by shared endpoint


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
    shared_stacks = {
        name: SharedEndpointStack(
            scope,
            prefixed(config.app_name, shared_endpoint_stack_id(name)),
            config=config,
            name=name,
            env=env,
            description=f"Shared LLM endpoint {name}: instances for inference components",
        )
        for name in config.used_shared_endpoints()
    }
    endpoint_stacks: dict[str, LlmEndpointStack | LlmComponentStack] = {}
    for name, variant in config.enabled_variants().items():
        stack_id = prefixed(config.app_name, endpoint_stack_id(name))
        description = f"LLM streaming endpoint, {name} variant ({variant.model.id})"
        if variant.hosting == INFERENCE_COMPONENT:
            shared = shared_stacks[variant.component.endpoint]
            stack: LlmEndpointStack | LlmComponentStack = LlmComponentStack(
                scope,
                stack_id,
                config=config,
                variant=name,
                endpoint_name=shared.endpoint_name,
                network=shared.network,
                smoke_test=smoke_test,
                env=env,
                description=f"LLM inference component, {name} deployment on shared endpoint {variant.component.endpoint} ({variant.model.id})",
            )
            stack.add_stack_dependency(shared)  # the endpoint first; named, not referenced
        else:
            stack = LlmEndpointStack(scope, stack_id, config=config, variant=name, smoke_test=smoke_test, env=env, description=description)
        # Deploy order only: endpoints read weights from the bucket, by name, not by reference.
        stack.add_stack_dependency(bucket_stack)
        endpoint_stacks[name] = stack
    return ComposedApp(bucket_stack, endpoint_stacks, shared_stacks)
