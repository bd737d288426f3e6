"""One streamed invocation: the request, the event stream, decoding, and the figures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from streaming_client.aws_errors import THROTTLING_CODES, translate
from streaming_client.errors import Interrupted, StreamFailed
from streaming_client.stream_decoder import AutoDecoder, StreamFormat

DEFAULT_READ_TIMEOUT_S = 600  # the longest silence allowed: a cold model can think a while first
DEFAULT_MAX_ATTEMPTS = 4  # the first try plus three retries of throttled or unavailable answers
_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 10.0


@dataclass
class StreamResult:
    """What came back and how fast."""

    endpoint: str
    text_parts: list[str] = field(default_factory=list)
    format: StreamFormat | None = None
    content_type: str | None = None
    invoked_variant: str | None = None
    time_to_first_token_s: float | None = None
    total_s: float = 0.0
    output_tokens: int = 0
    # False when the format has no token events and parts were counted instead.
    tokens_exact: bool = True
    # The inference component invoked, if any; and when it had no copy at the first request, the
    # seconds from that request to this answer's first token (the wait for a copy included).
    component: str | None = None
    cold_start_s: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens over end-to-end time (llmperf's output throughput per request)."""
        return self.output_tokens / self.total_s if self.total_s > 0 and self.output_tokens else None

    def figures(self) -> dict:
        return {
            "time_to_first_token_s": self.time_to_first_token_s,
            "output_tokens": self.output_tokens,
            "tokens_per_second": self.tokens_per_second,
            "total_s": self.total_s,
            "cold_start_s": self.cold_start_s,
        }


def runtime_client(session: Any, *, read_timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Any:
    """sagemaker-runtime client with a long read timeout and no retries of its own.

    botocore would also retry read timeouts, sending the whole generation again; `stream_text`
    retries only throttled or unavailable answers instead.
    """
    config = Config(
        read_timeout=read_timeout_s,
        connect_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 1},
        user_agent_extra="llm-streaming-smoke-test",
    )
    return session.client("sagemaker-runtime", config=config)


def _invoke_with_retries(runtime: Any, request: dict, max_attempts: int, sleep: Callable[[float], None]) -> dict:
    for attempt in range(1, max_attempts + 1):
        try:
            return runtime.invoke_endpoint_with_response_stream(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if (code not in THROTTLING_CODES and status != 429) or attempt == max_attempts:
                error.response.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempt - 1
                raise
            # Full jitter: spreads the retries of many clients.
            sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))
    raise AssertionError("unreachable")


def stream_text(
    runtime: Any,
    endpoint: str,
    body: bytes,
    *,
    custom_attributes: str | None = None,
    component: str | None = None,
    on_text: Callable[[str], None] = lambda text: None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamResult:
    """Invoke with response streaming; call `on_text` with each piece of text as it is decoded.
    `component` names the inference component to invoke on an endpoint that hosts components.

    Raises a `SmokeTestError`; a failure after the stream started carries the partial result.
    """
    result = StreamResult(endpoint=endpoint, component=component)
    start = clock()
    request = {"EndpointName": endpoint, "Body": body, "ContentType": "application/json", "Accept": "*/*"}
    if custom_attributes:
        request["CustomAttributes"] = custom_attributes
    if component:
        request["InferenceComponentName"] = component
    try:
        response = _invoke_with_retries(runtime, request, max_attempts, sleep)
    except Exception as error:  # noqa: BLE001 - every failure becomes one typed line
        target = f"component {component} of endpoint {endpoint}" if component else f"endpoint {endpoint}"
        raise translate(error, f"invoking {target}") from None
    result.content_type = response.get("ContentType")
    result.invoked_variant = response.get("InvokedProductionVariant")
    decoder = AutoDecoder(result.content_type)
    stream = response["Body"]

    def take(pieces: list) -> None:
        for piece in pieces:
            result.output_tokens += piece.tokens
            if piece.text:
                if result.time_to_first_token_s is None:
                    result.time_to_first_token_s = clock() - start
                result.text_parts.append(piece.text)
                on_text(piece.text)

    try:
        for event in stream:
            part = event.get("PayloadPart")
            if part is not None:
                take(decoder.feed(part.get("Bytes", b"")))
                if decoder.error:
                    raise decoder.error
        take(decoder.close())
        if decoder.error:
            raise decoder.error
    except KeyboardInterrupt:
        # Ctrl-C mid-stream: what arrived so far goes with it, for the caller to report.
        raise Interrupted(f"interrupted after {result.output_tokens} output tokens", partial=result) from None
    except Exception as error:  # noqa: BLE001
        failure = translate(error, f"streaming from endpoint {endpoint}")
        if not isinstance(failure, StreamFailed):  # once the stream began, any failure is a stream failure
            failure = StreamFailed(str(failure))
        failure.partial = result
        raise failure from None
    finally:
        # Whole or partial (a failure carries `result`): the figures of what arrived.
        stream.close()
        result.format = decoder.format
        result.tokens_exact = decoder.tokens_exact
        result.total_s = clock() - start
    return result
