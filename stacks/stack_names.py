"""Stack names of the app, importable without the CDK (the smoke test derives stacks from them)."""

BUCKET_STACK_ID = "LlmModelBucket"
ENDPOINT_STACK_IDS = {"tgi": "LlmEndpointTgi", "lmi": "LlmEndpointLmi"}
