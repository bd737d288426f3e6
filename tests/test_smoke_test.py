"""llm-smoke-test end to end: the real boto3 client against the loopback AWS server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from streaming_client import payloads
from streaming_client.cli.smoke_test import main
from streaming_client.engines import DEFAULT_PROMPT, ENGINES
from streaming_client.errors import EXIT_CODES
from tests.conftest import ROOT, aws_test_environment, ctrl_c_reaches_it
from tools.loopback.aws import Endpoint, HttpError, Stream
from tools.loopback.samples import (
    ENGINE_SAMPLES,
    FORMATS,
    LMI_IMAGE,
    TEXT,
    TGI_IMAGE,
    TOKENS,
    VLLM_IMAGE,
    lmi_json_document,
    tgi_sse,
    vllm_chat_sse,
)

_names = itertools.count()


def endpoint(aws, *answers, **kwargs) -> Endpoint:
    return aws.add_endpoint(Endpoint(f"ep-{next(_names)}", answers=list(answers), **kwargs))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_byte_parts(parts: list[bytes]) -> list[bytes]:
    stream = b"".join(parts)
    return [stream[i : i + 1] for i in range(len(stream))]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_streams_every_format_to_stdout(aws_env, capsys, name):
    build, content_type = FORMATS[name]
    image = TGI_IMAGE if name.startswith("tgi") else LMI_IMAGE
    ep = endpoint(aws_env, Stream(build(), content_type), image=image)
    code, out, err = run(capsys, "--endpoint-name", ep.name)
    assert code == 0, err
    assert out == TEXT + "\n"
    assert f"{len(TOKENS)} output tokens" in err and "time to first token" in err


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_one_byte_payload_parts_without_content_type(aws_env, capsys, name):
    # Every byte boundary of the stream is a PayloadPart boundary, and the format is sniffed.
    build, _ = FORMATS[name]
    ep = endpoint(aws_env, Stream(one_byte_parts(build())))
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--engine", "lmi")
    assert (code, out) == (0, TEXT + "\n"), err
    if name == "lmi-json-document":  # no token events: parts are counted, and the figure says so
        assert "output tokens (counted as parts)" in err
    else:
        assert f", {len(TOKENS)} output tokens," in err


def test_tgi_request_follows_the_recipe(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"), image=TGI_IMAGE)
    assert run(capsys, "--endpoint-name", ep.name)[0] == 0
    (call,) = ep.invocations
    body = call["body"]
    assert body["stream"] is True
    assert body["parameters"] == {
        "do_sample": True,
        "top_p": 0.6,
        "temperature": 0.9,
        "top_k": 50,
        "max_new_tokens": 512,
        "repetition_penalty": 1.03,
        "stop": ["</s>"],
        "return_full_text": False,
    }
    assert body["inputs"].startswith("<s>[INST] <<SYS>>\n")
    assert "<</SYS>>\n\nAnyCompany recently announced a new service launch named AnyCloud Internet Service." in body["inputs"]
    assert "EARLYB1RD" in body["inputs"] and body["inputs"].endswith(" [/INST]")
    assert call["headers"]["Content-Type"] == "application/json"
    assert call["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == "accept_eula=false"


def test_lmi_request_follows_the_recipe(aws_env, capsys):
    ep = endpoint(aws_env, Stream(lmi_json_document(), "application/json"), image=LMI_IMAGE)
    assert run(capsys, "--endpoint-name", ep.name, "--accept-eula")[0] == 0
    (call,) = ep.invocations
    assert "stream" not in call["body"]
    assert call["body"]["parameters"] == {
        "do_sample": True,
        "top_p": 0.6,
        "temperature": 0.9,
        "top_k": 50,
        "max_new_tokens": 512,
        "return_full_text": False,
    }
    assert "STREAM2DREAM" in call["body"]["inputs"]
    assert call["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == "accept_eula=true"


def test_prompt_and_parameter_flags_reach_the_request(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"), image=TGI_IMAGE)
    code, _, _ = run(
        capsys,
        "--endpoint-name",
        ep.name,
        "--prompt",
        "Hi there",
        "--system-prompt",
        "Be brief.",
        "--max-new-tokens",
        "64",
        "--temperature",
        "0.2",
    )
    assert code == 0
    body = ep.invocations[0]["body"]
    assert body["inputs"] == "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST]"
    assert (body["parameters"]["max_new_tokens"], body["parameters"]["temperature"]) == (64, 0.2)


def test_stack_outputs_name_the_endpoint_and_variant(aws_env, capsys):
    ep = endpoint(aws_env, Stream(lmi_json_document(), "application/json"), image="unrecognizable/image:1")
    aws_env.add_stack("MyLmiStack", {"EndpointName": ep.name, "ServingVariant": "lmi", "Region": "us-east-1"})
    code, out, err = run(capsys, "--stack", "MyLmiStack")
    assert (code, out) == (0, TEXT + "\n"), err
    assert "stream" not in ep.invocations[0]["body"]


@pytest.mark.parametrize(
    ("answer", "content_type"),
    [("vllm-chat-sse", "text/event-stream"), ("sglang-chat-sse", "text/event-stream"), ("lmi-chat-jsonlines", "application/jsonlines")],
)
def test_chat_api_sends_messages_and_streams_the_deltas(aws_env, capsys, answer, content_type):
    # An engine the variant detection does not know (vLLM here): --api chat needs no variant.
    build, _ = FORMATS[answer]
    ep = endpoint(aws_env, Stream(one_byte_parts(build()), content_type), image=VLLM_IMAGE)
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--api", "chat", "--max-new-tokens", "64", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["text"] == TEXT and document["output_tokens"] == len(TOKENS)
    assert document["variant"] is None and document["engine"] is None  # --api chat needs neither
    (call,) = ep.invocations
    assert call["body"] == {
        "messages": [
            {"role": "system", "content": payloads.DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": DEFAULT_PROMPT},
        ],
        "max_tokens": 64,
        "temperature": 0.9,
        "top_p": 0.6,
        "top_k": 50,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert "[INST]" not in json.dumps(call["body"])  # the server applies the model's own template


RECIPE_PARAMETERS = {"do_sample": True, "top_p": 0.6, "temperature": 0.9, "top_k": 50, "max_new_tokens": 512, "return_full_text": False}
SYSTEM = payloads.DEFAULT_SYSTEM_PROMPT


def llama2(ask: str) -> str:
    return f"<s>[INST] <<SYS>>\n{SYSTEM}\n<</SYS>>\n\n{ask} [/INST]"


def chat(ask: str) -> dict:
    return {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ask}],
        "max_tokens": 512,
        "temperature": 0.9,
        "top_p": 0.6,
        "top_k": 50,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


INTERNET_ASK = ENGINES["tgi"].default_prompt
# What each engine's endpoint is sent by `llm-smoke-test --endpoint-name NAME` (nothing else given).
EXPECTED_REQUESTS = {
    "tgi": {
        "inputs": llama2(INTERNET_ASK),
        "parameters": {**RECIPE_PARAMETERS, "repetition_penalty": 1.03, "stop": ["</s>"]},
        "stream": True,
    },
    "lmi": {"inputs": llama2(ENGINES["lmi"].default_prompt), "parameters": RECIPE_PARAMETERS},
    "vllm": chat(INTERNET_ASK),
    "sglang": chat(INTERNET_ASK),
}


def test_the_loopback_has_a_sample_of_every_engine():
    assert set(ENGINE_SAMPLES) == set(ENGINES) == set(EXPECTED_REQUESTS)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_is_detected_from_its_image_sent_its_request_and_streamed(aws_env, capsys, engine):
    # Only the endpoint's name: the engine comes from the image of its model, the request is the
    # engine's, and the answer (in the engine's own stream format, cut at every byte) is printed.
    sample = ENGINE_SAMPLES[engine]
    build, content_type = FORMATS[sample.stream]
    ep = endpoint(aws_env, Stream(one_byte_parts(build()), content_type), image=sample.image)
    code, out, err = run(capsys, "--endpoint-name", ep.name)
    assert (code, out) == (0, TEXT + "\n"), err
    assert f"streaming from {ep.name} ({engine})" in err
    (call,) = ep.invocations
    assert call["body"] == EXPECTED_REQUESTS[engine]
    assert call["headers"]["Content-Type"] == "application/json"


def test_a_deployment_alone_reads_its_stack_and_that_stacks_engine(aws_env, capsys):
    # The image says nothing: the engine is the stack's ServingEngine output.
    ep = endpoint(aws_env, Stream(vllm_chat_sse(), "text/event-stream"), image="111122223333.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    aws_env.add_stack("LlmEndpointQwenVllm", {"EndpointName": ep.name, "ServingVariant": "qwen-vllm", "ServingEngine": "vllm"})
    requests_before = len(aws_env.requests)
    code, out, err = run(capsys, "--variant", "qwen-vllm", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["text"], document["variant"], document["engine"]) == (TEXT, "qwen-vllm", "vllm")
    assert ep.invocations[0]["body"] == chat(INTERNET_ASK)
    assert "SageMaker.DescribeModel" not in aws_env.requests[requests_before:]  # the output said it: no detection


def test_the_stacks_engine_output_wins_over_its_image_and_engine_wins_over_both(aws_env, capsys):
    ep = endpoint(aws_env, Stream(lmi_json_document(), "application/json"), image=TGI_IMAGE)
    aws_env.add_stack("LlmEndpointLlamaLmi", {"EndpointName": ep.name, "ServingVariant": "llama-lmi", "ServingEngine": "lmi"})
    assert run(capsys, "--variant", "llama-lmi")[0] == 0
    assert ep.invocations[-1]["body"] == EXPECTED_REQUESTS["lmi"]
    assert run(capsys, "--stack", "LlmEndpointLlamaLmi", "--engine", "tgi")[0] == 0
    assert ep.invocations[-1]["body"] == EXPECTED_REQUESTS["tgi"]


def test_an_engine_name_as_variant_with_an_endpoint_name_is_the_engine_as_before(aws_env, capsys):
    # `--endpoint-name E --variant lmi`, as pipelines and scripts called it before deployments had names.
    ep = endpoint(aws_env, Stream(lmi_json_document(), "application/json"), image=TGI_IMAGE)
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--variant", "lmi")
    assert (code, out) == (0, TEXT + "\n"), err
    assert ep.invocations[0]["body"] == EXPECTED_REQUESTS["lmi"]
    # Any other name is only the deployment's: the engine is detected from the image.
    code, _, err = run(capsys, "--endpoint-name", ep.name, "--variant", "llama-lmi")
    assert f"streaming from {ep.name} (tgi)" in err
    assert ep.invocations[1]["body"] == EXPECTED_REQUESTS["tgi"]


def test_an_unknown_engine_is_refused_naming_the_flag_and_the_engines(aws_env, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["--endpoint-name", "x", "--engine", "trt"])
    assert usage.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith("argument --engine: invalid choice: 'trt' (choose from lmi, sglang, tgi, vllm)") or error.endswith(
        "argument --engine: invalid choice: 'trt' (choose from 'lmi', 'sglang', 'tgi', 'vllm')"
    )


def test_a_deployment_without_a_stack_names_the_stack_it_looked_for(aws_env, capsys):
    code, out, err = run(capsys, "--variant", "qwen-vllm", "--app-name", "team-b")
    assert (code, out) == (EXIT_CODES["EndpointNotFound"], "")
    assert "Stack with id team-b-LlmEndpointQwenVllm does not exist" in err and "Traceback" not in err


def test_help_says_what_variant_and_engine_mean(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the deployment's name in the app (a variants.<name> key); alone, picks the app's stack for it" in text
    assert "an engine's name (lmi|sglang|tgi|vllm) is taken as --engine" in text
    assert "--engine {lmi,sglang,tgi,vllm}" in text and "ServingEngine output" in text


def test_an_unrecognized_image_names_the_way_out(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"), image="123456789012.dkr.ecr.us-east-1.amazonaws.com/in-house:1")
    code, _, err = run(capsys, "--endpoint-name", ep.name)
    assert code == 2
    assert f"cannot tell which engine serves {ep.name}; pass --engine lmi|sglang|tgi|vllm (or --api chat)" in err
    assert ep.invocations == []


def test_the_generate_api_of_a_chat_engine_is_a_usage_error(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"), image=VLLM_IMAGE)
    code, _, err = run(capsys, "--endpoint-name", ep.name, "--api", "generate")
    assert code == 2
    assert "--api generate is the recipe's request of lmi or tgi, not of vllm: use --api chat" in err
    assert ep.invocations == []


def test_variant_alone_reads_the_apps_stack(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"))
    aws_env.add_stack("LlmEndpointTgi", {"EndpointName": ep.name, "ServingVariant": "tgi"})
    code, out, _ = run(capsys, "--variant", "tgi")
    assert (code, out) == (0, TEXT + "\n")


def test_variant_with_an_app_name_reads_that_apps_stack(aws_env, capsys):
    # Two copies of the app in one account: the app name picks the copy.
    ours = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"))
    theirs = endpoint(aws_env, Stream(b"data: {}\n\n", "text/event-stream"))
    aws_env.add_stack("team-a-LlmEndpointTgi", {"EndpointName": ours.name, "ServingVariant": "tgi"})
    aws_env.add_stack("LlmEndpointTgi", {"EndpointName": theirs.name, "ServingVariant": "tgi"})
    code, out, _ = run(capsys, "--variant", "tgi", "--app-name", "team-a")
    assert (code, out) == (0, TEXT + "\n")
    assert len(ours.invocations) == 1 and theirs.invocations == []


def test_wait_polls_until_in_service(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"), status_sequence=["Creating", "Creating"])
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--wait", "--poll-interval", "0.01")
    assert code == 0
    assert [line.split(": ")[1].split(" (")[0] for line in err.splitlines() if line.startswith(f"endpoint {ep.name}:")] == [
        "Creating",
        "Creating",
        "InService",
    ]


def test_wait_gives_up_at_its_time_limit(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse()), status_sequence=["Creating"] * 50)
    code, _, err = run(capsys, "--endpoint-name", ep.name, "--wait", "--poll-interval", "0.05", "--wait-timeout", "0.1")
    assert code == EXIT_CODES["EndpointNotInService"] == 4
    assert "still Creating after" in err


def test_failed_endpoint_reports_status_and_reason(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse()), status="Failed", failure_reason="CannotStartContainerError: out of memory")
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--wait", "--poll-interval", "0.01")
    assert code == 4
    assert err.strip().splitlines()[-1] == f"error: endpoint {ep.name} is Failed: CannotStartContainerError: out of memory"
    assert out == ""


def test_endpoint_not_in_service_without_wait(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse()), status="Updating")
    code, _, err = run(capsys, "--endpoint-name", ep.name)
    assert code == 4 and f"error: endpoint {ep.name} is Updating; pass --wait to wait until it is InService" in err
    # A state that waiting will not change gets no such hint.
    failed = endpoint(aws_env, Stream(tgi_sse()), status="OutOfService")
    code, _, err = run(capsys, "--endpoint-name", failed.name)
    assert code == 4 and err.strip().endswith(f"error: endpoint {failed.name} is OutOfService")


def test_json_keeps_the_text_as_it_is_and_figures_short(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"))
    code, out, _ = run(capsys, "--endpoint-name", ep.name, "--json")
    assert code == 0
    assert "启动 🚀" in out and "\\u" not in out  # UTF-8, not \u escapes
    document = json.loads(out)
    for name in ("time_to_first_token_s", "tokens_per_second", "total_s"):
        assert document[name] == round(document[name], 6)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_ctrl_c_mid_stream_ends_the_line_and_reports_what_arrived(loopback_aws, as_json):
    ep = endpoint(loopback_aws, Stream(tgi_sse(["word "] * 400), "text/event-stream", delay_s=0.02), image=TGI_IMAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(loopback_aws.url)
    argv = [sys.executable, "-m", "streaming_client.cli.smoke_test", "--endpoint-name", ep.name, *(["--json"] if as_json else [])]
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it
    )
    # Wait until text has arrived (in text mode: until the client has printed two words; with
    # --json nothing is printed before the end: a second after the stream started), then press Ctrl-C.
    printed = b""
    if as_json:
        while not ep.invocations and process.poll() is None:
            time.sleep(0.02)
        time.sleep(1.0)
    else:
        deadline = time.monotonic() + 60
        while b"word word" not in printed and time.monotonic() < deadline:
            chunk = os.read(process.stdout.fileno(), 4096)  # unbuffered: communicate() reads the rest
            if not chunk:
                break
            printed += chunk
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    out = printed.decode() + out
    assert process.returncode == 130, err
    assert err.rstrip().splitlines()[-1].startswith("interrupted after ") and "Traceback" not in err
    assert "time to first token" in err  # the figures of what arrived
    if as_json:
        (line,) = out.splitlines()
        document = json.loads(line)
        assert document["exit_code"] == 130 and document["text"].startswith("word word") and document["output_tokens"] > 0
    else:
        assert out.startswith("word word") and out.endswith("\n")


def test_missing_endpoint_and_missing_stack(aws_env, capsys):
    code, _, err = run(capsys, "--endpoint-name", "no-such-endpoint")
    assert code == EXIT_CODES["EndpointNotFound"] == 3
    assert 'Could not find endpoint "no-such-endpoint"' in err
    code, _, err = run(capsys, "--stack", "NoSuchStack")
    assert code == 3 and "Stack with id NoSuchStack does not exist" in err


@pytest.fixture
def quick_backoff(monkeypatch):
    """Retries after at most 20 ms instead of the client's up to 1 s (full jitter on a 0.5 s base):
    the retry tests check which answers are retried and how often, not the backoff's length."""
    from streaming_client import invocation

    monkeypatch.setattr(invocation, "_BACKOFF_BASE_S", 0.01)


def test_throttling_is_retried_then_succeeds(aws_env, capsys, quick_backoff):
    ep = endpoint(aws_env, HttpError(400, "ThrottlingException", "Rate exceeded"), Stream(tgi_sse(), "text/event-stream"))
    code, out, _ = run(capsys, "--endpoint-name", ep.name, "--max-attempts", "2")
    assert (code, out) == (0, TEXT + "\n")
    assert len(ep.invocations) == 2


def test_throttling_beyond_the_retries_has_its_exit_code(aws_env, capsys, quick_backoff):
    ep = endpoint(aws_env, HttpError(400, "ThrottlingException", "Rate exceeded"))
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--max-attempts", "2")
    assert code == EXIT_CODES["Throttled"] == 6
    assert len(ep.invocations) == 2
    assert "ThrottlingException after 2 attempts" in err


def test_model_error_is_a_rejected_request(aws_env, capsys):
    ep = endpoint(aws_env, HttpError(424, "ModelError", "Received client error (400) from primary: input too long"))
    code, _, err = run(capsys, "--endpoint-name", ep.name)
    assert code == EXIT_CODES["RequestRejected"] == 5
    assert "the model container returned an error: Received client error (400)" in err


@pytest.mark.parametrize("kind", ["ModelStreamError", "InternalStreamFailure"])
def test_exception_event_mid_stream_keeps_the_text_before_it(aws_env, capsys, kind):
    ep = endpoint(aws_env, Stream(tgi_sse(["Hello", " world"])[:2], "text/event-stream", exception=(kind, "the model went away")))
    code, out, err = run(capsys, "--endpoint-name", ep.name)
    assert code == EXIT_CODES["StreamFailed"] == 7
    assert out == "Hello world\n"
    assert f"the stream failed with {kind}: the model went away" in err
    assert "2 output tokens" in err


def test_in_band_error_event_mid_stream(aws_env, capsys):
    error = b'data:{"error": "Request failed during generation: CUDA OOM", "error_type": "generation"}\n\n'
    ep = endpoint(aws_env, Stream([*tgi_sse(["Partial"])[:1], error], "text/event-stream"))
    code, out, err = run(capsys, "--endpoint-name", ep.name)
    assert (code, out) == (7, "Partial\n")
    assert "CUDA OOM" in err


def test_connection_cut_mid_stream(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream", cut_after_parts=3))
    code, out, err = run(capsys, "--endpoint-name", ep.name)
    assert code == 7
    assert out == "".join(TOKENS[:3]) + "\n"
    assert "the connection broke mid-stream" in err


def test_silence_beyond_the_read_timeout_after_the_stream_opened(aws_env, capsys):
    # The response headers arrive, then nothing: the stream is open, so this is a stream failure.
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream", first_delay_s=1.5))
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--read-timeout", "0.3", "--max-attempts", "1")
    assert code == EXIT_CODES["StreamFailed"]
    assert "nothing arrived within the read timeout" in err
    assert out == ""  # no text, so not even a newline


def test_json_output_is_one_object_with_text_and_figures(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream"), image=TGI_IMAGE)
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["text"] == TEXT
    assert (document["endpoint"], document["variant"], document["engine"], document["format"]) == (ep.name, None, "tgi", "sse")
    assert document["output_tokens"] == len(TOKENS)
    assert document["time_to_first_token_s"] <= document["total_s"]


def test_json_output_on_failure_carries_partial_text_and_error(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse(["Hi"])[:1], "text/event-stream", exception=("ModelStreamError", "boom")))
    code, out, _ = run(capsys, "--endpoint-name", ep.name, "--json")
    document = json.loads(out)
    assert code == 7 and document["text"] == "Hi" and document["exit_code"] == 7 and "boom" in document["error"]


def test_unknown_image_without_variant_is_a_usage_error(aws_env, capsys):
    ep = endpoint(aws_env, Stream(tgi_sse()), image="111122223333.dkr.ecr.us-east-1.amazonaws.com/custom:1")
    code, _, err = run(capsys, "--endpoint-name", ep.name)
    assert code == EXIT_CODES["UsageError"] == 2
    assert "pass --engine" in err


def concurrently(*argvs: list[str], env: dict[str, str], timeout: float = 60) -> list[subprocess.CompletedProcess]:
    """subprocess.run of each command line, the processes started together."""
    processes = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for argv in argvs]
    done = []
    for argv, process in zip(argvs, processes, strict=True):
        out, err = process.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
    return done


def test_cli_subprocess_success_and_failure_without_traceback(loopback_aws):
    ep = endpoint(loopback_aws, Stream(one_byte_parts(lmi_json_document()), "application/json"), image=LMI_IMAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(loopback_aws.url)
    # The two runs are independent: they run at once.
    ok, missing = concurrently(
        [sys.executable, "-m", "streaming_client.cli.smoke_test", "--endpoint-name", ep.name],
        [sys.executable, "-m", "streaming_client.cli.smoke_test", "--endpoint-name", "gone"],
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == TEXT + "\n"
    assert missing.returncode == 3
    assert missing.stdout == ""
    assert "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].startswith("error: describing endpoint gone:")


def test_unreachable_service_has_its_exit_code(aws_env, capsys, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, out, err = run(capsys, "--endpoint-name", "anything")
    assert code == EXIT_CODES["ConnectionFailed"] == 8
    assert out == "" and "cannot reach the service" in err


def test_in_band_error_in_the_same_part_as_text_keeps_the_text(aws_env, capsys):
    error = b'data:{"error": "OOM", "error_type": "generation"}\n\n'
    ep = endpoint(aws_env, Stream([b"".join(tgi_sse(["Hello", " there"])[:2]) + error], "text/event-stream"))
    code, out, err = run(capsys, "--endpoint-name", ep.name)
    assert (code, out) == (7, "Hello there\n")
    assert "2 output tokens" in err


def test_read_timeout_before_the_headers_is_not_retried(aws_env, capsys):
    # Retrying would send the whole generation again: only throttling is retried.
    ep = endpoint(aws_env, Stream(tgi_sse(), "text/event-stream", headers_delay_s=1.0))
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--read-timeout", "0.3")
    assert code == EXIT_CODES["ConnectionFailed"] == 8
    assert out == "" and "no answer within the read timeout" in err
    assert len(ep.invocations) == 1


def test_model_not_ready_is_retried(aws_env, capsys, quick_backoff):
    ep = endpoint(aws_env, HttpError(429, "ModelNotReadyException", "Model is loading"), Stream(tgi_sse(), "text/event-stream"))
    code, out, _ = run(capsys, "--endpoint-name", ep.name, "--max-attempts", "2")
    assert (code, out, len(ep.invocations)) == (0, TEXT + "\n", 2)


def test_json_output_on_a_failure_before_the_stream(aws_env, capsys):
    code, out, _ = run(capsys, "--endpoint-name", "missing-endpoint", "--json")
    document = json.loads(out)
    assert code == 3 and document["exit_code"] == 3 and document["endpoint"] == "missing-endpoint" and document["text"] == ""


def test_unknown_aws_profile_is_a_usage_error(aws_env, capsys):
    code, out, err = run(capsys, "--endpoint-name", "x", "--profile", "no-such-profile")
    assert code == 2 and out == ""
    assert "no-such-profile" in err and "Traceback" not in err


def test_non_positive_numbers_are_rejected_by_the_parser(aws_env, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--endpoint-name", "x", "--read-timeout", "0"])
    assert exit_info.value.code == 2
    assert "must be greater than 0" in capsys.readouterr().err


def test_reader_going_away_ends_quietly(loopback_aws):
    tokens = ["word "] * 20000
    ep = endpoint(loopback_aws, Stream(tgi_sse(tokens), "text/event-stream"), image=TGI_IMAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(loopback_aws.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "streaming_client.cli.smoke_test", "--endpoint-name", ep.name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.read(10)
    process.stdout.close()  # like `| head -c 10`
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141
    assert b"Traceback" not in err


@pytest.mark.parametrize(
    ("parts", "content_type"),
    [([], "text/event-stream"), ([b'data: {"token": {"text": "</s>", "special": true}}\n\n'], "text/event-stream"), ([b"   "], None)],
)
def test_an_answer_without_text_fails_the_smoke_test(aws_env, capsys, parts, content_type):
    # A pipeline acts on the exit code: an empty (or whitespace, or special-tokens-only) answer is not a pass.
    ep = endpoint(aws_env, Stream(parts, content_type), image=TGI_IMAGE)
    code, out, err = run(capsys, "--endpoint-name", ep.name, "--json")
    assert code == EXIT_CODES["StreamFailed"] == 7
    document = json.loads(out)
    assert document["exit_code"] == 7 and document["error"] == f"endpoint {ep.name} streamed no generated text"
    assert "Traceback" not in err


def test_the_client_recognizes_every_image_the_app_deploys_as_its_engine():
    # The client installs without the app: its engines (names, markers, request API) must be the
    # app's registry's, and its markers must match every image of the app's image table.
    from blueprint.engines.registry import ENGINES as APP_ENGINES
    from blueprint.images.image_catalog import load_table
    from streaming_client.engines import ENGINES, engine_of_image

    assert set(ENGINES) == set(APP_ENGINES)
    table = load_table()["images"]
    for name, engine in APP_ENGINES.items():
        assert ENGINES[name].api == engine.API
        uris = [
            entry["uri"]
            for framework in engine.FRAMEWORKS
            for version in table.get(framework, {}).values()
            for entry in version["regions"].values()
        ]
        assert uris and {engine_of_image(uri) for uri in uris} == {name}


@pytest.mark.parametrize("name", ["tgi", "lmi", "qwen-vllm", "a1-b2", "llama-3-8b-sglang"])
def test_the_client_names_a_deployments_stack_as_the_app_does(name):
    # The client installs without the app, so it keeps its own copy of the rule.
    from blueprint.config.names import endpoint_stack_id, prefixed
    from streaming_client.endpoint_discovery import stack_for_deployment

    assert stack_for_deployment(name) == endpoint_stack_id(name)
    assert stack_for_deployment(name, "team-a") == prefixed("team-a", endpoint_stack_id(name))
