"""A loopback server that speaks the real wire protocols of the AWS calls the smoke test makes.

- sagemaker-runtime InvokeEndpointWithResponseStream (rest-json): HTTP chunked transfer of genuine
  `application/vnd.amazon.eventstream` frames (prelude, headers, payload, CRC32s), one chunk per
  frame, flushed frame by frame; errors as `x-amzn-ErrorType` JSON answers. InvokeEndpoint answers
  the same scripts as one body.
- inference components (`Component`): an endpoint that hosts them is invoked with one
  (`InferenceComponentName`, the `X-Amzn-SageMaker-Inference-Component` header); a component with
  no copy refuses with the runtime's no-capacity ValidationError, and a scripted scale-out
  (`ScaleOut`) starts a copy after that refusal, after some DescribeInferenceComponent polls or
  some time.
- sagemaker DescribeEndpoint / DescribeEndpointConfig / DescribeModel / DescribeInferenceComponent /
  ListInferenceComponents (json 1.1, X-Amz-Target).
- cloudformation DescribeStacks (query protocol, XML).

Tests script what each endpoint answers with `Scenario`s; boto3 reaches the server through
`AWS_ENDPOINT_URL`, so the code under test runs unchanged down to the socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from tools.loopback.samples import DEFAULT_IMAGE


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def eventstream_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of the AWS event stream encoding (string headers only)."""
    encoded_headers = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + encoded_headers + payload
    return message + struct.pack("!I", zlib.crc32(message))


def payload_part(data: bytes) -> bytes:
    return eventstream_frame({":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"}, data)


def exception_event(kind: str, message: str, error_code: str | None = None) -> bytes:
    body = {"Message": message} | ({"ErrorCode": error_code} if error_code else {})
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return eventstream_frame(headers, json.dumps(body).encode())


@dataclass
class Stream:
    """A successful answer: these PayloadPart payloads, then maybe an exception event."""

    parts: list[bytes]
    content_type: str | None = None
    exception: tuple[str, str] | None = None  # (ModelStreamError | InternalStreamFailure, message)
    delay_s: float = 0.0  # between frames
    first_delay_s: float = 0.0  # before the first frame (the response headers are already sent)
    headers_delay_s: float = 0.0  # before the response headers
    cut_after_parts: int | None = None  # drop the connection (no final chunk) after this many parts


@dataclass
class Scheduled:
    """A model server with a known schedule: `slots` requests generate at once, the rest queue.

    Each request waits for a slot, then sends its first token `ttft_s` later and one token every
    `per_token_s` after that (timed from the slot, so sleeps do not drift), as TGI SSE events.
    """

    ttft_s: float
    per_token_s: float
    tokens: int
    slots: threading.Semaphore


@dataclass
class HttpError:
    status: int
    code: str
    message: str


@dataclass
class Endpoint:
    name: str
    image: str = DEFAULT_IMAGE
    status: str = "InService"
    instance_count: int = 1
    instance_type: str = "ml.g5.12xlarge"
    failure_reason: str | None = None
    # Successive DescribeEndpoint statuses before `status` (e.g. ["Creating", "Creating"]).
    status_sequence: list[str] = field(default_factory=list)
    # Successive answers to invocations; the last one repeats.
    answers: list[Stream | Scheduled | HttpError] = field(default_factory=list)
    invocations: list[dict] = field(default_factory=list)  # every one, with the component it named
    # An endpoint for inference components (LoopbackAws.add_component): no model of its own.
    hosts_components: bool = False


# SageMaker runtime's answers about inference components (ValidationError, HTTP 400). The no-capacity
# text is the one the AWS Machine Learning Blog's scale down to zero post (December 2024) shows; the
# header-required text is from a user's report of InvokeEndpoint on such an endpoint; the unknown
# component's is the loopback's own (no AWS text found).
NO_CAPACITY_MESSAGE = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)
HEADER_REQUIRED_MESSAGE = (
    "Inference Component Name header is required for endpoints to which you plan to deploy inference components. "
    "Please include Inference Component Name header or consider using SageMaker models."
)


@dataclass
class ScaleOut:
    """What the component's scale-out-from-zero alarm and policy do after a refused request: ask
    for a copy at once (DesiredCopyCount 1), and run it after `polls` DescribeInferenceComponent
    answers or `after_s` seconds, whichever comes first (None: never by that measure)."""

    polls: int | None = None
    after_s: float | None = None


@dataclass
class Component:
    """An inference component of an endpoint: its model's image, its copies, and its answers."""

    name: str
    endpoint: str
    image: str = DEFAULT_IMAGE
    copies: int = 1
    desired: int | None = None  # DesiredCopyCount (default: `copies`)
    status: str = "InService"
    variant: str = "AllTraffic"
    scale_out: ScaleOut | None = None  # None: no alarm, a refusal starts nothing
    # Requests still refused once a copy runs (the router catching up with the new copy).
    refusals_after_copy: int = 0
    # Successive answers to the invocations it serves; the last one repeats.
    answers: list[Stream | Scheduled | HttpError] = field(default_factory=list)
    invocations: list[dict] = field(default_factory=list)  # served ones
    refused: int = 0  # invocations refused for lack of capacity
    describes: int = 0  # DescribeInferenceComponent answers
    scale_out_started: float | None = None  # when the first refusal started the scale-out
    describes_before_scale_out: int = 0

    def advance(self) -> None:
        """Run the copy once the scheduled scale-out is due."""
        if self.copies or self.scale_out is None or self.scale_out_started is None:
            return
        by_polls = self.scale_out.polls is not None and self.describes - self.describes_before_scale_out >= self.scale_out.polls
        by_time = self.scale_out.after_s is not None and time.monotonic() - self.scale_out_started >= self.scale_out.after_s
        if by_polls or by_time:
            self.copies = 1

    def refuse(self) -> None:
        self.refused += 1
        if self.scale_out is not None and self.scale_out_started is None:
            self.scale_out_started = time.monotonic()
            self.describes_before_scale_out = self.describes
            self.desired = max(self.desired or 0, 1)


@dataclass
class StackOutputs:
    name: str
    outputs: dict[str, str]


class LoopbackAws:
    """Threaded server on 127.0.0.1; `url` goes into AWS_ENDPOINT_URL."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.stacks: dict[str, StackOutputs] = {}
        self.components: dict[str, Component] = {}
        self.requests: list[str] = []
        self.list_page_size = 10  # ListInferenceComponents' page (a test makes it 1 to page)
        self.denied: set[str] = set()  # SageMaker actions answered AccessDeniedException (a narrow role)
        handler = type("Handler", (_Handler,), {"aws": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # close() waits for the serving loop to see its shutdown: it looks every 50 ms (serve_forever's
        # default, 0.5 s, kept a demo or a test session waiting up to half a second at the end).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_endpoint(self, endpoint: Endpoint) -> Endpoint:
        self.endpoints[endpoint.name] = endpoint
        return endpoint

    def add_component(self, component: Component) -> Component:
        self.endpoints[component.endpoint].hosts_components = True
        self.components[component.name] = component
        return component

    def add_stack(self, name: str, outputs: dict[str, str]) -> None:
        self.stacks[name] = StackOutputs(name, outputs)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    aws: LoopbackAws
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # the client went away: nothing to answer
            super().handle()

    def setup(self) -> None:
        super().setup()
        # Frames go out as written, like a real streaming server (no Nagle delay on small writes).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        self.aws.requests.append(target or self.path)
        if self.path.startswith("/endpoints/") and self.path.endswith(("/invocations-response-stream", "/invocations")):
            name = unquote(self.path.split("/")[2])
            try:
                return self._invoke(name, body, streaming=self.path.endswith("-response-stream"))
            except (BrokenPipeError, ConnectionResetError):
                return None  # the client stopped reading: nothing left to answer
        if target.startswith("SageMaker."):
            return self._sagemaker(target.removeprefix("SageMaker."), json.loads(body or b"{}"))
        form = parse_qs(body.decode())
        if form.get("Action") == ["DescribeStacks"]:
            return self._describe_stacks(form["StackName"][0])
        self._send(404, b"{}", "application/json")

    # --- sagemaker-runtime -------------------------------------------------------------------

    def _invoke(self, name: str, body: bytes, streaming: bool = True) -> None:
        endpoint = self.aws.endpoints.get(name)
        if endpoint is None:
            return self._rest_error(HttpError(400, "ValidationError", f"Endpoint {name} of account 111122223333 not found."))
        component_name = self.headers.get("X-Amzn-SageMaker-Inference-Component")
        endpoint.invocations.append({"body": json.loads(body), "headers": dict(self.headers), "component": component_name})
        served: Endpoint | Component = endpoint
        if component_name is not None or endpoint.hosts_components:
            component = self.aws.components.get(component_name or "")
            if component_name is None:
                return self._rest_error(HttpError(400, "ValidationError", HEADER_REQUIRED_MESSAGE))
            if component is None or component.endpoint != name:
                message = f"Inference Component {component_name} not found for endpoint {name}."
                return self._rest_error(HttpError(400, "ValidationError", message))
            component.advance()
            if component.copies >= 1 and component.refusals_after_copy > 0:
                component.refusals_after_copy -= 1
                component.refused += 1
                return self._rest_error(HttpError(400, "ValidationError", NO_CAPACITY_MESSAGE))
            if component.copies < 1:
                component.refuse()
                return self._rest_error(HttpError(400, "ValidationError", NO_CAPACITY_MESSAGE))
            component.invocations.append(endpoint.invocations[-1])
            served = component
        if not served.answers:
            return self._rest_error(HttpError(500, "InternalFailure", "loopback: no answer scripted for this endpoint"))
        answer = served.answers[min(len(served.invocations), len(served.answers)) - 1]
        if isinstance(answer, HttpError):
            return self._rest_error(answer)
        if not streaming:  # InvokeEndpoint: the stream's bytes as one body
            if not isinstance(answer, Stream):
                return self._rest_error(HttpError(500, "InternalFailure", "loopback: InvokeEndpoint answers scripted streams only"))
            headers = {"x-Amzn-Invoked-Production-Variant": "AllTraffic"}
            return self._send(200, b"".join(answer.parts), answer.content_type or "application/json", headers)
        if isinstance(answer, Scheduled):
            return self._scheduled(answer)
        time.sleep(answer.headers_delay_s)
        self._stream_headers(answer.content_type)
        time.sleep(answer.first_delay_s)
        for count, part in enumerate(answer.parts):
            if answer.cut_after_parts is not None and count >= answer.cut_after_parts:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._chunk(payload_part(part))
            if answer.delay_s:
                time.sleep(answer.delay_s)
        if answer.exception:
            self._chunk(exception_event(*answer.exception))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _scheduled(self, answer: Scheduled) -> None:
        self._stream_headers("text/event-stream")
        with answer.slots:
            start = time.perf_counter()
            for index in range(answer.tokens):
                due = start + answer.ttft_s + index * answer.per_token_s
                time.sleep(max(0.0, due - time.perf_counter()))
                event = {
                    "token": {"id": index, "text": f" t{index}", "logprob": -0.1, "special": False},
                    "generated_text": None,
                    "details": None,
                }
                self._chunk(payload_part(f"data:{json.dumps(event)}\n\n".encode()))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stream_headers(self, content_type: str | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", "loopback-request")
        self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
        if content_type:
            self.send_header("X-Amzn-SageMaker-Content-Type", content_type)
        self.end_headers()

    def _chunk(self, frame: bytes) -> None:
        self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
        self.wfile.flush()

    def _rest_error(self, error: HttpError) -> None:
        payload = json.dumps({"message": error.message}).encode()
        self._send(error.status, payload, "application/json", {"x-amzn-ErrorType": error.code})

    # --- sagemaker (json 1.1) ----------------------------------------------------------------

    def _sagemaker(self, action: str, request: dict) -> None:
        now = 1764000000.0
        if action in self.aws.denied:
            message = f"User: arn:aws:sts::111122223333:assumed-role/smoke/test is not authorized to perform: sagemaker:{action}"
            return self._json_error("AccessDeniedException", message)
        if action == "DescribeEndpoint":
            endpoint = self.aws.endpoints.get(request["EndpointName"])
            if endpoint is None:
                return self._json_error("ValidationException", f'Could not find endpoint "{request["EndpointName"]}".')
            state = endpoint.status_sequence.pop(0) if endpoint.status_sequence else endpoint.status
            answer = {
                "EndpointName": endpoint.name,
                "EndpointArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/{endpoint.name}",
                "EndpointConfigName": f"{endpoint.name}-config",
                "EndpointStatus": state,
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "CurrentInstanceCount": endpoint.instance_count,
                        "DesiredInstanceCount": endpoint.instance_count,
                    }
                ],
                "CreationTime": now,
                "LastModifiedTime": now,
            }
            if endpoint.failure_reason and state == "Failed":
                answer["FailureReason"] = endpoint.failure_reason
            return self._json(answer)
        if action == "DescribeEndpointConfig":
            name = request["EndpointConfigName"].removesuffix("-config")
            described = self.aws.endpoints.get(name)
            variant = {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": described.instance_type if described else "ml.g5.12xlarge",
            }
            config = {
                "EndpointConfigName": request["EndpointConfigName"],
                "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/{name}",
                "ProductionVariants": [variant],
                "CreationTime": now,
            }
            if described is not None and described.hosts_components:
                # An endpoint for inference components: no model on the variant, managed instance
                # scaling (min 0: scale to zero), and the execution role on the config.
                del variant["ModelName"]
                variant["ManagedInstanceScaling"] = {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1}
                variant["RoutingConfig"] = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
                config["ExecutionRoleArn"] = "arn:aws:iam::111122223333:role/fake"
            return self._json(config)
        if action == "DescribeModel":
            owner = request["ModelName"].removesuffix("-model")
            served = self.aws.endpoints.get(owner) or self.aws.components.get(owner)
            if served is None:
                return self._json_error("ValidationException", f'Could not find model "{request["ModelName"]}".')
            return self._json(
                {
                    "ModelName": request["ModelName"],
                    "ModelArn": f"arn:aws:sagemaker:us-east-1:111122223333:model/{request['ModelName']}",
                    "PrimaryContainer": {"Image": served.image},
                    "ExecutionRoleArn": "arn:aws:iam::111122223333:role/fake",
                    "CreationTime": now,
                }
            )
        if action == "DescribeInferenceComponent":
            component = self.aws.components.get(request["InferenceComponentName"])
            if component is None:
                return self._json_error("ValidationException", f'Could not find inference component "{request["InferenceComponentName"]}".')
            component.describes += 1
            component.advance()
            return self._json(
                {
                    **self._component_summary(component, now),
                    "Specification": {
                        "ModelName": f"{component.name}-model",
                        "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024},
                    },
                    "RuntimeConfig": {
                        "DesiredCopyCount": component.copies if component.desired is None else component.desired,
                        "CurrentCopyCount": component.copies,
                    },
                }
            )
        if action == "ListInferenceComponents":
            hosted = sorted(
                (c for c in self.aws.components.values() if request.get("EndpointNameEquals") in (None, c.endpoint)), key=lambda c: c.name
            )
            start = int(request.get("NextToken") or 0)
            size = min(self.aws.list_page_size, request.get("MaxResults") or self.aws.list_page_size)
            page: dict = {"InferenceComponents": [self._component_summary(c, now) for c in hosted[start : start + size]]}
            if start + size < len(hosted):
                page["NextToken"] = str(start + size)
            return self._json(page)
        self._json_error("UnknownOperationException", action)

    @staticmethod
    def _component_summary(component: Component, now: float) -> dict:
        return {
            "InferenceComponentName": component.name,
            "InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:111122223333:inference-component/{component.name}",
            "EndpointName": component.endpoint,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/{component.endpoint}",
            "VariantName": component.variant,
            "InferenceComponentStatus": component.status,
            "CreationTime": now,
            "LastModifiedTime": now,
        }

    def _json(self, document: dict) -> None:
        self._send(200, json.dumps(document).encode(), "application/x-amz-json-1.1")

    def _json_error(self, code: str, message: str) -> None:
        self._send(400, json.dumps({"__type": code, "message": message}).encode(), "application/x-amz-json-1.1")

    # --- cloudformation (query / XML) --------------------------------------------------------

    def _describe_stacks(self, name: str) -> None:
        stack = self.aws.stacks.get(name)
        if stack is None:
            error = f"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id {escape(name)} does not exist</Message></Error><RequestId>loopback</RequestId></ErrorResponse>"
            return self._send(400, error.encode(), "text/xml")
        outputs = "".join(
            f"<member><OutputKey>{escape(k)}</OutputKey><OutputValue>{escape(v)}</OutputValue></member>" for k, v in stack.outputs.items()
        )
        document = (
            '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>'
            f"<StackName>{escape(name)}</StackName><StackId>arn:aws:cloudformation:us-east-1:111122223333:stack/{escape(name)}/1</StackId>"
            f"<CreationTime>2026-11-25T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>{outputs}</Outputs>"
            "</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>loopback</RequestId></ResponseMetadata></DescribeStacksResponse>"
        )
        self._send(200, document.encode(), "text/xml")

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", "loopback-request")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
