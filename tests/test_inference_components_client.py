"""The client against endpoints that host inference components, on the loopback AWS server: which
component is invoked (flag, stack output, listing), what the request carries, and the start of a
component scaled to zero (the refused request, the wait for a copy, the cold start)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from streaming_client.cli.smoke_test import main
from streaming_client.errors import EXIT_CODES
from tests.conftest import ROOT, aws_test_environment, ctrl_c_reaches_it
from tools.loopback.aws import NO_CAPACITY_MESSAGE, Component, Endpoint, ScaleOut, Scheduled, Stream
from tools.loopback.samples import LMI_IMAGE, TEXT, TGI_IMAGE, VLLM_IMAGE, lmi_json_document, tgi_sse, vllm_chat_sse

_names = itertools.count()
COMPONENT_HEADER = "X-Amzn-SageMaker-Inference-Component"


def shared_endpoint(aws, *components: dict) -> tuple[Endpoint, list[Component]]:
    """An endpoint for inference components and its components (keyword arguments of each)."""
    endpoint = aws.add_endpoint(Endpoint(f"ic-ep-{next(_names)}", image="no-model-of-its-own"))
    added = [
        aws.add_component(Component(f"{endpoint.name}-{settings.pop('suffix')}", endpoint.name, **settings)) for settings in components
    ]
    return endpoint, added


def tgi(**settings) -> dict:
    return {"image": TGI_IMAGE, "answers": [Stream(tgi_sse(), "text/event-stream")], **settings}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_component_flag_is_sent_as_inference_component_name(aws_env, capsys):
    endpoint, (llama, qwen) = shared_endpoint(
        aws_env, tgi(suffix="llama"), {"suffix": "qwen", "image": VLLM_IMAGE, "answers": [Stream(vllm_chat_sse(), "text/event-stream")]}
    )
    code, out, err = run(capsys, "--endpoint-name", endpoint.name, "--component", qwen.name, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["text"], document["component"], document["engine"]) == (TEXT, qwen.name, "vllm")
    # The engine came from the component's model (DescribeInferenceComponent, DescribeModel): the chat request.
    (call,) = qwen.invocations
    assert call["headers"][COMPONENT_HEADER] == qwen.name and "messages" in call["body"]
    assert llama.invocations == [] and f"streaming from {endpoint.name} component {qwen.name} (vllm)" in err


def test_the_stacks_component_output_is_used(aws_env, capsys):
    endpoint, (_, second) = shared_endpoint(aws_env, tgi(suffix="a"), tgi(suffix="b"))
    outputs = {
        "EndpointName": endpoint.name,
        "InferenceComponentName": second.name,
        "ServingVariant": "llama-b",
        "ServingEngine": "tgi",
        "Hosting": "inference-component",
    }
    aws_env.add_stack("LlmEndpointLlamaB", outputs)
    before = len(aws_env.requests)
    code, out, err = run(capsys, "--variant", "llama-b")
    assert (code, out) == (0, TEXT + "\n"), err
    assert [call["component"] for call in endpoint.invocations] == [second.name]
    assert "SageMaker.ListInferenceComponents" not in aws_env.requests[before:]  # the stack said which


def test_an_endpoint_with_one_component_is_called_with_it(aws_env, capsys):
    endpoint, (only,) = shared_endpoint(aws_env, tgi(suffix="only"))
    code, out, err = run(capsys, "--endpoint-name", endpoint.name)
    assert (code, out) == (0, TEXT + "\n"), err
    assert [call["headers"].get(COMPONENT_HEADER) for call in endpoint.invocations] == [only.name]


def test_an_endpoint_with_several_components_names_them_and_the_flag(aws_env, capsys, monkeypatch):
    monkeypatch.setattr(aws_env, "list_page_size", 1)  # every name comes from another page
    endpoint, components = shared_endpoint(aws_env, tgi(suffix="c"), tgi(suffix="a"), tgi(suffix="b"))
    code, out, err = run(capsys, "--endpoint-name", endpoint.name)
    assert (code, out) == (EXIT_CODES["UsageError"], "")
    names = ", ".join(sorted(c.name for c in components))
    assert err.strip().splitlines()[-1] == (
        f"error: endpoint {endpoint.name} hosts 3 inference components ({names}): pass --component NAME, one of them"
    )
    assert endpoint.invocations == []


def test_an_endpoint_for_components_with_none_is_called_as_a_dedicated_one(aws_env, capsys):
    # Nothing to choose: the request goes without a component, and the runtime's answer is the error.
    endpoint, _ = shared_endpoint(aws_env)
    endpoint.hosts_components = True
    code, _, err = run(capsys, "--endpoint-name", endpoint.name, "--engine", "tgi")
    assert code == EXIT_CODES["RequestRejected"]
    assert "Inference Component Name header is required" in err and "Traceback" not in err
    assert [call["component"] for call in endpoint.invocations] == [None]


def test_a_dedicated_endpoint_is_not_listed_and_sends_no_component(aws_env, capsys):
    endpoint = aws_env.add_endpoint(Endpoint(f"dedicated-{next(_names)}", answers=[Stream(tgi_sse(), "text/event-stream")]))
    before = len(aws_env.requests)
    code, out, _ = run(capsys, "--endpoint-name", endpoint.name, "--json")
    assert code == 0 and json.loads(out)["component"] is None
    assert COMPONENT_HEADER not in endpoint.invocations[0]["headers"]
    assert "SageMaker.ListInferenceComponents" not in aws_env.requests[before:]


def test_the_pipelines_smoke_step_needs_only_its_roles_actions(aws_env, capsys, monkeypatch):
    # The smoke-test role of a component may describe the endpoint and the component and invoke;
    # of a dedicated endpoint, not list components. Each call as the pipeline makes it streams.
    monkeypatch.setattr(aws_env, "denied", {"DescribeEndpointConfig", "DescribeModel", "ListInferenceComponents"})
    endpoint, (cold,) = shared_endpoint(aws_env, tgi(suffix="pipeline", copies=0, desired=0, scale_out=ScaleOut(polls=1)))
    argv = ("--endpoint-name", endpoint.name, "--component", cold.name, "--wait", "--wait-timeout", "60", "--variant", "qwen")
    code, out, err = run(capsys, *argv, "--engine", "tgi", "--poll-interval", "0.01", "--json")
    assert code == 0, err
    assert json.loads(out)["cold_start_s"] is not None
    dedicated = aws_env.add_endpoint(Endpoint(f"dedicated-{next(_names)}", answers=[Stream(tgi_sse(), "text/event-stream")]))
    code, out, err = run(capsys, "--endpoint-name", dedicated.name, "--variant", "tgi", "--engine", "tgi", "--json")
    assert code == 0, err
    assert COMPONENT_HEADER not in dedicated.invocations[0]["headers"]


def test_a_component_of_another_endpoint_or_none_at_all_is_one_line(aws_env, capsys):
    endpoint, _ = shared_endpoint(aws_env, tgi(suffix="x"))
    other, (elsewhere,) = shared_endpoint(aws_env, tgi(suffix="y"))
    code, _, err = run(capsys, "--endpoint-name", endpoint.name, "--component", elsewhere.name)
    assert code == EXIT_CODES["UsageError"]
    assert err.strip().splitlines() == [
        f"error: --component {elsewhere.name}: that inference component is on endpoint {other.name}, not on {endpoint.name}"
    ]
    code, _, err = run(capsys, "--endpoint-name", endpoint.name, "--component", "no-such-component")
    assert code == EXIT_CODES["EndpointNotFound"]
    assert err.strip().splitlines() == [
        'error: describing inference component no-such-component: Could not find inference component "no-such-component".'
    ]
    assert endpoint.invocations == other.invocations == []


def test_a_scaled_to_zero_component_is_woken_then_streamed_with_its_cold_start(aws_env, capsys):
    # No copy: one request (refused, which starts the scale-out), polls until a copy runs, then the stream.
    endpoint, (cold,) = shared_endpoint(aws_env, tgi(suffix="cold", copies=0, desired=0, scale_out=ScaleOut(polls=3)))
    argv = ("--endpoint-name", endpoint.name, "--wait", "--poll-interval", "0.01", "--wait-timeout", "30", "--json")
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[:3] == [
        f"endpoint {endpoint.name}: InService (0 s)",
        f"component {cold.name} has no copy (scaled to zero): its scale-out starts on this failed request; waiting up to 30 s",
        f"streaming from {endpoint.name} component {cold.name} (tgi)",
    ]
    progress = [line.split(": ", 1)[1].rsplit(" (", 1)[0] for line in lines if line.startswith(f"component {cold.name}: ")]
    assert progress == ["0 copies (1 desired), InService", "0 copies (1 desired), InService", "1 copies (1 desired), InService"]
    assert cold.refused == 1 and len(cold.invocations) == 1  # one refused request, no spinning
    assert [call["component"] for call in endpoint.invocations] == [cold.name, cold.name]
    document = json.loads(out)
    assert document["text"] == TEXT and document["component"] == cold.name
    assert document["cold_start_s"] >= document["time_to_first_token_s"] > 0
    assert "; cold start " in lines[-1] and "(first request to first token, the wait for a copy included)" in lines[-1]


def test_a_refusal_after_the_copy_runs_waits_a_poll_before_the_next_request(aws_env, capsys):
    endpoint, (cold,) = shared_endpoint(
        aws_env, tgi(suffix="router", copies=0, desired=0, scale_out=ScaleOut(polls=1), refusals_after_copy=1)
    )
    code, out, err = run(capsys, "--endpoint-name", endpoint.name, "--wait", "--poll-interval", "0.01", "--json")
    assert code == 0, err
    # Refused at zero, refused once more with a copy reported, then served: a describe before each retry.
    assert (cold.refused, len(cold.invocations), cold.describes) == (2, 1, 3)
    assert json.loads(out)["text"] == TEXT


def test_a_cold_start_includes_the_wait_for_the_copy(aws_env, capsys):
    # The copy runs 0.3 s after the refused request: the cold start is at least that.
    endpoint, (cold,) = shared_endpoint(aws_env, tgi(suffix="slow", copies=0, desired=0, scale_out=ScaleOut(after_s=0.3)))
    code, out, err = run(capsys, "--endpoint-name", endpoint.name, "--wait", "--poll-interval", "0.05", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert 0.3 <= document["cold_start_s"] < 3 and document["time_to_first_token_s"] < 0.3


def test_a_warm_component_reports_no_cold_start(aws_env, capsys):
    endpoint, (warm,) = shared_endpoint(aws_env, tgi(suffix="warm"))
    code, out, err = run(capsys, "--endpoint-name", endpoint.name, "--component", warm.name, "--wait", "--json")
    assert code == 0 and json.loads(out)["cold_start_s"] is None
    assert "cold start" not in err and "has no copy" not in err


def test_without_wait_the_refused_request_ends_the_run_with_the_hint(aws_env, capsys):
    endpoint, (cold,) = shared_endpoint(aws_env, tgi(suffix="nowait", copies=0, desired=0, scale_out=ScaleOut(polls=1)))
    code, out, err = run(capsys, "--endpoint-name", endpoint.name, "--json")
    assert code == EXIT_CODES["EndpointNotInService"] == 4
    assert err.strip().splitlines()[-1] == (
        f"error: component {cold.name} has no copy (scaled to zero); this request started its scale-out: "
        "pass --wait to wait for a copy and stream"
    )
    assert cold.refused == 1 and cold.desired == 1  # the scale-out was started all the same
    assert json.loads(out)["exit_code"] == 4


def test_a_component_nothing_scales_out_gives_up_at_the_limit_and_says_why(aws_env, capsys):
    endpoint, (stuck,) = shared_endpoint(aws_env, tgi(suffix="stuck", copies=0, desired=0))  # no alarm
    argv = ("--endpoint-name", endpoint.name, "--wait", "--poll-interval", "0.05", "--wait-timeout", "0.2")
    code, _, err = run(capsys, *argv)
    assert code == 4
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: component {stuck.name} still has no copy after 0 s (limit 0 s)")  # 0.2 s, rounded
    assert last.endswith("its desired copy count is still 0: does an alarm on NoCapacityInvocationFailures drive its scale-out?")
    assert stuck.refused == 1


def test_the_runtime_refusal_alone_is_recognized_without_a_describe(aws_env, capsys, monkeypatch):
    # The component had a copy when described, none when invoked: the refusal itself starts the wait.
    from streaming_client import endpoint_discovery

    endpoint, (racing,) = shared_endpoint(aws_env, tgi(suffix="racing", scale_out=ScaleOut(polls=2)))
    check = endpoint_discovery.check_component_endpoint

    def check_then_scale_in(component, target):
        check(component, target)
        racing.copies, racing.desired = 0, 0

    monkeypatch.setattr(endpoint_discovery, "check_component_endpoint", check_then_scale_in)
    code, out, err = run(capsys, "--endpoint-name", endpoint.name, "--wait", "--poll-interval", "0.01", "--json")
    assert code == 0, err
    assert f"component {racing.name} has no copy (scaled to zero): its scale-out starts on this failed request" in err
    assert racing.refused == 1 and json.loads(out)["cold_start_s"] is not None


def test_ctrl_c_while_waiting_for_a_copy_is_one_line_and_130(loopback_aws):
    endpoint, (cold,) = shared_endpoint(loopback_aws, tgi(suffix="ctrlc", copies=0, desired=0))  # never scales out
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(loopback_aws.url)
    argv = [sys.executable, "-m", "streaming_client.cli.smoke_test", "--endpoint-name", endpoint.name, "--wait", "--poll-interval", "0.05"]
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it
    )
    deadline = time.monotonic() + 30
    while cold.describes < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.rstrip().splitlines()[-1] == f"interrupted while waiting for a copy of component {cold.name} (its scale-out goes on)"
    assert "Traceback" not in err and out == ""


def test_the_loopback_speaks_the_runtime_and_control_plane_apis_to_botocore(loopback_aws):
    # The real botocore clients parse every answer: InvokeEndpoint with a component, its refusal at
    # zero copies, DescribeInferenceComponent and ListInferenceComponents.
    endpoint, (warm, cold) = shared_endpoint(
        loopback_aws,
        {"suffix": "warm", "image": LMI_IMAGE, "answers": [Stream(lmi_json_document(), "application/json")]},
        tgi(suffix="cold", copies=0, desired=0),
    )
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    runtime = session.client("sagemaker-runtime", endpoint_url=loopback_aws.url)
    sagemaker = session.client("sagemaker", endpoint_url=loopback_aws.url)
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint.name, InferenceComponentName=warm.name, Body=b"{}", ContentType="application/json"
    )
    assert json.loads(answer["Body"].read())["generated_text"] == TEXT
    with pytest.raises(ClientError) as refused:
        runtime.invoke_endpoint(EndpointName=endpoint.name, InferenceComponentName=cold.name, Body=b"{}")
    error = refused.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError",
        NO_CAPACITY_MESSAGE,
        400,
    )
    with pytest.raises(ClientError) as unknown:
        runtime.invoke_endpoint_with_response_stream(EndpointName=endpoint.name, InferenceComponentName="nope", Body=b"{}")
    assert unknown.value.response["Error"]["Code"] == "ValidationError"
    described = sagemaker.describe_inference_component(InferenceComponentName=cold.name)
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    assert (described["EndpointName"], described["Specification"]["ModelName"]) == (endpoint.name, f"{cold.name}-model")
    assert sagemaker.describe_model(ModelName=f"{warm.name}-model")["PrimaryContainer"]["Image"] == LMI_IMAGE
    listed = sagemaker.list_inference_components(EndpointNameEquals=endpoint.name)["InferenceComponents"]
    assert [(c["InferenceComponentName"], c["EndpointName"], c["VariantName"]) for c in listed] == [
        (cold.name, endpoint.name, "AllTraffic"),
        (warm.name, endpoint.name, "AllTraffic"),
    ]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{endpoint.name}-config")
    assert (
        "ModelName" not in config["ProductionVariants"][0]
        and config["ProductionVariants"][0]["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    )


def test_the_help_names_the_component_flag(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--component NAME" in text and "InferenceComponentName output" in text


# --- llm-bench ------------------------------------------------------------------------------------


def bench(capsys, *argv: str) -> tuple[int, str, str]:
    from tools.cli.bench import main as bench_main

    code = bench_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_bound(monkeypatch):
    """The bench without the app's settings of the deployment (not what these tests are about)."""
    from tools.cli import bench as bench_module

    monkeypatch.setattr(
        bench_module, "deployment_of", lambda args, fleet: bench_module.Deployment(fleet.instance_type, 1, None, None, 0, 0)
    )


def scheduled(**settings) -> dict:
    return {"image": TGI_IMAGE, "answers": [Scheduled(0.0, 0.0, 3, threading.Semaphore(4))], **settings}


def test_the_bench_sends_the_component_and_measures_its_cold_start(aws_env, capsys, tmp_path, no_bound):
    endpoint, (cold,) = shared_endpoint(aws_env, scheduled(suffix="bench-cold", copies=0, desired=0, scale_out=ScaleOut(after_s=0.2)))
    argv = ("--endpoint-name", endpoint.name, "--variant", "tgi", "--cold-start", "--poll-interval", "0.05")
    code, out, err = bench(
        capsys, *argv, "--concurrency", "1,2", "--requests-per-level", "2", "--no-progress", "--output-dir", str(tmp_path)
    )
    assert code == 0, err
    meta = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert meta["component"] == cold.name and 0.2 <= meta["cold_start_s"] < 3 and meta["cold_start"] is None
    assert f"component {cold.name} has no copy (scaled to zero): its scale-out starts on this failed request" in err
    assert out.splitlines()[0].startswith(f"cold start {meta['cold_start_s']:.1f} s")
    # The refused request, the measured one, then 2 + 2 of the levels: all to the component.
    assert cold.refused == 1 and len(cold.invocations) == 5
    assert {call["component"] for call in endpoint.invocations} == {cold.name}


def test_the_bench_says_why_it_measured_no_cold_start(aws_env, capsys, tmp_path, no_bound):
    endpoint, (warm,) = shared_endpoint(aws_env, scheduled(suffix="bench-warm", copies=2))
    argv = ("--endpoint-name", endpoint.name, "--variant", "tgi", "--cold-start", "--concurrency", "1", "--requests-per-level", "1")
    code, out, err = bench(capsys, *argv, "--no-progress", "--output-dir", str(tmp_path))
    assert code == 0, err
    meta = json.loads((tmp_path / "results.json").read_text())["meta"]
    assert (meta["cold_start_s"], meta["cold_start"]) == (None, "not measured: the component had 2 copies")
    assert out.splitlines()[0] == "cold start: not measured: the component had 2 copies"
    assert len(warm.invocations) == 1  # the level's request only


def test_the_bench_without_cold_start_warns_of_a_component_at_zero(aws_env, capsys, tmp_path, no_bound):
    endpoint, (cold,) = shared_endpoint(aws_env, scheduled(suffix="bench-zero", copies=0, desired=0))
    argv = ("--endpoint-name", endpoint.name, "--variant", "tgi", "--concurrency", "1", "--requests-per-level", "2")
    code, out, err = bench(capsys, *argv, "--no-progress", "--output-dir", str(tmp_path))
    assert code == 0, err
    assert err.splitlines()[0] == (
        f"component {cold.name} has no copy (scaled to zero): requests fail until its scale-out runs one; "
        "pass --cold-start to wait for it (and time it) first"
    )
    level = json.loads((tmp_path / "results.json").read_text())["levels"][0]
    assert (level["requests"], level["errors"], cold.refused) == (2, 2, 2)


@pytest.mark.parametrize("flag", ["--poll-interval", "--cold-start-timeout"])
def test_the_benchs_wait_flags_must_be_positive(capsys, flag):
    with pytest.raises(SystemExit) as usage:
        bench(capsys, "--endpoint-name", "x", flag, "0")
    assert usage.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {flag}: must be greater than 0, got 0")
