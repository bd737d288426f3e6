"""Shared fixtures: the app built as app.py builds it, per profile, with Templates per stack."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The CDK is imported where an app is built, not here: importing aws_cdk starts jsii's Node process
# (2-3 s of CPU), which pytest-xdist's controller and the modules that build no app never need.
if TYPE_CHECKING:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from stacks.composition import ComposedApp
    from stacks.delivery_pipeline_stack import DeliveryPipelineStack

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parent.parent


# The apps built once per session (fixtures below), and the modules that use them: with parallel
# workers these modules run on one worker, so each app is built once (test_suite_layout.py checks
# the list against the fixtures each module uses).
SESSION_APPS = frozenset({"seed_app", "current_app", "llama2_current_app", "packed_app", "staged_app", "us_east_1_app", "pipeline_app"})
SESSION_APP_MODULES = frozenset(
    f"tests/test_{name}.py"
    for name in (
        "app_name",
        "aws_contract_doc",
        "checks",
        "delivery_pipeline",
        "endpoint_operations",
        "execution_role",
        "inference_components",
        "infra_diff",
        "llm_endpoint_stack",
        "model_bucket_stack",
        "pipeline_smoke_step",
        "safe_updates",
        "snapshots",
        "staged_weights_mode",
    )
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end modules first: with parallel workers the long ones start at once and the
    short ones fill in after."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """With parallel workers (scripts/test.sh: one per core), a worker takes a whole module (its
    module fixtures are built once), and one worker takes every module that uses the session's apps.

    (pytest-xdist's own `--dist loadgroup` cannot do this on pytest 9.2: it renames node ids
    through an attribute pytest no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndSessionApps(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "session-apps" if module in SESSION_APP_MODULES else module

    return ModulesAndSessionApps(config, log)


# An App built in a test ignores cdk.json: pass its context (feature flags, profile) explicitly.
# Without the pipeline settings: a checkout that enables its pipeline in cdk.json (and runs these
# tests in that pipeline's Build step) tests the same apps; pipeline tests opt in explicitly.
CDK_JSON_CONTEXT = {
    key: value
    for key, value in json.loads((ROOT / "cdk.json").read_text())["context"].items()
    if key != "pipeline" and not key.startswith("pipeline.")
}
NO_PIPELINE = ("-c", "pipeline.enabled=false")  # the same for tests that run the CLI on cdk.json


@dataclass
class BuiltApp:
    app: cdk.App
    composed: ComposedApp
    pipeline: DeliveryPipelineStack | None = None

    def template(self, variant: str | None = None) -> Template:
        """A deployment's stack's template (the bucket stack's without one; `@name`: shared endpoint `name`'s)."""
        from aws_cdk.assertions import Template

        if variant is None:
            return Template.from_stack(self.composed.bucket_stack)
        if variant.startswith("@"):
            return Template.from_stack(self.composed.shared_endpoint_stacks[variant[1:]])
        return Template.from_stack(self.composed.endpoint_stacks[variant])

    def synth(self) -> cdk.cx_api.CloudAssembly:
        return self.app.synth()


def build_app(tmp_path: Path, checks: bool = True, hipaa: bool = True, cfn_validation: bool = False, **context: object) -> BuiltApp:
    """The app of app.py with cdk.json context plus `context` overrides (dotted keys).

    `cfn_validation`: run aws-cdk-lib's built-in CloudFormation template validation at synth, as
    `cdk synth` does (a WASM engine: ~3 s to start in each process, then ~0.15 s a template, two
    fifths of the suite's CDK time when every app ran it). It runs where the templates are the
    subject: every profile's app (the session apps below, tests/test_checks.py's profiles, the
    pipeline) and every real `cdk synth`/`cdk deploy`; apps a test builds to look at one construct
    or one setting skip it, as `cdk synth --no-validation` would. cdk-nag runs either way.
    """
    import aws_cdk as cdk

    from blueprint.loader import load_config
    from stacks.composition import compose
    from stacks.nag import add_checks
    from stacks.optional_pipeline import add_pipeline

    app = cdk.App(context={**CDK_JSON_CONTEXT, **context}, outdir=str(tmp_path), builtin_cloud_formation_validation=cfn_validation)
    config = load_config(app.node.get_all_context())
    composed = compose(app, config)
    pipeline = add_pipeline(app, config)
    if checks:
        add_checks(app, hipaa=hipaa)
    return BuiltApp(app, composed, pipeline)


@pytest.fixture(scope="session", autouse=True)
def botocore_models_read_once():
    """Each boto3 session a CLI under test creates parses botocore's JSON models and endpoints
    again (0.1-0.3 s a session, a third of a client test module's time). Sessions created in this
    process share one real loader instead, as the sessions of one long-lived process could; the
    files, the parser and the clients are botocore's own, unchanged."""
    import botocore.loaders
    import botocore.session

    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared_loader)
        yield


@pytest.fixture(scope="session")
def seed_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    return build_app(tmp_path_factory.mktemp("seed"), cfn_validation=True)


@pytest.fixture(scope="session")
def current_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """The current profile: Qwen3-14B on vLLM and SGLang."""
    return build_app(tmp_path_factory.mktemp("current"), cfn_validation=True, profile="current")


@pytest.fixture(scope="session")
def llama2_current_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """The seed's model on current TGI and LMI images."""
    return build_app(tmp_path_factory.mktemp("llama2-current"), cfn_validation=True, profile="llama2-13b-current")


@pytest.fixture(scope="session")
def packed_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """Two models as inference components of one shared endpoint, scaling to zero."""
    return build_app(tmp_path_factory.mktemp("packed"), cfn_validation=True, profile="qwen3-packed")


@pytest.fixture(scope="session")
def staged_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    return build_app(tmp_path_factory.mktemp("staged"), cfn_validation=True, profile="llama2-13b-staged")


@pytest.fixture(scope="session")
def us_east_1_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    return build_app(tmp_path_factory.mktemp("us-east-1"), cfn_validation=True, account="111122223333", region="us-east-1")


PIPELINE_ACCOUNT, DEV_ACCOUNT, PROD_ACCOUNT = "111111111111", "222222222222", "333333333333"
CONNECTION = f"arn:aws:codeconnections:us-east-1:{PIPELINE_ACCOUNT}:connection/12345678-1234-1234-1234-123456789012"
PIPELINE_CONTEXT = {
    "pipeline.enabled": "true",
    "pipeline.repository": "acme/llm-endpoints",
    "pipeline.branch": "release",
    "pipeline.connection_arn": CONNECTION,
    "pipeline.account": PIPELINE_ACCOUNT,
    "pipeline.region": "us-east-1",
    "pipeline.dev.account": DEV_ACCOUNT,
    "pipeline.dev.region": "us-east-1",
    "pipeline.prod.account": PROD_ACCOUNT,
    "pipeline.prod.region": "eu-west-1",
    # Two TGI instances: prod's default gives it a canary; LMI (one instance) updates all at once.
    "variants.tgi.instance_count": "2",
    # A third deployment, of a second model on a third engine, as an inference component of a
    # shared endpoint that scales to zero: the pipeline tests every deployment, however hosted.
    "variants.qwen-vllm.engine": "vllm",
    "variants.qwen-vllm.model.id": "Qwen/Qwen3-14B",
    "variants.qwen-vllm.image.framework": "vllm",
    "variants.qwen-vllm.image.version": "0.30.0",
    "variants.qwen-vllm.max_model_len": "8192",
    "variants.qwen-vllm.hosting": "inference-component",
    "variants.qwen-vllm.component.endpoint": "pool",
    "variants.qwen-vllm.component.autoscaling": "true",
    "variants.qwen-vllm.component.min_copies": "0",
    "shared_endpoints.pool.min_instance_count": "0",
    "shared_endpoints.pool.inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
}


def build_pipeline_app(tmp_path: Path, cfn_validation: bool = False, **context: object) -> BuiltApp:
    """The app with the pipeline (PIPELINE_CONTEXT plus `context`), synthesized: AwsSolutions over
    everything (what `cdk synth` runs), HIPAA over the stages' stacks as over the workstation
    stacks; a finding raises."""
    from stacks.nag import add_checks

    built = build_app(tmp_path, checks=False, cfn_validation=cfn_validation, **{**PIPELINE_CONTEXT, **context})
    add_checks(built.app)
    for stage in built.pipeline.stages.values():
        add_checks(stage, hipaa=True)
    built.assembly = built.synth()
    return built


@pytest.fixture(scope="session")
def pipeline_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """The app with the pipeline, synthesized once for the session."""
    return build_pipeline_app(tmp_path_factory.mktemp("pipeline"), cfn_validation=True)


@pytest.fixture(scope="session")
def tgi(seed_app: BuiltApp) -> Template:
    return seed_app.template("tgi")


@pytest.fixture(scope="session")
def lmi(seed_app: BuiltApp) -> Template:
    return seed_app.template("lmi")


@pytest.fixture(scope="session")
def bucket(seed_app: BuiltApp) -> Template:
    return seed_app.template()


@pytest.fixture(scope="session")
def loopback_aws():
    """The loopback AWS server (tools/loopback/aws.py) for the whole session."""
    from tools.loopback.aws import LoopbackAws

    server = LoopbackAws()
    yield server
    server.close()


def ctrl_c_reaches_it() -> None:
    """`preexec_fn` for a child a test presses Ctrl-C in: SIGINT at its default action, as a shell at
    a terminal starts a command, even when this run was started in the background (which starts
    its children with SIGINT ignored, so the child would never see the key)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers the tests start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    """moto's server on 127.0.0.1, in this process (S3 for staging, STS for the pipeline's smoke step)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def aws_test_environment(url: str) -> dict[str, str]:
    """Environment that sends boto3 to the loopback server with obviously fake credentials."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def aws_env(loopback_aws, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_test_environment(loopback_aws.url).items():
        monkeypatch.setenv(name, value)
    return loopback_aws
