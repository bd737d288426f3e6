"""Runs requests at each concurrency level and records per-request timings.

Definitions follow llmperf: time to first token (TTFT) from sending the request to the first
text; inter-token latency (ITL) as the mean gap between output tokens after the first,
(last token time - first token time) / (output tokens - 1); end-to-end latency to the last byte;
per-request output throughput = output tokens / end-to-end latency; aggregate throughput = all
output tokens of a level / the level's wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from streaming_client import invocation
from streaming_client.errors import SmokeTestError


@dataclass
class RequestRecord:
    ok: bool
    time_to_first_token_s: float | None = None
    inter_token_latency_s: float | None = None
    end_to_end_s: float = 0.0
    output_tokens: int = 0
    error: str | None = None


@dataclass
class LevelRecord:
    concurrency: int
    wall_s: float
    requests: list[RequestRecord] = field(default_factory=list)


def one_request(
    runtime: Any,
    endpoint: str,
    body: bytes,
    custom_attributes: str | None,
    clock: Callable[[], float] = time.perf_counter,
    component: str | None = None,
) -> RequestRecord:
    stamps: list[float] = []
    start = clock()
    try:
        result = invocation.stream_text(
            runtime,
            endpoint,
            body,
            custom_attributes=custom_attributes,
            component=component,
            on_text=lambda _: stamps.append(clock()),
            clock=clock,
        )
    except SmokeTestError as error:
        return RequestRecord(ok=False, end_to_end_s=clock() - start, error=f"{type(error).__name__}: {error}")
    end = clock()
    itl = (stamps[-1] - stamps[0]) / (result.output_tokens - 1) if len(stamps) > 1 and result.output_tokens > 1 else None
    return RequestRecord(True, result.time_to_first_token_s, itl, end - start, result.output_tokens)


def run_level(
    runtime: Any,
    endpoint: str,
    body: bytes,
    *,
    concurrency: int,
    requests: int,
    deadline: float,
    custom_attributes: str | None = None,
    component: str | None = None,
    on_done: Callable[[RequestRecord], None] = lambda record: None,
) -> LevelRecord:
    """`requests` requests, `concurrency` at a time; none starts after `deadline` (monotonic).
    `component` names the inference component each request invokes, if any."""
    lock = threading.Lock()
    remaining = [requests]
    records: list[RequestRecord] = []

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            record = one_request(runtime, endpoint, body, custom_attributes, component=component)
            with lock:
                records.append(record)
            on_done(record)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return LevelRecord(concurrency, time.perf_counter() - start, records)
