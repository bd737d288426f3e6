"""The delivery pipeline, added to the app only when `pipeline.enabled` (and only then imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk

from blueprint.config.names import PIPELINE_STACK_ID, prefixed
from blueprint.config.settings import AppConfig

if TYPE_CHECKING:
    from stacks.delivery_pipeline_stack import DeliveryPipelineStack


def add_pipeline(app: cdk.App, config: AppConfig) -> DeliveryPipelineStack | None:
    """The delivery pipeline when `pipeline.enabled`, beside the workstation stacks (which stay usable)."""
    if not config.pipeline.enabled:
        return None
    # Imported here: CDK Pipelines and CodeBuild cost ~0.13 s of import on every workstation synth.
    from stacks.delivery_pipeline_stack import DeliveryPipelineStack

    return DeliveryPipelineStack(
        app,
        prefixed(config.app_name, PIPELINE_STACK_ID),
        config=config,
        env=cdk.Environment(account=config.pipeline.account, region=config.pipeline.region),
        description="Delivery pipeline: tests, synth, then each stage with a smoke test",
    )
