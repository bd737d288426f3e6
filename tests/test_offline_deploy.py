"""Offline end-to-end: the real CDK CLI bootstraps, deploys and destroys the app in moto's server.

One lifecycle per module run (about 20 s): bootstrap, deploy the bucket stack and four endpoint
stacks (the seed's TGI and LMI, and two deployments of a second model on vLLM and SGLang, added
by config as a user would; the emulator's instance type, no alarms), read back what
was created with boto3, run llm-smoke-test against each stack (discovery from moto, tokens
from the loopback runtime server), destroy, and read back what is left. The tests below assert on
that record. `tests/aws_emulator.py` lists what moto cannot check and how each gap is bridged.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions
import pytest

from blueprint.engines import lmi, serving_properties
from blueprint.images.image_catalog import find_image
from blueprint.loader import load_config
from tests.aws_emulator import ACCOUNT, REGION, MotoServer, detach_managed_policies
from tests.conftest import ROOT
from tools.loopback.aws import Endpoint, Stream
from tools.loopback.samples import TEXT, lmi_json_document, sglang_chat_sse, tgi_sse, vllm_chat_sse

# Slow end to end (CLI subprocesses, servers on 127.0.0.1): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e

CDK = ROOT / "node_modules" / ".bin" / "cdk"
ENDPOINT_STACKS = {
    "tgi": "LlmEndpointTgi",
    "lmi": "LlmEndpointLmi",
    "qwen-vllm": "LlmEndpointQwenVllm",
    "qwen-sglang": "LlmEndpointQwenSglang",
}
STACKS = ("LlmModelBucket", *ENDPOINT_STACKS.values())
MODEL_BUCKET = f"llm-models-{ACCOUNT}-{REGION}"
# Two deployments the seed profile does not have: a second model (open licence, no hub token) on
# the two OpenAI-compatible engines, each with its own image and limits.
OPEN_MODEL = "Qwen/Qwen3-14B"
NEW_DEPLOYMENTS = {
    f"variants.{name}.{key}": value
    for name, engine, framework, version in (("qwen-vllm", "vllm", "vllm", "0.30.0"), ("qwen-sglang", "sglang", "sglang", "0.5.20"))
    for key, value in (
        ("engine", engine),
        ("model.id", OPEN_MODEL),
        ("image.framework", framework),
        ("image.version", version),
        ("tensor_parallel_size", "4"),
        ("max_model_len", "8192"),
    )
}
# Config for the emulator: a GPU type moto's SageMaker accepts (it rejects ml.g5.*), and no
# alarms (moto's CloudFormation has no AWS::CloudWatch::Alarm, so rollback cannot watch them).
EMULATOR_CONTEXT = (
    {"account": ACCOUNT, "region": REGION, "pipeline.enabled": "false"}
    | NEW_DEPLOYMENTS
    | {
        f"variants.{variant}.{key}": value
        for variant in ENDPOINT_STACKS
        for key, value in (
            ("instance_type", "ml.g4dn.12xlarge"),
            ("alarms.enabled", "false"),
            ("deployment.rollback_on_alarms", "false"),
        )
    }
)
# moto lacks change-set outputs and UpdateTerminationProtection, and crashes on UsePreviousValue.
DEPLOY_FLAGS = ("--method=direct", "--no-previous-parameters", "--require-approval", "never")


@dataclass
class Lifecycle:
    durations: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    termination_protection: dict[str, bool] = field(default_factory=dict)
    endpoints: dict[str, dict] = field(default_factory=dict)  # variant -> endpoint, config, model
    roles: dict[str, dict] = field(default_factory=dict)  # variant -> role and its attached policies
    bucket: dict[str, object] = field(default_factory=dict)
    lmi_code: bytes = b""
    smoke: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    invocations: dict[str, list[dict]] = field(default_factory=dict)
    verification: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    before: dict[str, list[str]] = field(default_factory=dict)
    deployed: dict[str, list[str]] = field(default_factory=dict)
    after: dict[str, list[str]] = field(default_factory=dict)
    detached: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def cdk(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(CDK), *args, "--ci", "--no-notices"], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"cdk {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def account_contents(server: MotoServer) -> dict[str, list[str]]:
    """What exists in the emulated account, by kind."""
    cloudformation, sagemaker, iam = server.client("cloudformation"), server.client("sagemaker"), server.client("iam")
    return {
        "stacks": sorted(s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]),
        "buckets": sorted(b["Name"] for b in server.client("s3").list_buckets()["Buckets"]),
        "endpoints": sorted(e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]),
        "endpoint_configs": sorted(c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]),
        "models": sorted(m["ModelName"] for m in sagemaker.list_models()["Models"]),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
        "policies": sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]),
    }


@contextlib.contextmanager
def timed(record: Lifecycle, step: str):
    start = time.monotonic()
    yield
    record.durations[step] = time.monotonic() - start


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory, loopback_aws) -> Lifecycle:
    work = tmp_path_factory.mktemp("offline-deploy")
    server = MotoServer(work / "moto.log")
    record = Lifecycle()
    try:
        env = server.environment(work / "aws")
        context = [arg for key, value in EMULATOR_CONTEXT.items() for arg in ("-c", f"{key}={value}")]
        assembly = work / "cdk.out"
        started = time.monotonic()
        with timed(record, "bootstrap"):
            cdk(env, work, "bootstrap", f"aws://{ACCOUNT}/{REGION}")  # outside the project: no app synth
        record.before = account_contents(server)
        with timed(record, "deploy"):
            # The synth inside the deploy skips CloudFormation's built-in template validation (what
            # `cdk synth --no-validation` passes the app; ~5 s of this run): these emulator-shaped
            # templates are nobody's deployment, and every profile's are validated in test_checks.py.
            deploy_env = env | {"CDK_VALIDATION": "false"}
            cdk(deploy_env, ROOT, "deploy", *STACKS, *DEPLOY_FLAGS, "--output", str(assembly), *context)
        record.deployed = account_contents(server)
        _read_back(server, record)
        with timed(record, "smoke tests"):
            _smoke_test(env, loopback_aws, record)
        with timed(record, "destroy"):
            for stack in ENDPOINT_STACKS.values():
                record.detached += detach_managed_policies(server, stack)
            cdk(env, ROOT, "destroy", *ENDPOINT_STACKS.values(), "--exclusively", "--force", "--app", str(assembly))
            cdk(env, ROOT, "destroy", "LlmModelBucket", "--force", "--app", str(assembly))
        record.durations["total"] = time.monotonic() - started
        record.after = account_contents(server)
        record.unsupported = server.unsupported_resource_types()
    finally:
        server.stop()
    print(f"\noffline deploy: {', '.join(f'{k} {v:.1f} s' for k, v in record.durations.items())}")
    return record


def _read_back(server: MotoServer, record: Lifecycle) -> None:
    cloudformation, sagemaker, iam, s3 = (server.client(s) for s in ("cloudformation", "sagemaker", "iam", "s3"))
    for stack in cloudformation.describe_stacks()["Stacks"]:
        record.outputs[stack["StackName"]] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        record.termination_protection[stack["StackName"]] = stack.get("EnableTerminationProtection", False)
    for variant, stack in ENDPOINT_STACKS.items():
        endpoint = sagemaker.describe_endpoint(EndpointName=record.outputs[stack]["EndpointName"])
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        record.endpoints[variant] = {"endpoint": endpoint, "config": config, "model": model}
        role_name = model["ExecutionRoleArn"].rsplit("/", 1)[1]
        record.roles[variant] = {
            "role": iam.get_role(RoleName=role_name)["Role"],
            "attached": iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"],
        }
    bucket_resources = cloudformation.list_stack_resources(StackName="LlmModelBucket")["StackResourceSummaries"]
    record.bucket = {
        "physical_ids": {
            r["LogicalResourceId"]: r["PhysicalResourceId"] for r in bucket_resources if r["ResourceType"] == "AWS::S3::Bucket"
        },
        # moto's CloudFormation applies only BucketEncryption and Tags of AWS::S3::Bucket.
        "encryption": _absent_as_none(lambda: s3.get_bucket_encryption(Bucket=MODEL_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]),
    }
    code_url = record.endpoints["lmi"]["model"]["PrimaryContainer"]["ModelDataUrl"]
    bucket, key = code_url.removeprefix("s3://").split("/", 1)
    record.lmi_code = s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _absent_as_none(read):
    """A bucket setting, or None where moto did not apply it (its NoSuch... error)."""
    try:
        return read()
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"].startswith("NoSuch"):
            return None
        raise


def _smoke_test(env: dict[str, str], loopback_aws, record: Lifecycle) -> None:
    # Discovery (DescribeStacks, DescribeEndpoint/Config/Model) from moto; tokens from the loopback
    # runtime server, which writes genuine event-stream frames.
    answers = {
        "tgi": Stream(tgi_sse(), "text/event-stream"),
        "lmi": Stream(lmi_json_document(), "application/json"),
        "qwen-vllm": Stream(vllm_chat_sse(), "text/event-stream"),
        "qwen-sglang": Stream(sglang_chat_sse(), "text/event-stream"),
    }
    runtime_env = env | {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": loopback_aws.url}
    for variant, stack in ENDPOINT_STACKS.items():
        endpoint = loopback_aws.add_endpoint(Endpoint(record.outputs[stack]["EndpointName"], answers=[answers[variant]]))
        record.smoke[variant] = subprocess.run(
            [sys.executable, "-m", "streaming_client.cli.smoke_test", "--stack", stack, "--json", "--max-new-tokens", "32"],
            cwd=ROOT,
            env=runtime_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        record.invocations[variant] = endpoint.invocations
        # The post-deploy verification against what CloudFormation (moto) deployed.
        record.verification[variant] = subprocess.run(
            [sys.executable, "-m", "streaming_client.cli.verify_deployment", "--stack", stack, "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_deploy_creates_the_bucket_and_four_endpoint_stacks_with_their_outputs(lifecycle):
    assert lifecycle.before["stacks"] == ["CDKToolkit"]
    engines = {"tgi": "tgi", "lmi": "lmi", "qwen-vllm": "vllm", "qwen-sglang": "sglang"}
    for variant, stack in ENDPOINT_STACKS.items():
        outputs = lifecycle.outputs[stack]
        assert (outputs["ServingVariant"], outputs["ServingEngine"]) == (variant, engines[variant])
        assert outputs["Region"] == REGION
    # The outputs name the four endpoints the account now has (moto generates the names).
    assert sorted(lifecycle.outputs[stack]["EndpointName"] for stack in ENDPOINT_STACKS.values()) == lifecycle.deployed["endpoints"]
    assert lifecycle.deployed["stacks"] == sorted(["CDKToolkit", *STACKS])
    assert MODEL_BUCKET in lifecycle.outputs["LlmModelBucket"].values()  # what the staging script reads
    assert lifecycle.termination_protection["LlmModelBucket"] is True
    assert lifecycle.termination_protection["LlmEndpointTgi"] is False


@pytest.mark.parametrize(
    ("variant", "framework", "version", "variant_name"),
    [
        ("tgi", "huggingface-llm", "1.0.3", "AllTraffic"),
        ("lmi", "djl-deepspeed", "0.25.0", "variant1"),
        ("qwen-vllm", "vllm", "0.30.0", "AllTraffic"),
        ("qwen-sglang", "sglang", "0.5.20", "AllTraffic"),
    ],
)
def test_each_endpoint_is_in_service_with_the_recipe_container(lifecycle, variant, framework, version, variant_name):
    created = lifecycle.endpoints[variant]
    assert created["endpoint"]["EndpointStatus"] == "InService"
    (production,) = created["config"]["ProductionVariants"]
    assert production["VariantName"] == variant_name
    assert (production["InstanceType"], production["InitialInstanceCount"]) == ("ml.g4dn.12xlarge", 1)
    assert created["model"]["PrimaryContainer"]["Image"] == find_image(framework, version).regions[REGION]["uri"]
    assert created["model"]["ExecutionRoleArn"] == lifecycle.roles[variant]["role"]["Arn"]


def test_tgi_gets_the_recipe_environment(lifecycle):
    environment = lifecycle.endpoints["tgi"]["model"]["PrimaryContainer"]["Environment"]
    assert environment["HF_MODEL_ID"] == "meta-llama/Llama-2-13b-chat-hf"
    assert (environment["SM_NUM_GPUS"], environment["MAX_INPUT_LENGTH"], environment["MAX_TOTAL_TOKENS"]) == ("4", "2048", "4096")


@pytest.mark.parametrize(
    ("variant", "prefix", "model_flag", "tp_flag", "length_flag"),
    [
        ("qwen-vllm", "SM_VLLM_", "MODEL", "TENSOR_PARALLEL_SIZE", "MAX_MODEL_LEN"),
        ("qwen-sglang", "SM_SGLANG_", "MODEL_PATH", "TP_SIZE", "CONTEXT_LENGTH"),
    ],
)
def test_vllm_and_sglang_get_their_flags_as_environment_and_their_own_model(lifecycle, variant, prefix, model_flag, tp_flag, length_flag):
    container = lifecycle.endpoints[variant]["model"]["PrimaryContainer"]
    assert container["Environment"] == {
        f"{prefix}{model_flag}": OPEN_MODEL,
        f"{prefix}SERVED_MODEL_NAME": OPEN_MODEL,
        f"{prefix}{tp_flag}": "4",
        f"{prefix}{length_flag}": "8192",
    }
    assert "ModelDataUrl" not in container  # weights from the hub: no model data, no token (not gated)


def test_lmi_gets_the_packed_serving_properties_uploaded_by_the_cli_and_the_weights_uri(lifecycle):
    # The object cdk-assets uploaded is, byte for byte, the tarball the app packs.
    settings = load_config(EMULATOR_CONTEXT).variants["lmi"]
    assert lifecycle.lmi_code == serving_properties.pack(lmi.read_properties(settings))
    with tarfile.open(fileobj=io.BytesIO(lifecycle.lmi_code), mode="r:gz") as archive:
        assert [m.name for m in archive.getmembers()] == ["serving.properties"]
    environment = lifecycle.endpoints["lmi"]["model"]["PrimaryContainer"]["Environment"]
    assert environment["OPTION_MODEL_ID"] == f"s3://{MODEL_BUCKET}/models/meta-llama/Llama-2-13b-chat-hf/main/"


def test_execution_roles_trust_sagemaker_and_carry_one_customer_managed_policy(lifecycle):
    for variant in ENDPOINT_STACKS:
        role = lifecycle.roles[variant]
        (statement,) = role["role"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
        (policy,) = role["attached"]
        assert f":{ACCOUNT}:policy/" in policy["PolicyArn"]  # not an AWS-managed policy


def test_bucket_stack_creates_the_named_model_bucket_encrypted_and_its_log_bucket(lifecycle):
    names = sorted(lifecycle.bucket["physical_ids"].values())
    assert len(names) == 2 and MODEL_BUCKET in names
    assert lifecycle.bucket["encryption"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


@pytest.mark.parametrize("variant", ["tgi", "lmi"])
def test_smoke_test_finds_the_endpoint_from_the_stack_and_streams_the_answer(lifecycle, variant):
    result = lifecycle.smoke[variant]
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["text"] == TEXT
    assert document["variant"] == variant  # detected from the model's image, read from moto
    assert document["endpoint"] == lifecycle.outputs[ENDPOINT_STACKS[variant]]["EndpointName"]
    (call,) = lifecycle.invocations[variant]
    assert call["body"]["parameters"]["max_new_tokens"] == 32
    assert call["body"]["inputs"].startswith("<s>[INST]")


@pytest.mark.parametrize("variant", ["qwen-vllm", "qwen-sglang"])
def test_smoke_test_speaks_the_chat_api_to_the_engine_its_stack_names(lifecycle, variant):
    result = lifecycle.smoke[variant]
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["text"] == TEXT
    assert (document["variant"], document["engine"]) == (variant, variant.removeprefix("qwen-"))  # from the stack's outputs
    (call,) = lifecycle.invocations[variant]
    assert call["body"]["max_tokens"] == 32 and call["body"]["stream"] is True
    assert [m["role"] for m in call["body"]["messages"]] == ["system", "user"]  # the server applies the model's template


@pytest.mark.parametrize("variant", list(ENDPOINT_STACKS))
def test_verification_finds_the_endpoint_running_the_config_the_deploy_created(lifecycle, variant):
    result = lifecycle.verification[variant]
    assert result.returncode == 0, result.stderr
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["endpoint-config"]["ok"] and not checks["endpoint-config"]["unverified"]
    outputs = lifecycle.outputs[ENDPOINT_STACKS[variant]]
    assert outputs["EndpointConfigName"] == lifecycle.endpoints[variant]["endpoint"]["EndpointConfigName"]
    assert checks["capacity"]["ok"] and outputs["InstanceType"] in checks["capacity"]["message"]
    # The emulator deploy runs without alarms (moto has none): nothing to check, and it says so.
    assert checks["alarms"]["unverified"] and checks["topic"]["unverified"]


def test_destroy_leaves_only_the_retained_buckets(lifecycle):
    after, before = lifecycle.after, lifecycle.before
    assert after["stacks"] == ["CDKToolkit"]
    assert (after["endpoints"], after["endpoint_configs"], after["models"]) == ([], [], [])
    retained = set(after["buckets"]) - set(before["buckets"])
    assert retained == set(lifecycle.bucket["physical_ids"].values())  # the model bucket and its access-log bucket
    assert after["roles"] == before["roles"]  # the bootstrap roles only
    # moto gap: a stack delete never removes AWS::IAM::ManagedPolicy; these are the endpoint
    # stacks' execution policies (detached before the destroy), nothing else.
    leftovers = set(after["policies"]) - set(before["policies"])
    assert leftovers == set(lifecycle.detached)
    assert all(name.startswith(tuple(ENDPOINT_STACKS.values())) for name in leftovers)


def test_the_emulator_skips_only_the_known_resource_types(lifecycle):
    # What this test cannot check on moto (see tests/aws_emulator.py): bucket policies (TLS only,
    # log delivery) and the SNS topic policy are skipped; alarms are off for the deploy.
    assert set(lifecycle.unsupported) <= {"AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::CloudWatch::Alarm"}
    assert "AWS::S3::BucketPolicy" in lifecycle.unsupported
