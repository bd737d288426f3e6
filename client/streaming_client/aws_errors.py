"""Translation of botocore failures into the typed errors of `streaming_client.errors`."""

from __future__ import annotations

from botocore.eventstream import ParserError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from streaming_client.errors import (
    ComponentHasNoCopy,
    ConnectionFailed,
    EndpointNotFound,
    RequestRejected,
    SmokeTestError,
    StreamFailed,
    Throttled,
    UsageError,
)

# Codes that botocore's standard retry mode retries; seen here only once the retries ran out.
THROTTLING_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ModelNotReadyException",
}
_NOT_FOUND_HINTS = ("could not find", "not found", "does not exist")
# SageMaker runtime's answer to a request for an inference component that runs no copy (scaled to
# zero): a ValidationError (HTTP 400), "Inference Component has no capacity to process this request.
# ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by
# invoking UpdateInferenceComponentRuntimeConfig API." (the AWS Machine Learning Blog's scale down
# to zero post, December 2024; the API reference does not list it).
_NO_CAPACITY_HINT = "has no capacity"
_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
}


def translate(error: Exception, doing: str) -> SmokeTestError:
    """One readable line for a botocore failure while `doing` (e.g. "invoking endpoint x")."""
    if isinstance(error, SmokeTestError):
        return error
    if isinstance(error, EventStreamError):
        code = error.response.get("Error", {}).get("Code", "stream error")
        message = error.response.get("Error", {}).get("Message", "")
        return StreamFailed(f"{doing}: the stream failed with {code}: {message}".rstrip(": "))
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if code in THROTTLING_CODES or status == 429:
            return Throttled(f"{doing}: {code} after {attempts + 1} attempts: {message}")
        if code in _CREDENTIAL_CODES:
            return UsageError(f"{doing}: the AWS credentials were refused ({code}): {message}")
        if code == "ValidationError" and _NO_CAPACITY_HINT in message.lower():
            return ComponentHasNoCopy(f"{doing}: {message}")
        if code in {"ValidationError", "ValidationException"} and any(h in message.lower() for h in _NOT_FOUND_HINTS):
            return EndpointNotFound(f"{doing}: {message}")
        if code == "ModelError":
            return RequestRejected(f"{doing}: the model container returned an error: {message}")
        return RequestRejected(f"{doing}: {code}: {message}")
    # The event stream reads urllib3 directly: its failures arrive unwrapped once streaming began.
    if isinstance(error, Urllib3ReadTimeoutError):
        return StreamFailed(f"{doing}: nothing arrived within the read timeout ({error})")
    if isinstance(error, ProtocolError):
        return StreamFailed(f"{doing}: the connection broke mid-stream ({error})")
    if isinstance(error, ParserError):
        return StreamFailed(f"{doing}: a corrupt event-stream frame ({type(error).__name__}: {error})")
    if isinstance(error, (ProfileNotFound, InvalidRegionError)):
        return UsageError(f"{doing}: {error}")
    if isinstance(error, NoCredentialsError):
        return UsageError(f"{doing}: no AWS credentials (set AWS_PROFILE, use --profile, or configure the AWS CLI)")
    if isinstance(error, NoRegionError):
        return UsageError(f"{doing}: no AWS region (set AWS_REGION or use --region)")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return ConnectionFailed(f"{doing}: cannot reach the service: {error}")
    if isinstance(error, ReadTimeoutError):
        return ConnectionFailed(f"{doing}: no answer within the read timeout ({error})")
    if isinstance(error, BotoCoreError):
        return ConnectionFailed(f"{doing}: {error}")
    return SmokeTestError(f"{doing}: unexpected {type(error).__name__}: {error}")
