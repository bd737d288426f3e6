"""Try the client without an AWS account: stream from, smoke-test and bench a loopback AWS.

    llm-demo [--output-dir demo-results]

Starts the loopback server the tests use (tools/loopback/aws.py: the SageMaker runtime writing
genuine event-stream frames, SageMaker and CloudFormation answering in their own protocols) on
127.0.0.1 with an endpoint stack per sample deployment (one per engine, each stack with the
outputs the app gives it: EndpointName, ServingVariant, ServingEngine) and an endpoint per other
stream format the client reads, points boto3 at it with obviously fake credentials, then runs, as
you would against AWS:

1. `llm-smoke-test --variant NAME` per deployment (the endpoint and its engine found from the
   app's stack for NAME, e.g. LlmEndpointQwenVllm for qwen-vllm),
2. `llm-smoke-test --endpoint-name ...` per other format (the engine detected from the image),
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
from streaming_client.endpoint_discovery import stack_for_deployment
from tools.cli import bench
from tools.loopback.aws import Endpoint, LoopbackAws, Scheduled, Stream
from tools.loopback.samples import ENGINE_SAMPLES, EXTRA_DEMO_STREAMS, FORMATS, SAMPLE_DEPLOYMENTS

# The deployments' endpoints (each found through its stack), then the other formats' (by name).
DEPLOYMENT_ENDPOINTS = {f"demo-{d.name}": d for d in SAMPLE_DEPLOYMENTS}
# Endpoint name -> (stream format of tools/loopback/samples.py, image the endpoint's model runs).
ENDPOINTS = {
    **{name: (ENGINE_SAMPLES[d.engine].stream, ENGINE_SAMPLES[d.engine].image) for name, d in DEPLOYMENT_ENDPOINTS.items()},
    **{f"demo-{suffix}": answer for suffix, answer in EXTRA_DEMO_STREAMS.items()},
}
BENCHED = SAMPLE_DEPLOYMENTS[0]  # the bench's bound assumes the app's settings of this deployment
# Tokens a bench request generates: 0.25 s a request, so the three levels take about 3 s.
BENCH_TOKENS = 16
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_REGION": "us-east-1"}


def start(aws: LoopbackAws) -> None:
    """The demo's endpoints and stacks; each stream is cut in 24-byte parts (anywhere: inside a
    character, an escape or an event, as a network may cut it), a part every 2 ms."""
    for name, (fmt, image) in ENDPOINTS.items():
        build, content_type = FORMATS[fmt]
        stream = b"".join(build())
        parts = [stream[i : i + 24] for i in range(0, len(stream), 24)]
        aws.add_endpoint(Endpoint(name, image=image, answers=[Stream(parts, content_type, delay_s=0.002)]))
    for name, deployment in DEPLOYMENT_ENDPOINTS.items():
        outputs = {"EndpointName": name, "ServingVariant": deployment.name, "ServingEngine": deployment.engine, "Region": "us-east-1"}
        aws.add_stack(stack_for_deployment(deployment.name), outputs)
    # BENCH_TOKENS tokens a request: the first 100 ms after a slot frees, then one every 10 ms; 4 slots.
    aws.add_endpoint(Endpoint("demo-bench", answers=[Scheduled(0.1, 0.01, BENCH_TOKENS, threading.Semaphore(4))]))


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
                *(["--variant", d.name] for d in DEPLOYMENT_ENDPOINTS.values()),
                *(["--endpoint-name", name] for name in ENDPOINTS if name not in DEPLOYMENT_ENDPOINTS),
            ]
            for argv_ in steps:
                print(f"\n$ llm-smoke-test {' '.join(argv_)}", file=sys.stderr, flush=True)
                if smoke_test.main(argv_) != 0:
                    return 1
            target = ["--endpoint-name", "demo-bench", "--variant", BENCHED.name, "--engine", BENCHED.engine]
            print(f"\n$ llm-bench {' '.join(target)} --concurrency 1,4,8 --output-dir {args.output_dir}", file=sys.stderr)
            levels = ["--concurrency", "1,4,8", "--requests-per-level", "8", "--max-new-tokens", str(BENCH_TOKENS), "--no-progress"]
            code = bench.main([*target, *levels, "--output-dir", str(args.output_dir)])
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
