"""Try the client without an AWS account: stream from, smoke-test and bench a loopback AWS.

    llm-demo [--output-dir demo-results]

Starts the loopback server the tests use (tools/loopback/aws.py: the SageMaker runtime writing
genuine event-stream frames, SageMaker and CloudFormation answering in their own protocols) on
127.0.0.1 with one endpoint per stream format the client reads and the app's two endpoint
stacks, points boto3 at it with obviously fake credentials, then runs, as you would against AWS:

1. `llm-smoke-test --variant tgi` (the endpoint found from the LlmEndpointTgi stack's outputs),
2. `llm-smoke-test --endpoint-name ...` once per other format (LMI, vLLM and SGLang chat),
3. `llm-bench` at concurrency 1, 4 and 8 against an endpoint with a known schedule (4 slots: the
   eighth request waits), writing the JSON, CSV and plot to --output-dir.

Nothing leaves the machine; the text and figures are the loopback server's, not a model's.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from unittest import mock

from streaming_client.cli import smoke_test
from tools.cli import bench
from tools.loopback.aws import LMI_IMAGE, TGI_IMAGE, Endpoint, LoopbackAws, Scheduled, Stream
from tools.loopback.samples import FORMATS

VLLM_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm:0.29.0-transformers5.15.0-gpu-py312-cu130-ubuntu24.04-v1.0"
SGLANG_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-sglang:0.5.8-transformers4.57.3-gpu-py312-cu129-ubuntu24.04"
# Endpoint name -> (stream format of tools/loopback/samples.py, image the endpoint's model runs).
ENDPOINTS = {
    "demo-tgi": ("tgi-sse", TGI_IMAGE),
    "demo-lmi-0-25": ("lmi-json-document", LMI_IMAGE),
    "demo-lmi-jsonlines": ("lmi-jsonlines", LMI_IMAGE),
    "demo-vllm": ("vllm-chat-sse", VLLM_IMAGE),
    "demo-sglang": ("sglang-chat-sse", SGLANG_IMAGE),
}
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1"}


def start(aws: LoopbackAws) -> None:
    """The demo's endpoints and stacks; each stream is cut in 24-byte parts (anywhere: inside a
    character, an escape or an event, as a network may cut it), a part every 5 ms."""
    for name, (fmt, image) in ENDPOINTS.items():
        build, content_type = FORMATS[fmt]
        stream = b"".join(build())
        parts = [stream[i : i + 24] for i in range(0, len(stream), 24)]
        aws.add_endpoint(Endpoint(name, image=image, answers=[Stream(parts, content_type, delay_s=0.005)]))
    aws.add_stack("LlmEndpointTgi", {"EndpointName": "demo-tgi", "ServingVariant": "tgi", "Region": "us-east-1"})
    aws.add_stack("LlmEndpointLmi", {"EndpointName": "demo-lmi-0-25", "ServingVariant": "lmi", "Region": "us-east-1"})
    # 48 tokens a request: the first 100 ms after a slot frees, then one every 10 ms; 4 slots.
    aws.add_endpoint(Endpoint("demo-bench", answers=[Scheduled(0.1, 0.01, 48, threading.Semaphore(4))]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("demo-results"), help="where the bench writes (default: demo-results)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    aws = LoopbackAws()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= FAKE_AWS | {"AWS_ENDPOINT_URL": aws.url, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    try:
        start(aws)
        with mock.patch.dict(os.environ, environment, clear=True):
            steps = [
                ("llm-smoke-test --variant tgi", ["--variant", "tgi"]),
                *((f"llm-smoke-test --endpoint-name {name}", ["--endpoint-name", name]) for name in ENDPOINTS if name != "demo-tgi"),
            ]
            for title, argv_ in steps:
                print(f"\n$ {title}", file=sys.stderr, flush=True)
                if smoke_test.main(argv_) != 0:
                    return 1
            print(
                f"\n$ llm-bench --endpoint-name demo-bench --variant tgi --concurrency 1,4,8 --output-dir {args.output_dir}",
                file=sys.stderr,
            )
            levels = ["--concurrency", "1,4,8", "--requests-per-level", "8", "--max-new-tokens", "48", "--no-progress"]
            code = bench.main(["--endpoint-name", "demo-bench", "--variant", "tgi", *levels, "--output-dir", str(args.output_dir)])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        aws.close()
    if code == 0:
        print(f"\nopen {args.output_dir / 'latency_throughput.png'} for the plot; against AWS: docs/deployment.md", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
