"""Stream a prompt from a deployed endpoint and print the text as it arrives.

    llm-smoke-test --endpoint-name NAME [--engine tgi|lmi|vllm|sglang]
    llm-smoke-test --stack LlmEndpointTgi --wait
    llm-smoke-test --variant qwen-vllm --json     # the app's deployment variants.qwen-vllm (its stack)
    llm-smoke-test --variant lmi --app-name team-a --accept-eula
    llm-smoke-test --endpoint-name NAME --api chat       # the OpenAI chat API (LMI's Messages API too)
    llm-smoke-test --endpoint-name NAME --component IC --wait   # an inference component, woken from zero

An endpoint that hosts inference components is called with one of them: --component, the stack's
InferenceComponentName output, or the endpoint's only one. A component scaled to zero gets one
request (its refusal starts the scale-out); with --wait the copy is awaited and the cold start
(first request to first token) reported, without it the run ends with exit 4.

Standard output carries only the generated text (or, with --json, one JSON object at the end);
standard error carries status and one line of figures. Exit codes: 0 ok, 2 usage, 3 endpoint or
stack not found, 4 endpoint not InService (or its component has no copy), 5 request rejected, 6 throttled after retries,
7 stream failed mid-way or carried no text, 8 cannot reach the service, 130 interrupted (Ctrl-C:
the text line is ended and what arrived is reported, as one JSON object with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from botocore.exceptions import BotoCoreError

from streaming_client import endpoint_discovery, invocation, payloads, scale_out
from streaming_client.engines import APIS, ENGINES
from streaming_client.errors import EndpointNotInService, Interrupted, SmokeTestError, StreamFailed, UsageError

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a reader that went away


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1]
    )
    endpoint_discovery.add_target_arguments(parser)
    parser.add_argument(
        "--api",
        choices=APIS,
        help="request format (default: the engine's): generate (the recipe's TGI and LMI requests) or chat (the OpenAI chat "
        "API of vLLM, SGLang and LMI's Messages API; the server applies the model's chat template)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="poll DescribeEndpoint until InService first, and an inference component with no copy until it runs one",
    )
    parser.add_argument(
        "--wait-timeout", type=positive(float), default=3600, metavar="SECONDS", help="limit for each wait of --wait (default 3600)"
    )
    parser.add_argument("--poll-interval", type=positive(float), default=30, metavar="SECONDS", help="between status checks (default 30)")
    parser.add_argument("--prompt", help="user message (default: the recipe's example ask for the engine)")
    parser.add_argument("--system-prompt", default=payloads.DEFAULT_SYSTEM_PROMPT)
    defaults = payloads.GenerationParameters()
    parser.add_argument("--max-new-tokens", type=positive(int), default=defaults.max_new_tokens)
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--top-p", type=float, default=defaults.top_p)
    parser.add_argument("--top-k", type=int, default=defaults.top_k)
    parser.add_argument("--accept-eula", action="store_true", help="send accept_eula=true: you accept Meta's Llama 2 licence")
    parser.add_argument("--json", action="store_true", help="print one JSON object (text, figures, endpoint, format) at the end")
    parser.add_argument("--read-timeout", type=positive(float), default=invocation.DEFAULT_READ_TIMEOUT_S, metavar="SECONDS")
    parser.add_argument(
        "--max-attempts", type=positive(int), default=invocation.DEFAULT_MAX_ATTEMPTS, help="tries for throttled or unavailable answers"
    )
    parser.add_argument("--profile", help="AWS profile (default: the standard AWS settings)")
    parser.add_argument("--region", help="AWS region (default: the standard AWS settings)")
    args = parser.parse_args(argv)
    if not (args.endpoint_name or args.stack or args.variant):
        parser.error("give --endpoint-name, --stack or --variant")
    return args


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    session, target = endpoint_discovery.connect(args)
    sagemaker = session.client("sagemaker")

    if args.wait:
        description = endpoint_discovery.wait_in_service(
            sagemaker,
            target.name,
            timeout_s=args.wait_timeout,
            poll_s=args.poll_interval,
            on_status=lambda state, elapsed: status(f"endpoint {target.name}: {state} ({elapsed:.0f} s)"),
        )
    else:
        description = endpoint_discovery.describe_endpoint(sagemaker, target.name)
        try:
            endpoint_discovery.require_in_service(description)
        except EndpointNotInService as error:
            if description.get("EndpointStatus") in endpoint_discovery.WAITING_STATES:
                raise EndpointNotInService(f"{error}; pass --wait to wait until it is InService") from None
            raise
    target = endpoint_discovery.with_component(sagemaker, target, description)
    component = endpoint_discovery.describe_component(sagemaker, target.component) if target.component else None
    if component is not None:
        endpoint_discovery.check_component_endpoint(component, target)
    parameters = payloads.GenerationParameters(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p, top_k=args.top_k
    )
    engine = ENGINES[target.engine] if target.engine else None
    if engine is None and args.api != "chat":
        detected = endpoint_discovery.detect_engine(sagemaker, description, component)
        engine = ENGINES[detected] if detected else None
    api = args.api or (engine.api if engine else None)
    where = f"{target.name} component {target.component}" if target.component else target.name
    if api is None:
        engines = "|".join(sorted(ENGINES))
        raise UsageError(f"cannot tell which engine serves {where}; pass --engine {engines} (or --api chat)")
    if api != "chat" and (engine is None or engine.api != api):
        known = " or ".join(sorted(name for name, other in ENGINES.items() if other.api == api))
        raise UsageError(f"--api {api} is the recipe's request of {known}, not of {engine.name if engine else where}: use --api chat")
    body = payloads.recipe_request(engine, api, args.prompt, args.system_prompt, parameters)
    runtime = invocation.runtime_client(session, read_timeout_s=args.read_timeout)

    def no_copy() -> None:
        waiting = f"; waiting up to {args.wait_timeout:.0f} s" if args.wait else ""
        status(f"component {target.component} has no copy (scaled to zero): its scale-out starts on this failed request{waiting}")

    scaled_to_zero = component is not None and endpoint_discovery.current_copies(component) == 0
    if scaled_to_zero and args.wait:
        no_copy()  # said before the request; without --wait the refusal's error line says it
    status(f"streaming from {where} ({engine.name if engine else api})")
    writer = TextWriter(enabled=not args.json)
    engine_name = engine.name if engine else None
    try:
        result = scale_out.stream_waking(
            runtime,
            sagemaker,
            target.name,
            body,
            component=target.component,
            wait=args.wait,
            timeout_s=args.wait_timeout,
            poll_s=args.poll_interval,
            scaled_to_zero=scaled_to_zero,
            on_no_copy=no_copy,
            on_status=lambda described, elapsed: status(scale_out.copies_line(described, elapsed)),
            custom_attributes=payloads.custom_attributes(args.accept_eula),
            on_text=writer.write,
            max_attempts=args.max_attempts,
        )
        if not result.text.strip():  # an answer without text is a failed smoke test, not a pass
            raise StreamFailed(f"endpoint {target.name} streamed no generated text", partial=result)
    except SmokeTestError as error:
        writer.finish()
        partial = error.partial if isinstance(error.partial, invocation.StreamResult) else None
        report(args, target, engine_name, partial, error)
        error.reported = True
        raise
    writer.finish()
    report(args, target, engine_name, result, None)
    return 0


class TextWriter:
    """Generated text to stdout as it arrives; a final newline only if any text was written."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.wrote = False

    def write(self, text: str) -> None:
        if self.enabled:
            sys.stdout.write(text)
            sys.stdout.flush()
            self.wrote = True

    def finish(self) -> None:
        if self.wrote:
            sys.stdout.write("\n")
            sys.stdout.flush()


def report(
    args: argparse.Namespace,
    target: endpoint_discovery.EndpointTarget | None,
    engine: str | None,
    result: invocation.StreamResult | None,
    error: SmokeTestError | None,
) -> None:
    if args.json:
        document = {
            "endpoint": target.name if target else args.endpoint_name or args.stack,
            "variant": target.variant if target else args.variant,
            "component": target.component if target else args.component,
            "engine": engine or (target.engine if target else args.engine),
            "format": result.format.value if result and result.format else None,
            "content_type": result.content_type if result else None,
            "text": result.text if result else "",
            **({name: _rounded(value) for name, value in result.figures().items()} if result else {}),
        }
        if error is not None:
            document["error"] = str(error)
            document["exit_code"] = error.exit_code
        print(json.dumps(document, ensure_ascii=False), flush=True)
    if result is not None:
        status(figures_line(result))  # on failure the error line follows it


def _rounded(value: object) -> object:
    """Seconds to the microsecond and rates to a thousandth: no 17-digit floats in the JSON."""
    return round(value, 6) if isinstance(value, float) else value


def figures_line(result: invocation.StreamResult) -> str:
    ttft = f"{result.time_to_first_token_s:.3f} s" if result.time_to_first_token_s is not None else "none"
    rate = f"{result.tokens_per_second:.1f}" if result.tokens_per_second else "n/a"
    fmt = result.format.value if result.format else "unknown"
    tokens = f"{result.output_tokens} output tokens" if result.tokens_exact else f"~{result.output_tokens} output tokens (counted as parts)"
    line = f"time to first token {ttft}, {tokens}, {rate} tokens/s, total {result.total_s:.3f} s ({fmt})"
    if result.cold_start_s is not None:
        line += f"; cold start {result.cold_start_s:.3f} s (first request to first token, the wait for a copy included)"
    return line


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")  # emoji on any console
    try:
        return run(args)
    except SmokeTestError as error:
        if args.json and not error.reported:
            report(args, None, None, None, error)
        status(str(error) if isinstance(error, Interrupted) else f"error: {error}")
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as shell tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # before the stream started (discovery, --wait, the request)
        interrupted = Interrupted("interrupted")
        if args.json:
            report(args, None, None, None, interrupted)
        status(str(interrupted))
        return interrupted.exit_code
    except (BotoCoreError, ValueError) as error:  # local set-up: profile, region, endpoint URL
        status(f"error: {error}")
        return UsageError.exit_code
    except Exception as error:  # noqa: BLE001 - one line, never a traceback
        status(f"error: unexpected {type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
