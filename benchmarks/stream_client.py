"""Streaming client figures against the loopback AWS server, measured in one run.

Usage: .venv/bin/python benchmarks/stream_client.py [--tokens N] [--runs N]

Prints (targets from the smoke-test issue):
- client CPU time to decode a 2,000-token stream, per format (target <= 0.1 s), both the decoder
  alone and the whole client (botocore event-stream parsing included), on the client's thread;
- time-to-first-token overhead of `stream_text` against a bare botocore loop reading the same
  stream to its first PayloadPart (target <= 2 ms), medians over alternating runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import boto3

from streaming_client.invocation import runtime_client, stream_text
from streaming_client.stream_decoder import AutoDecoder
from tests.conftest import aws_test_environment
from tools.loopback.aws import Endpoint, LoopbackAws, Stream
from tools.loopback.samples import lmi_json_document, lmi_jsonlines, tgi_sse

ROOT = Path(__file__).resolve().parent.parent

WORDS = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ",", " 中文", " 😀", ' "q"', "\n"]


def token_texts(count: int) -> list[str]:
    return [WORDS[i % len(WORDS)] for i in range(count)]


def decode_cpu(parts: list[bytes], content_type: str) -> float:
    start = time.thread_time()
    decoder = AutoDecoder(content_type)
    for part in parts:
        decoder.feed(part)
    decoder.close()
    return time.thread_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    tokens = token_texts(args.tokens)
    streams = {
        "tgi-sse": (tgi_sse(tokens), "text/event-stream"),
        "lmi-json-document": (lmi_json_document(tokens), "application/json"),
        "lmi-jsonlines": (lmi_jsonlines(tokens), "application/jsonlines"),
    }

    aws = LoopbackAws()
    os.environ.update(aws_test_environment(aws.url))
    session = boto3.Session(region_name="us-east-1")
    runtime = runtime_client(session)
    try:
        print(f"client CPU to decode a {args.tokens}-token stream (median of 5, client thread only; target <= 0.1 s):")
        for name, (parts, content_type) in streams.items():
            aws.add_endpoint(Endpoint(name, answers=[Stream(parts, content_type)]))
            decoder_only = statistics.median(decode_cpu(parts, content_type) for _ in range(5))
            whole = []
            for _ in range(5):
                start = time.thread_time()
                result = stream_text(runtime, name, b"{}")
                whole.append(time.thread_time() - start)
            assert result.output_tokens == args.tokens, (name, result.output_tokens)
            print(
                f"  {name:18s} decoder {decoder_only * 1000:6.1f} ms   whole client {statistics.median(whole) * 1000:6.1f} ms  ({len(parts)} parts)"
            )

        first_parts, content_type = streams["tgi-sse"]
        aws.add_endpoint(Endpoint("ttft", answers=[Stream(first_parts[:20], content_type)]))
        ours, bare = [], []
        for _ in range(args.runs):
            result = stream_text(runtime, "ttft", b"{}")
            ours.append(result.time_to_first_token_s)
            start = time.perf_counter()
            first = None
            response = runtime.invoke_endpoint_with_response_stream(EndpointName="ttft", Body=b"{}", ContentType="application/json")
            for event in response["Body"]:  # read to the end, as stream_text does, so both reuse connections alike
                if first is None and "PayloadPart" in event:
                    first = time.perf_counter() - start
            bare.append(first)
        overhead = statistics.median(ours) - statistics.median(bare)
        print(
            f"time to first token over {args.runs} runs: stream_text median {statistics.median(ours) * 1000:.2f} ms, bare botocore loop median {statistics.median(bare) * 1000:.2f} ms"
        )
        print(f"  overhead: {overhead * 1000:.2f} ms (target <= 2 ms)")
    finally:
        aws.close()


if __name__ == "__main__":
    main()
