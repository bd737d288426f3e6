"""The pipeline's smoke-test step, run as CodeBuild would run it, against loopback services.

The commands come from the synthesized buildspec of the dev stage's SmokeTest project. Like
CodeBuild, the process gets credentials only from a container credentials endpoint (here a
loopback server); the step's profiles make botocore assume each stage role with them through STS
(moto's server) before DescribeEndpoint and the stream (the loopback AWS server). This checks the
profile mechanism, the smoke test's flags and the exit code a pipeline action acts on.
"""

from __future__ import annotations

import configparser
import json
import shlex
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from aws_cdk.assertions import Template

from tests.conftest import DEV_ACCOUNT, ROOT
from tests.test_delivery_pipeline import build_commands, stage_actions
from tests.test_verify_deployment import Deployment
from tools.loopback.aws import Component, Endpoint, HttpError, Stream
from tools.loopback.samples import LMI_IMAGE, TEXT, TGI_IMAGE, VLLM_IMAGE, lmi_json_document, tgi_sse, vllm_chat_sse

# Slow end to end (CLI subprocesses, servers on 127.0.0.1): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e

CONTAINER_KEY = "ASIACONTAINERFAKE0001"  # obviously fake; what CodeBuild's endpoint would hand out


class ContainerCredentials:
    """The credentials endpoint of a CodeBuild container (AWS_CONTAINER_CREDENTIALS_FULL_URI)."""

    def __init__(self) -> None:
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                body = json.dumps(
                    {
                        "AccessKeyId": CONTAINER_KEY,
                        "SecretAccessKey": "fake-container-secret",
                        "Token": "fake-container-token",
                        "Expiration": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # close() waits for the loop to see its shutdown: it looks every 50 ms, not every 0.5 s.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v2/credentials/fake"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def dev_smoke_commands(pipeline_app) -> list[str]:
    template = Template.from_stack(pipeline_app.pipeline)
    (smoke,) = [a for a in stage_actions(template, "Dev") if a["Name"] == "SmokeTest"]
    return build_commands(template, smoke["Configuration"]["ProjectName"])


def run_step(commands: list[str], env: dict[str, str], config_path) -> list[subprocess.CompletedProcess]:
    """Run the buildspec's commands in order, stopping at the first failure as CodeBuild does."""
    results = []
    for command in commands:
        argv = shlex.split(command)
        if argv[:2] == ["python3", "-m"] or argv[0] == ".venv/bin/pip":
            continue  # set-up: this checkout's .venv already has requirements.txt installed
        if argv[:3] == ["aws", "configure", "set"]:
            # What `aws configure set profile.NAME.KEY VALUE` writes to the config file.
            _, name, key = argv[3].split(".", 2)
            config = configparser.ConfigParser()
            config.read(config_path)
            if not config.has_section(f"profile {name}"):
                config.add_section(f"profile {name}")
            config.set(f"profile {name}", key, argv[4])
            with open(config_path, "w") as handle:
                config.write(handle)
            continue
        result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        results.append(result)
        if result.returncode != 0:
            break
    return results


@pytest.fixture
def step_env(tmp_path, loopback_aws, moto_url):
    credentials = ContainerCredentials()
    config_path = tmp_path / "aws-config"
    config_path.write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(config_path),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials.url,
        "AWS_ENDPOINT_URL": loopback_aws.url,
        "AWS_ENDPOINT_URL_STS": moto_url,
        # The verification's alarm, topic and key reads (moto); SageMaker stays on the loopback server.
        "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url,
        "AWS_ENDPOINT_URL_SNS": moto_url,
        "AWS_ENDPOINT_URL_KMS": moto_url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    yield env, config_path, credentials
    credentials.close()


def endpoints(loopback_aws, name: str, tgi_answer, lmi_answer) -> tuple[Endpoint, Endpoint, Component]:
    """The dev stage's deployments (PIPELINE_CONTEXT's): tgi and lmi on their endpoints, qwen-vllm a
    component (with a copy) of the shared endpoint."""
    shared = loopback_aws.add_endpoint(Endpoint(f"Dev-LlmSharedEndpointPool-{name}"))
    return (
        loopback_aws.add_endpoint(Endpoint(f"Dev-LlmEndpointTgi-{name}", image=TGI_IMAGE, answers=[tgi_answer], instance_count=2)),
        loopback_aws.add_endpoint(Endpoint(f"Dev-LlmEndpointLmi-{name}", image=LMI_IMAGE, answers=[lmi_answer])),
        loopback_aws.add_component(
            Component(
                f"Dev-LlmEndpointQwenVllm-{name}", shared.name, image=VLLM_IMAGE, answers=[Stream(vllm_chat_sse(), "text/event-stream")]
            )
        ),
    )


def stage_outputs(moto_url: str, tgi: Endpoint, lmi: Endpoint, vllm: Component, *, tgi_config: str | None = None) -> dict[str, str]:
    """The variables CodePipeline fills from the stage's stack outputs, for endpoints on the
    loopback server and alarms and topics in moto, created in the dev account (as the stage role)."""
    variables = {}
    for deployment, endpoint, count in (("tgi", tgi, "2"), ("lmi", lmi, "1")):
        key = deployment.upper()
        role = f"arn:aws:iam::{DEV_ACCOUNT}:role/llm-smoke-test-dev-{deployment}"
        deployment_record = Deployment(as_role(moto_url, role)).create()
        variables |= {
            f"{key}_ENDPOINT": endpoint.name,
            f"{key}_ENDPOINT_CONFIG": f"{endpoint.name}-config",
            f"{key}_INSTANCE_TYPE": "ml.g5.12xlarge",
            f"{key}_MIN_INSTANCES": count,
            f"{key}_MAX_INSTANCES": count,
            f"{key}_ALARMS": deployment_record.outputs["AlarmNames"],
            f"{key}_ALARM_TOPIC": deployment_record.outputs["AlarmTopicArn"],
        }
    variables |= {"QWEN_VLLM_ENDPOINT": vllm.endpoint, "QWEN_VLLM_COMPONENT": vllm.name}
    if tgi_config:
        variables["TGI_ENDPOINT_CONFIG"] = tgi_config
    return variables


def as_role(moto_url: str, role_arn: str):
    """Clients with a session of `role_arn` from moto's STS: moto keeps their resources in the role's account."""
    sts = boto3.client("sts", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="test-setup")["Credentials"]
    return lambda service: boto3.client(
        service,
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_step_streams_from_every_endpoint_then_verifies_them_as_the_assumed_stage_roles(
    dev_smoke_commands, step_env, loopback_aws, moto_url
):
    env, config_path, credentials = step_env
    tgi, lmi, vllm = endpoints(loopback_aws, "ok", Stream(tgi_sse(), "text/event-stream"), Stream(lmi_json_document(), "application/json"))
    results = run_step(dev_smoke_commands, env | stage_outputs(moto_url, tgi, lmi, vllm), config_path)
    assert [r.returncode for r in results] == [0] * 5, [r.stderr for r in results]
    documents = [json.loads(r.stdout) for r in results]
    streams, verifications = documents[0::2], documents[1::2]  # the component's smoke test has no verification
    assert [(d["endpoint"], d["variant"], d["engine"], d["text"]) for d in streams] == [
        (tgi.name, "tgi", "tgi", TEXT),
        (lmi.name, "lmi", "lmi", TEXT),
        (vllm.endpoint, "qwen-vllm", "vllm", TEXT),
    ]
    assert streams[2]["component"] == vllm.name
    for verification in verifications:
        assert [(c["check"], c["ok"], c["unverified"]) for c in verification["checks"]] == [
            ("endpoint-config", True, False),
            ("capacity", True, False),
            ("alarms", True, False),
            ("alarm-state", True, False),
            ("topic", True, False),
        ]
    config = configparser.ConfigParser()
    config.read(config_path)
    assert config["profile smoke-tgi"]["role_arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:role/llm-smoke-test-dev-tgi"
    # Signed with the role's session credentials (from STS), not with the container's own.
    for endpoint in (tgi, lmi, vllm):
        (call,) = endpoint.invocations
        authorization = call["headers"]["Authorization"]
        assert "Credential=" in authorization and CONTAINER_KEY not in authorization
    assert [e.invocations[0]["body"]["parameters"]["max_new_tokens"] for e in (tgi, lmi)] == [64, 64]
    assert vllm.invocations[0]["body"]["max_tokens"] == 64 and vllm.invocations[0]["body"]["messages"]  # the chat API
    assert credentials.requests >= 1


def test_a_rolled_back_endpoint_fails_the_step_after_its_smoke_test(dev_smoke_commands, step_env, loopback_aws, moto_url):
    env, config_path, _ = step_env
    tgi, lmi, vllm = endpoints(
        loopback_aws, "rolled-back", Stream(tgi_sse(), "text/event-stream"), Stream(lmi_json_document(), "application/json")
    )
    variables = stage_outputs(moto_url, tgi, lmi, vllm, tgi_config="LlmEndpointEndpointConfig-NEW")
    results = run_step(dev_smoke_commands, env | variables, config_path)
    assert [r.returncode for r in results] == [0, 10]  # streams fine, but runs the old config: the pipeline stops
    assert "runs Dev-LlmEndpointTgi-rolled-back-config, not LlmEndpointEndpointConfig-NEW" in results[1].stderr
    assert lmi.invocations == []


def test_a_bad_answer_fails_the_step_with_the_smoke_tests_exit_code(dev_smoke_commands, step_env, loopback_aws, moto_url):
    env, config_path, _ = step_env
    tgi, lmi, vllm = endpoints(
        loopback_aws,
        "broken",
        HttpError(424, "ModelError", "Received server error (500) from primary"),
        Stream(lmi_json_document(), "application/json"),
    )
    results = run_step(dev_smoke_commands, env | stage_outputs(moto_url, tgi, lmi, vllm), config_path)
    assert [r.returncode for r in results] == [5]  # request rejected; CodeBuild stops the phase there
    assert json.loads(results[0].stdout)["exit_code"] == 5
    assert "Traceback" not in results[0].stderr
    assert lmi.invocations == []
