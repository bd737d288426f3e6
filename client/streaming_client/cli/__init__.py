"""Console scripts of the client (`llm-smoke-test`, `llm-verify-deployment`): one line per failure, an exit code each."""
