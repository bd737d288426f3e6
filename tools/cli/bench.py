"""Load benchmark: a sweep of concurrency levels against a deployed endpoint, with plots.

    llm-bench --variant tgi --concurrency 1,2,4,8,16 --requests-per-level 32
    llm-bench --variant qwen-vllm --app-name team-a
    llm-bench --endpoint-name NAME --variant lmi --prompt-tokens 1024 --time-limit 600
    llm-bench --variant qwen-vllm --cold-start    # an inference component: its start from zero copies first

Per level: TTFT, inter-token and end-to-end latency (p50/p90/p99), output tokens per second per
request and in aggregate, requests per minute, errors, the cost per million output tokens from the
price of the instances the endpoint runs (read from it), and how much of the roofline bound
(docs/performance.md) the inter-token latency and the aggregate rate reach. Definitions are
llmperf's (see llm_bench/runner.py). Writes results.json, results.csv and latency_throughput.png
to --output-dir. On an endpoint that hosts inference components every request names one
(--component, the stack's InferenceComponentName output, or the endpoint's only one); with
--cold-start, a component with no copy is first woken by one request and the seconds from that
request to its first token (the wait for a copy included) recorded as cold_start_s.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError

from blueprint.reports.roofline import Roofline
from streaming_client import endpoint_discovery, invocation, payloads, scale_out
from streaming_client.engines import ENGINES
from streaming_client.errors import Interrupted, SmokeTestError, UsageError
from tools.llm_bench import report, runner, stats
from tools.llm_bench.bounds import level_bound

# Llama-family tokenizers give about 1.3 tokens per English word.
TOKENS_PER_WORD = 1.3
_FILLER = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "bright",
    "stars",
    "watch",
    "quietly",
    "above",
]


def prompt_of(tokens: int) -> str:
    """A user message of roughly `tokens` tokens (word count x 1.3; no tokenizer offline)."""
    words = max(1, round(tokens / TOKENS_PER_WORD))
    return " ".join(_FILLER[i % len(_FILLER)] for i in range(words)) + ". Continue the story."


class _Defaults(argparse.HelpFormatter):
    """Shows each option's default where it has a value."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help or ""
        if action.default in (None, "", False, argparse.SUPPRESS) or "%(default)" in help:
            return help
        return f"{help} (default: %(default)s)".lstrip()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=_Defaults)
    endpoint_discovery.add_target_arguments(
        parser, variant_purpose=", whose settings the bound assumes (default: the stack's ServingVariant output)", action="load"
    )
    parser.add_argument(
        "--cold-start",
        action="store_true",
        help="before the levels, if the inference component has no copy: time one request from zero copies to its first token",
    )
    parser.add_argument(
        "--cold-start-timeout", type=float, default=1800, metavar="SECONDS", help="the longest wait for a copy with --cold-start"
    )
    parser.add_argument("--poll-interval", type=float, default=15, metavar="SECONDS", help="between checks of the component's copies")
    parser.add_argument("--concurrency", default="1,2,4,8,16", help="comma-separated levels")
    parser.add_argument("--requests-per-level", type=int, default=16, help="requests at each level")
    parser.add_argument("--prompt-tokens", type=int, default=512, help="about this many prompt tokens (words x 1.3)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="tokens to generate per request")
    parser.add_argument("--time-limit", type=float, default=900, metavar="SECONDS", help="no request starts after this")
    parser.add_argument("--instance-type", help="for the cost and bound figures (default: the endpoint's, as it runs)")
    parser.add_argument("--instance-count", type=int, help="for the cost and bound figures (default: the endpoint's, as it runs)")
    parser.add_argument("--output-dir", type=Path, default=Path("bench-results"), help="where the JSON, CSV and plot go")
    parser.add_argument("--accept-eula", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--title", help="plot title")
    parser.add_argument("--profile")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    if not (args.endpoint_name or args.stack or args.variant):
        parser.error("give --endpoint-name, --stack or --variant")
    try:
        args.levels = [int(x) for x in args.concurrency.split(",")]
    except ValueError:
        parser.error(f"--concurrency: expected numbers like 1,2,4, got {args.concurrency}")
    if any(level < 1 for level in args.levels) or args.requests_per_level < 1:
        parser.error("concurrency levels and --requests-per-level must be at least 1")
    for flag in ("cold_start_timeout", "poll_interval"):
        if not getattr(args, flag) > 0:
            parser.error(f"--{flag.replace('_', '-')}: must be greater than 0, got {getattr(args, flag):g}")
    return args


@dataclass(frozen=True)
class Deployment:
    """What the figures are of: the fleet, its price, and the roofline of the deployed model."""

    instance_type: str
    instances: int
    price_per_hour: float | None  # all instances
    roof: Roofline | None
    max_batch: int  # sequences of the run's length the KV cache holds per instance
    gpus: int
    # The app's settings of the deployment the figures are of (image, engine limits, model).
    settings: dict | None = None


def deployment_of(args: argparse.Namespace, fleet: endpoint_discovery.Fleet | None) -> Deployment:
    """The endpoint's instances (or --instance-type/--instance-count), and the app's model and
    engine settings for --variant (blueprint/config): the bound assumes the app deployed it."""
    from blueprint.config.facts import instance_facts, model_facts
    from blueprint.engines.registry import ENGINES
    from blueprint.loader import load_project_config
    from blueprint.reports.roofline import gpu_model
    from blueprint.reports.sizing import size

    config = load_project_config()
    settings = config.variants.get(args.variant)
    if settings is None:
        raise LookupError(f"profile {config.profile} has {', '.join(config.variants) or 'no deployments'}")
    instance_type = args.instance_type or (fleet.instance_type if fleet else settings.instance_type)
    instances = args.instance_count or (fleet.instances if fleet else 1)
    facts = instance_facts(instance_type)
    if facts is None:
        return Deployment(instance_type, instances, None, None, 0, 0, dataclasses.asdict(settings))
    model = model_facts(settings.model)
    limits = ENGINES[settings.engine].serving_limits(f"variants.{args.variant}", settings, facts, model)
    gpus = min(limits.gpus_used, facts.gpus)
    gpu = gpu_model(facts.gpu_model)
    roof = Roofline(model, gpu, gpus) if gpu and gpus else None
    kv_budget = size(facts, model, config.sizing, limits).kv_budget_tokens
    max_batch = max(1, kv_budget // (args.prompt_tokens + args.max_new_tokens))
    return Deployment(instance_type, instances, facts.price_per_hour * instances, roof, max_batch, gpus, dataclasses.asdict(settings))


def run(args: argparse.Namespace) -> int:
    session, target = endpoint_discovery.connect(args)
    sagemaker = session.client("sagemaker")
    description = endpoint_discovery.describe_endpoint(sagemaker, target.name)
    target = endpoint_discovery.with_component(sagemaker, target, description)
    component = endpoint_discovery.describe_component(sagemaker, target.component) if target.component else None
    if component is not None:
        endpoint_discovery.check_component_endpoint(component, target)
    engine_name = target.engine or endpoint_discovery.detect_engine(sagemaker, description, component)
    if engine_name is None:
        where = f"{target.name} component {target.component}" if target.component else target.name
        raise UsageError(f"cannot tell which engine serves {where}; pass --engine {'|'.join(sorted(ENGINES))}")
    if target.variant is None:
        raise UsageError(
            f"cannot tell which of the app's deployments {target.name} is, for the bound: pass --variant NAME (its variants.<name> key)"
        )
    args.variant, args.engine = target.variant, engine_name
    fleet = endpoint_discovery.deployed_fleet(sagemaker, description)
    try:
        deployment = deployment_of(args, fleet)
    except LookupError as error:  # the deployment is not one of the app's settings
        raise UsageError(
            f"--variant {args.variant}: not a deployment of this app's settings (a variants.<name> key), whose settings the bound assumes: {error}"
        ) from None
    runtime = invocation.runtime_client(session)
    parameters = payloads.GenerationParameters(max_new_tokens=args.max_new_tokens)
    engine = ENGINES[engine_name]
    body = payloads.recipe_request(engine, engine.api, prompt_of(args.prompt_tokens), parameters=parameters)
    started = datetime.now(UTC)
    cold_start_s, cold_start_note = None, None
    if args.cold_start:
        cold_start_s, cold_start_note = measure_cold_start(args, runtime, sagemaker, target, component, body)
    elif component is not None and endpoint_discovery.current_copies(component) == 0:
        print(
            f"component {target.component} has no copy (scaled to zero): requests fail until its scale-out runs one; "
            "pass --cold-start to wait for it (and time it) first",
            file=sys.stderr,
        )

    tool, commit = tool_version(), checkout_commit()

    def write_results(done: list, *, interrupted: bool = False, complete: bool = False) -> None:
        """results.json and results.csv of the levels finished so far (kept if the run dies)."""
        args.output_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "endpoint": target.name,
            "component": target.component,
            "variant": args.variant,
            "engine": args.engine,
            "instance_type": deployment.instance_type,
            "instance_count": deployment.instances,
            "started_at": started.isoformat(timespec="seconds"),
            "prompt_tokens_approx": args.prompt_tokens,
            "max_new_tokens": args.max_new_tokens,
            "price_per_hour": deployment.price_per_hour,
            "bound": {"gpus_per_instance": deployment.gpus, "max_batch_per_instance": deployment.max_batch} if deployment.roof else None,
            "interrupted": interrupted,
            # False while levels are still running: the file is rewritten as each level finishes.
            "complete": complete,
            # With --cold-start: seconds from the first request at zero copies to its first token, or
            # why it was not measured.
            "cold_start_s": cold_start_s,
            "cold_start": cold_start_note,
            # What the figures are of, to compare runs: the deployment's settings in the app (its image,
            # engine limits and model), this tool's version and the checkout's commit.
            "settings": deployment.settings,
            "image": f"{deployment.settings['image']['framework']} {deployment.settings['image']['version']}"
            if deployment.settings
            else None,
            "tool_version": tool,
            "commit": commit,
        }
        report.write_json(args.output_dir / "results.json", done, meta)
        report.write_csv(args.output_dir / "results.csv", done)

    deadline = time.monotonic() + args.time_limit
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        progress = tqdm(total=len(args.levels) * args.requests_per_level, unit="req", file=sys.stderr)
    summaries = []
    interrupted = False
    try:
        for level in args.levels:
            if progress:
                progress.set_description(f"concurrency {level}")
            record = runner.run_level(
                runtime,
                target.name,
                body,
                component=target.component,
                concurrency=level,
                requests=args.requests_per_level,
                deadline=deadline,
                custom_attributes=payloads.custom_attributes(args.accept_eula),
                on_done=(lambda _: progress.update()) if progress else (lambda _: None),
            )
            bound = (
                level_bound(deployment.roof, level, deployment.instances, deployment.max_batch, args.prompt_tokens)
                if deployment.roof
                else None
            )
            summaries.append(stats.summarize(record, deployment.price_per_hour, bound))
            write_results([s for s in summaries if s.requests])
    except KeyboardInterrupt:
        interrupted = True  # keep what the finished levels measured
    finally:
        if progress:
            progress.close()
    summaries = [s for s in summaries if s.requests]
    if not summaries:
        if interrupted:
            print("interrupted before a level finished: nothing written", file=sys.stderr)
            return 130
        raise UsageError("no request ran within --time-limit")
    write_results(summaries, interrupted=interrupted, complete=True)
    title = args.title or (
        f"{target.name} ({args.variant}, {deployment.instances} x {deployment.instance_type}), "
        f"~{args.prompt_tokens} prompt + {args.max_new_tokens} new tokens, {started:%Y-%m-%d}"
    )
    report.plot(args.output_dir / "latency_throughput.png", summaries, title)
    if args.cold_start:
        print(
            f"cold start {cold_start_s:.1f} s (first request at zero copies to its first token)"
            if cold_start_s is not None
            else f"cold start: {cold_start_note}"
        )
    print_table(summaries)
    written = f"{args.output_dir}/results.json, results.csv, latency_throughput.png"
    if interrupted:
        print(f"interrupted: wrote the {len(summaries)} finished level(s) to {written}", file=sys.stderr)
        return 130
    print(f"wrote {written}", file=sys.stderr)
    return 0


def tool_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llm-streaming-endpoints")
    except PackageNotFoundError:
        return None


def checkout_commit() -> str | None:
    """The commit of the checkout the bench runs from (None outside a git checkout)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def measure_cold_start(
    args: argparse.Namespace,
    runtime: object,
    sagemaker: object,
    target: endpoint_discovery.EndpointTarget,
    component: dict | None,
    body: bytes,
) -> tuple[float | None, str | None]:
    """The cold start of a component with no copy: one request, the wait for a copy (its refusal
    starts the scale-out), and the seconds to its first token; else None and why not."""
    if component is None:
        return None, f"not measured: endpoint {target.name} hosts no inference component"
    copies = endpoint_discovery.current_copies(component)
    if copies != 0:
        return None, f"not measured: the component had {copies} copies"

    def status(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    status(
        f"component {target.component} has no copy (scaled to zero): its scale-out starts on this failed request; "
        f"waiting up to {args.cold_start_timeout:.0f} s"
    )
    result = scale_out.stream_waking(
        runtime,
        sagemaker,
        target.name,
        body,
        component=target.component,
        wait=True,
        timeout_s=args.cold_start_timeout,
        poll_s=args.poll_interval,
        scaled_to_zero=True,
        on_status=lambda described, elapsed: status(scale_out.copies_line(described, elapsed)),
        custom_attributes=payloads.custom_attributes(args.accept_eula),
    )
    return result.cold_start_s, None


def print_table(summaries: list[stats.LevelSummary]) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    print(
        "conc  reqs err  ttft_p50/p90/p99_ms  itl_p50_ms  e2e_p50/p90/p99_ms  tok/s/req  tok/s_all  req/min  $/Mtok  itl/bound  tok/s/bound"
    )
    for s in summaries:
        cost = "-" if s.cost_per_million_output_tokens_usd is None else f"{s.cost_per_million_output_tokens_usd:.2f}"
        print(
            f"{s.concurrency:4d} {s.requests:5d} {s.errors:3d}  {ms(s.ttft_p50_s)}/{ms(s.ttft_p90_s)}/{ms(s.ttft_p99_s):>5}  {ms(s.itl_p50_s):>10}  "
            f"{ms(s.e2e_p50_s)}/{ms(s.e2e_p90_s)}/{ms(s.e2e_p99_s):>6}  {s.request_tokens_per_s_p50 or 0:9.1f}  {s.aggregate_tokens_per_s:9.1f}  {s.requests_per_minute:7.1f}  {cost:>6}"
            f"  {share(s.itl_p50_share_of_bound):>9}  {share(s.aggregate_share_of_bound):>11}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except SmokeTestError as error:
        print(str(error) if isinstance(error, Interrupted) else f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (BotoCoreError, ValueError) as error:  # local set-up: profile, region, endpoint URL
        print(f"error: {error}", file=sys.stderr)
        return UsageError.exit_code


if __name__ == "__main__":
    sys.exit(main())
