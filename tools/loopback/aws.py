"""A loopback server that speaks the real wire protocols of the AWS calls the smoke test makes.

- sagemaker-runtime InvokeEndpointWithResponseStream (rest-json): HTTP chunked transfer of genuine
  `application/vnd.amazon.eventstream` frames (prelude, headers, payload, CRC32s), one chunk per
  frame, flushed frame by frame; errors as `x-amzn-ErrorType` JSON answers.
- sagemaker DescribeEndpoint / DescribeEndpointConfig / DescribeModel (json 1.1, X-Amz-Target).
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
    invocations: list[dict] = field(default_factory=list)


@dataclass
class StackOutputs:
    name: str
    outputs: dict[str, str]


class LoopbackAws:
    """Threaded server on 127.0.0.1; `url` goes into AWS_ENDPOINT_URL."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.stacks: dict[str, StackOutputs] = {}
        self.requests: list[str] = []
        handler = type("Handler", (_Handler,), {"aws": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_endpoint(self, endpoint: Endpoint) -> Endpoint:
        self.endpoints[endpoint.name] = endpoint
        return endpoint

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
        if self.path.startswith("/endpoints/") and self.path.endswith("/invocations-response-stream"):
            name = unquote(self.path.split("/")[2])
            try:
                return self._invoke(name, body)
            except (BrokenPipeError, ConnectionResetError):
                return None  # the client stopped reading: nothing left to answer
        if target.startswith("SageMaker."):
            return self._sagemaker(target.removeprefix("SageMaker."), json.loads(body or b"{}"))
        form = parse_qs(body.decode())
        if form.get("Action") == ["DescribeStacks"]:
            return self._describe_stacks(form["StackName"][0])
        self._send(404, b"{}", "application/json")

    # --- sagemaker-runtime -------------------------------------------------------------------

    def _invoke(self, name: str, body: bytes) -> None:
        endpoint = self.aws.endpoints.get(name)
        if endpoint is None:
            return self._rest_error(HttpError(400, "ValidationError", f"Endpoint {name} of account 111122223333 not found."))
        endpoint.invocations.append({"body": json.loads(body), "headers": dict(self.headers)})
        if not endpoint.answers:
            return self._rest_error(HttpError(500, "InternalFailure", "loopback: no answer scripted for this endpoint"))
        answer = endpoint.answers[min(len(endpoint.invocations), len(endpoint.answers)) - 1]
        if isinstance(answer, HttpError):
            return self._rest_error(answer)
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
            return self._json(
                {
                    "EndpointConfigName": request["EndpointConfigName"],
                    "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/{name}",
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName": f"{name}-model",
                            "InitialInstanceCount": 1,
                            "InstanceType": described.instance_type if described else "ml.g5.12xlarge",
                        }
                    ],
                    "CreationTime": now,
                }
            )
        if action == "DescribeModel":
            endpoint = self.aws.endpoints.get(request["ModelName"].removesuffix("-model"))
            if endpoint is None:
                return self._json_error("ValidationException", f'Could not find model "{request["ModelName"]}".')
            return self._json(
                {
                    "ModelName": request["ModelName"],
                    "ModelArn": f"arn:aws:sagemaker:us-east-1:111122223333:model/{request['ModelName']}",
                    "PrimaryContainer": {"Image": endpoint.image},
                    "ExecutionRoleArn": "arn:aws:iam::111122223333:role/fake",
                    "CreationTime": now,
                }
            )
        self._json_error("UnknownOperationException", action)

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
