"""An inference component scaled to zero: the request that starts its scale-out, the wait for a
copy, and the cold start (seconds from the first request to the first token).

SageMaker starts a copy of a component with no copy only when an invocation fails for lack of
capacity: that failure is the `NoCapacityInvocationFailures` metric whose alarm drives the
component's step-scaling policy (SageMaker developer guide, *Scale an endpoint to zero
instances*). So the client sends its one request, and on that failure polls
DescribeInferenceComponent until `CurrentCopyCount` is at least 1, then sends it again; it never
re-sends while no copy is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streaming_client import invocation
from streaming_client.endpoint_discovery import current_copies, describe_component
from streaming_client.errors import ComponentHasNoCopy, EndpointNotInService, Interrupted

COMPONENT_WAITING_STATES = {"Creating", "Updating"}


def copies_line(component: dict, elapsed_s: float) -> str:
    """One progress line: `component X: 0 copies (1 desired), InService (12 s)`."""
    runtime = component.get("RuntimeConfig") or {}
    current, desired = runtime.get("CurrentCopyCount"), runtime.get("DesiredCopyCount")
    status = component.get("InferenceComponentStatus", "Unknown")
    return f"component {component.get('InferenceComponentName')}: {current} copies ({desired} desired), {status} ({elapsed_s:.0f} s)"


def wait_for_copy(
    sagemaker: Any,
    component: str,
    *,
    timeout_s: float,
    poll_s: float,
    already_s: float = 0.0,
    on_status: Callable[[dict, float], None] = lambda description, elapsed: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Poll DescribeInferenceComponent until the component runs a copy; fail at once when it is
    Failed, or at the time limit (saying so when nothing asked for a copy: no scale-out alarm).
    Times count from `already_s` seconds ago (the first request)."""
    start = clock() - already_s
    try:
        while True:
            description = describe_component(sagemaker, component)
            elapsed = clock() - start
            on_status(description, elapsed)
            if (current_copies(description) or 0) >= 1:
                return description
            state = description.get("InferenceComponentStatus", "Unknown")
            if state == "Failed":
                reason = description.get("FailureReason")
                raise EndpointNotInService(f"component {component} is Failed" + (f": {reason}" if reason else ""))
            if elapsed + poll_s > timeout_s:
                desired = (description.get("RuntimeConfig") or {}).get("DesiredCopyCount")
                hint = (
                    "; its desired copy count is still 0: does an alarm on NoCapacityInvocationFailures drive its scale-out?"
                    if desired == 0
                    else ""
                )
                raise ComponentHasNoCopy(f"component {component} still has no copy after {elapsed:.0f} s (limit {timeout_s:.0f} s){hint}")
            sleep(poll_s)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while waiting for a copy of component {component} (its scale-out goes on)") from None


def stream_waking(
    runtime: Any,
    sagemaker: Any,
    endpoint: str,
    body: bytes,
    *,
    component: str | None,
    wait: bool,
    timeout_s: float,
    poll_s: float,
    scaled_to_zero: bool = False,
    on_no_copy: Callable[[], None] = lambda: None,
    on_status: Callable[[dict, float], None] = lambda description, elapsed: None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    **stream_options: Any,
) -> invocation.StreamResult:
    """`invocation.stream_text`, through a component's scale-out from zero.

    A request refused for lack of capacity is reported once (`on_no_copy`, unless the caller
    already knew, `scaled_to_zero`); without `wait` it ends the run (ComponentHasNoCopy, exit 4),
    its scale-out started. With `wait`, DescribeInferenceComponent is polled (`on_status`) up to
    `timeout_s` from the first request, and the request is sent again once a copy runs. The result's
    `cold_start_s` is set when the component had no copy at the first request.
    """
    start = clock()
    refusals = 0
    while True:
        sent = clock()
        try:
            result = invocation.stream_text(runtime, endpoint, body, component=component, clock=clock, sleep=sleep, **stream_options)
        except ComponentHasNoCopy as error:
            if component is None:
                raise
            if not wait:
                raise ComponentHasNoCopy(
                    f"component {component} has no copy (scaled to zero); this request started its scale-out: "
                    "pass --wait to wait for a copy and stream"
                ) from None
            refusals += 1
            if not scaled_to_zero:
                on_no_copy()
                scaled_to_zero = True
            if refusals > 1:  # a copy was reported but the request was refused again: not at once
                if clock() - start + poll_s > timeout_s:
                    raise error from None
                sleep(poll_s)
            wait_for_copy(
                sagemaker, component, timeout_s=timeout_s, poll_s=poll_s, already_s=clock() - start, on_status=on_status, sleep=sleep
            )
            continue
        if scaled_to_zero and result.time_to_first_token_s is not None:
            result.cold_start_s = sent - start + result.time_to_first_token_s
        return result
