"""Stack names of the app, importable without the CDK (the smoke test derives stacks from them)."""

BUCKET_STACK_ID = "LlmModelBucket"
ENDPOINT_STACK_IDS = {"tgi": "LlmEndpointTgi", "lmi": "LlmEndpointLmi"}
PIPELINE_STACK_ID = "LlmDeliveryPipeline"
# Stage construct ids: a stage's stacks are named <Stage>-<stack id>, e.g. Dev-LlmEndpointTgi.
STAGE_IDS = {"dev": "Dev", "prod": "Prod"}
