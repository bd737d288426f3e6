"""Client of the deployed endpoints: payloads, endpoint discovery, streaming and stream decoding.

Library code: it never prints and raises `streaming_client.errors.SmokeTestError` subclasses,
each with the exit code the command-line script (`llm-smoke-test`) uses.
"""
