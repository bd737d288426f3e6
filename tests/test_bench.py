"""The load benchmark against a loopback server with a known schedule: figures within 5%."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import boto3
import pytest

from streaming_client.invocation import runtime_client
from tests.conftest import ROOT, aws_test_environment
from tools.llm_bench import runner, stats
from tools.loopback.aws import Endpoint, Scheduled

TTFT, PER_TOKEN, TOKENS, SLOTS = 0.200, 0.020, 20, 4
E2E = TTFT + (TOKENS - 1) * PER_TOKEN  # 0.58 s from slot to last token


def close(measured: float, expected: float) -> bool:
    """Within 5 %; for times under a second, up to 30 ms early or 100 ms late: the server's and the
    client's threads on a loaded 2-core machine start late, never early (earlier than the schedule
    would be a measuring error)."""
    late = measured - expected
    return abs(late) <= 0.05 * expected or (expected < 1 and -0.030 <= late <= 0.100)


def close_rate(measured: float, expected: float, wall_s: float) -> bool:
    """A rate over a level's `wall_s` seconds: within 5 %, or the wall time it implies at most 100 ms
    longer (the other pytest worker's synths share the 2 cores: a level's threads may start late)."""
    implied = wall_s * expected / measured
    return abs(measured - expected) <= 0.05 * expected or 0 <= implied - wall_s <= 0.100


@pytest.fixture(scope="module")
def scheduled_endpoint(loopback_aws):
    name = "scheduled"
    scheduled = Scheduled(TTFT, PER_TOKEN, TOKENS, threading.Semaphore(SLOTS))
    loopback_aws.add_endpoint(Endpoint(name, answers=[scheduled], instance_type="ml.g5.48xlarge", instance_count=2))
    return name


@pytest.fixture(scope="module")
def quick_endpoint(loopback_aws):
    """The same fleet and token pace on a short schedule (5 tokens, the first 20 ms after a slot):
    for the tests whose assertions are not about the figures of the schedule (0.1 s a request, not
    0.58 s). Still 20 ms a token, far slower than the bound of 8 A10G."""
    name = "scheduled-quick"
    quick = Scheduled(0.020, PER_TOKEN, 5, threading.Semaphore(SLOTS))
    loopback_aws.add_endpoint(Endpoint(name, answers=[quick], instance_type="ml.g5.48xlarge", instance_count=2))
    return name


@pytest.fixture(scope="module")
def runtime(loopback_aws):
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    os.environ["AWS_ENDPOINT_URL"] = loopback_aws.url
    try:
        yield runtime_client(session)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL")


def level(runtime, endpoint, concurrency, requests, price=7.09):
    record = runner.run_level(runtime, endpoint, b"{}", concurrency=concurrency, requests=requests, deadline=float("inf"))
    return stats.summarize(record, price)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_figures_match_the_schedule_without_queueing(runtime, scheduled_endpoint, concurrency):
    summary = level(runtime, scheduled_endpoint, concurrency, 2 * concurrency)  # two waves, no queue
    assert summary.errors == 0 and summary.requests == 2 * concurrency
    assert close(summary.ttft_p50_s, TTFT), summary.ttft_p50_s
    assert close(summary.itl_p50_s, PER_TOKEN), summary.itl_p50_s
    assert close(summary.e2e_p50_s, E2E), summary.e2e_p50_s
    # A request's rate is its tokens over its end-to-end time (exactly: test_bench_stats.py), so it
    # gets the end-to-end time's tolerance: 30 ms late on 0.58 s is 5.1 % off the rate.
    assert close(TOKENS / summary.request_tokens_per_s_p50, E2E), summary.request_tokens_per_s_p50
    expected_aggregate = 2 * concurrency * TOKENS / (2 * E2E)
    assert close_rate(summary.aggregate_tokens_per_s, expected_aggregate, 2 * E2E), summary.aggregate_tokens_per_s
    assert close_rate(summary.requests_per_minute, 2 * concurrency / (2 * E2E) * 60, 2 * E2E)
    # The cost is the price over the aggregate rate: exactly, whatever the timing.
    assert summary.cost_per_million_output_tokens_usd == pytest.approx(7.09 / (summary.aggregate_tokens_per_s * 3600) * 1e6)


def test_requests_beyond_the_slots_queue_for_a_whole_answer(runtime, scheduled_endpoint):
    # 8 at once on 4 slots: the second four wait one answer (0.58 s) before their 0.2 s TTFT.
    summary = level(runtime, scheduled_endpoint, 8, 8)
    assert close(summary.ttft_p90_s, E2E + TTFT), summary.ttft_p90_s
    assert close_rate(summary.aggregate_tokens_per_s, 8 * TOKENS / (2 * E2E), 2 * E2E), summary.aggregate_tokens_per_s


def test_percentile_interpolates_like_numpy():
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)
    assert stats.percentile([], 50) is None


def test_errors_are_counted_not_timed(loopback_aws, runtime):
    loopback_aws.add_endpoint(Endpoint("bench-missing-answers"))
    summary = level(runtime, "bench-missing-answers", 2, 4)
    assert (summary.requests, summary.errors, summary.ttft_p50_s, summary.aggregate_tokens_per_s) == (4, 4, None, 0.0)


def test_cli_writes_json_csv_and_non_empty_plots(loopback_aws, quick_endpoint, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(loopback_aws.url)
    argv = [
        sys.executable,
        "-m",
        "tools.cli.bench",
        "--endpoint-name",
        quick_endpoint,
        "--variant",
        "tgi",
        "--concurrency",
        "1,4",
        "--requests-per-level",
        "4",
        "--no-progress",
        "--output-dir",
        str(tmp_path),
    ]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "results.json").read_text())
    assert [lvl["concurrency"] for lvl in document["levels"]] == [1, 4]
    # Priced and bounded as the endpoint runs: two ml.g5.48xlarge, not the profile's one ml.g5.12xlarge.
    meta = document["meta"]
    assert (meta["instance_type"], meta["instance_count"], meta["price_per_hour"]) == ("ml.g5.48xlarge", 2, 2 * 20.36)
    # The seed's TGI shards over 4 GPUs (SM_NUM_GPUS=4) however many the instance has: the bound uses 4.
    assert meta["bound"]["gpus_per_instance"] == 4 and meta["bound"]["max_batch_per_instance"] >= 1
    assert meta["started_at"].endswith("+00:00")
    # What the figures are of: the app's settings of the deployment, the tool and the commit.
    assert meta["image"] == "huggingface-llm 1.0.3" and meta["settings"]["num_gpus"] == 4 and meta["settings"]["engine"] == "tgi"
    assert meta["settings"]["model"]["id"] == "meta-llama/Llama-2-13b-chat-hf"
    assert meta["tool_version"] == "0.1.0"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert meta["commit"] == (head or None)
    for lvl in document["levels"]:
        # The loopback's schedule (20 ms a token) is far slower than 8 A10G could be: a share below 1.
        assert 0 < lvl["itl_p50_share_of_bound"] < 1 and 0 < lvl["aggregate_share_of_bound"] < 1
    table = result.stdout.splitlines()
    assert table[0].endswith("itl/bound  tok/s/bound") and table[1].split()[-1].endswith("%")
    assert (tmp_path / "results.csv").read_text().splitlines()[0].startswith("concurrency,requests,errors,ttft_p50_s")
    import matplotlib.image

    pixels = matplotlib.image.imread(tmp_path / "latency_throughput.png")
    assert pixels.shape[0] > 300 and pixels.shape[1] > 800
    assert (pixels[..., :3] < 0.5).any()  # lines were drawn, not a blank canvas


def bench(capsys, *argv: str) -> tuple[int, str, str]:
    from tools.cli.bench import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_stacks_serving_variant_is_the_default(aws_env, quick_endpoint, capsys, tmp_path):
    # A stack deployed before ServingEngine existed: its ServingVariant named the engine too.
    aws_env.add_stack("MyTgiStack", {"EndpointName": quick_endpoint, "ServingVariant": "tgi"})
    argv = ("--stack", "MyTgiStack", "--concurrency", "1", "--requests-per-level", "1", "--no-progress", "--output-dir", str(tmp_path))
    code, _, err = bench(capsys, *argv)
    assert code == 0, err
    meta = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert (meta["variant"], meta["engine"]) == ("tgi", "tgi")


def test_a_deployment_alone_reads_its_stack_and_sends_its_engines_request(aws_env, capsys, tmp_path, monkeypatch):
    # The bound's part (the app's settings of the deployment) is not what this test is about.
    from tools.cli import bench as bench_module

    seen = {}

    def no_bound(args, fleet):
        seen["variant"], seen["engine"] = args.variant, args.engine
        return bench_module.Deployment(fleet.instance_type, fleet.instances, None, None, 0, 0)

    monkeypatch.setattr(bench_module, "deployment_of", no_bound)
    ep = aws_env.add_endpoint(
        Endpoint(
            "bench-qwen",
            image="111122223333.dkr.ecr.us-east-1.amazonaws.com/mine:1",
            answers=[Scheduled(0.0, 0.0, 3, threading.Semaphore(1))],
        )
    )
    aws_env.add_stack("team-a-LlmEndpointQwenVllm", {"EndpointName": ep.name, "ServingVariant": "qwen-vllm", "ServingEngine": "vllm"})
    argv = ("--variant", "qwen-vllm", "--app-name", "team-a", "--concurrency", "1", "--requests-per-level", "1", "--max-new-tokens", "7")
    code, _, err = bench(capsys, *argv, "--no-progress", "--output-dir", str(tmp_path))
    assert code == 0, err
    assert seen == {"variant": "qwen-vllm", "engine": "vllm"}
    body = ep.invocations[0]["body"]
    assert body["messages"][1]["content"].endswith("Continue the story.") and body["max_tokens"] == 7 and body["stream"] is True
    meta = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert (meta["variant"], meta["engine"]) == ("qwen-vllm", "vllm")


def test_without_a_deployment_or_an_engine_the_bench_asks_for_them(aws_env, scheduled_endpoint, capsys, tmp_path):
    # The engine is detected from the image (TGI's), but which of the app's deployments it is, is not.
    code, _, err = bench(capsys, "--endpoint-name", scheduled_endpoint, "--no-progress", "--output-dir", str(tmp_path))
    assert code == 2
    assert f"cannot tell which of the app's deployments {scheduled_endpoint} is, for the bound: pass --variant NAME" in err
    aws_env.add_endpoint(Endpoint("bench-unknown-image", image="111122223333.dkr.ecr.us-east-1.amazonaws.com/mine:1"))
    code, _, err = bench(capsys, "--endpoint-name", "bench-unknown-image", "--variant", "mine", "--output-dir", str(tmp_path))
    assert code == 2
    assert "cannot tell which engine serves bench-unknown-image; pass --engine lmi|sglang|tgi|vllm" in err
    with pytest.raises(SystemExit) as usage:
        bench(capsys)
    assert usage.value.code == 2 and "give --endpoint-name, --stack or --variant" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        bench(capsys, "--endpoint-name", "x", "--engine", "trt")
    assert usage.value.code == 2 and "argument --engine: invalid choice: 'trt'" in capsys.readouterr().err


def test_a_deployment_the_app_does_not_have_is_named_in_one_line(aws_env, scheduled_endpoint, capsys, tmp_path):
    argv = ("--endpoint-name", scheduled_endpoint, "--variant", "no-such-deployment", "--engine", "tgi", "--no-progress")
    code, _, err = bench(capsys, *argv, "--output-dir", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: --variant no-such-deployment: not a deployment of this app's settings (a variants.<name> key)")


def test_an_unknown_aws_profile_is_one_line(aws_env, capsys, tmp_path):
    code, _, err = bench(capsys, "--endpoint-name", "x", "--engine", "tgi", "--profile", "no-such-profile", "--output-dir", str(tmp_path))
    assert code == 2 and "no-such-profile" in err and "Traceback" not in err


def test_ctrl_c_keeps_the_finished_levels(aws_env, quick_endpoint, capsys, tmp_path, monkeypatch):
    # The user's Ctrl-C arrives while the second level runs.
    real = runner.run_level

    def interrupted_at_the_second_level(*args, concurrency, **kwargs):
        if concurrency == 2:
            raise KeyboardInterrupt
        return real(*args, concurrency=concurrency, **kwargs)

    monkeypatch.setattr(runner, "run_level", interrupted_at_the_second_level)
    argv = ["--endpoint-name", quick_endpoint, "--variant", "tgi", "--concurrency", "1,2,4", "--requests-per-level", "1"]
    code, out, err = bench(capsys, *argv, "--no-progress", "--output-dir", str(tmp_path))
    assert code == 130
    document = json.loads((tmp_path / "results.json").read_text())
    assert [lvl["concurrency"] for lvl in document["levels"]] == [1] and document["meta"]["interrupted"] is True
    assert (tmp_path / "results.csv").exists() and (tmp_path / "latency_throughput.png").exists()
    assert err.rstrip().endswith(
        f"interrupted: wrote the 1 finished level(s) to {tmp_path}/results.json, results.csv, latency_throughput.png"
    )
    assert out.splitlines()[1].split()[0] == "1"  # the table of what finished


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        bench(capsys, "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 1,2,4,8,16)" in text and "(default: 900)" in text and "(default: 512)" in text


def test_each_level_is_on_disk_as_soon_as_it_finishes(aws_env, quick_endpoint, capsys, tmp_path, monkeypatch):
    # A run that dies (killed, machine lost) while the second level runs keeps the first on disk.
    real = runner.run_level
    seen_on_disk = []

    def dies_at_the_second_level(*args, concurrency, **kwargs):
        if concurrency == 2:
            seen_on_disk.append(json.loads((tmp_path / "results.json").read_text()))
            raise SystemExit(137)  # as good as a kill: no clean-up of ours runs after it
        return real(*args, concurrency=concurrency, **kwargs)

    monkeypatch.setattr(runner, "run_level", dies_at_the_second_level)
    argv = ["--endpoint-name", quick_endpoint, "--variant", "tgi", "--concurrency", "1,2", "--requests-per-level", "1"]
    with pytest.raises(SystemExit):
        bench(capsys, *argv, "--no-progress", "--output-dir", str(tmp_path))
    (document,) = seen_on_disk
    assert [lvl["concurrency"] for lvl in document["levels"]] == [1]
    assert (document["meta"]["complete"], document["meta"]["interrupted"]) == (False, False)
    assert (tmp_path / "results.csv").read_text().count("\n") == 2  # header and the finished level
