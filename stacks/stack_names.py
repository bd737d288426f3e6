"""Stack names of the app: blueprint/config/names.py holds them (and the app-name prefix)."""

from blueprint.config.names import BUCKET_STACK_ID, ENDPOINT_STACK_IDS, PIPELINE_STACK_ID, STAGE_IDS

__all__ = ["BUCKET_STACK_ID", "ENDPOINT_STACK_IDS", "PIPELINE_STACK_ID", "STAGE_IDS"]
