"""The main job as users run it: the real CDK CLI (`npx cdk synth`) over app.py."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import NO_PIPELINE, ROOT

# Slow end to end (CLI subprocesses, servers on 127.0.0.1): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e

# Without jsii's silencing variable: cdk.json's app command sets it, as for a user's shell.
# Python's import log (PYTHONPROFILEIMPORTTIME, on stderr) shows what the synth path imports.
NPX_ENV = {k: v for k, v in os.environ.items() if k != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"} | {
    "AWS_EC2_METADATA_DISABLED": "true",
    "PYTHONPROFILEIMPORTTIME": "1",
}


def cdk_synth(tmp_path, *args: str, pipeline: bool = False) -> subprocess.CompletedProcess:
    """`npx cdk synth` on this checkout's cdk.json; its pipeline stays off unless `pipeline`.

    With the pipeline, as `cdk synth --no-validation`: CloudFormation's built-in validation of the
    same app's templates (in the same context) is the session's pipeline app's (tests/conftest.py),
    and it costs this synth half its time; the seed's synth here runs it as a user's does."""
    switch = ("--no-validation",) if pipeline else NO_PIPELINE
    return subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(tmp_path / "cdk.out"), *switch, *args],
        cwd=ROOT,
        env=NPX_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def seed_synth(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cli")
    return tmp_path, cdk_synth(tmp_path)


def test_synth_writes_the_bucket_stack_and_both_endpoint_stacks(seed_synth):
    tmp_path, result = seed_synth
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(p.name for p in (tmp_path / "cdk.out").glob("*.template.json"))
    assert written == ["LlmEndpointLmi.template.json", "LlmEndpointTgi.template.json", "LlmModelBucket.template.json"]


def test_synth_prints_the_summary_per_variant(seed_synth):
    _, result = seed_synth
    output = result.stdout + result.stderr
    assert "profile llama2-13b-seed" in output
    assert "[tgi]" in output and "[lmi]" in output
    assert "room for ~71,022 tokens" in output
    # On Node 20, jsii's 11-line end-of-life banner stays out of every synth (cdk.json silences it).
    assert "end-of-life" not in output and "!!!!" not in output


def imported_modules(result: subprocess.CompletedProcess) -> list[str]:
    """The modules app.py imported, from Python's import log on the synth's stderr."""
    return [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]


def test_synth_path_does_not_import_the_sdk(seed_synth):
    # The image table is read from JSON at synth; the slow sagemaker SDK is for the table's tools only.
    _, result = seed_synth
    imported = imported_modules(result)
    assert "aws_cdk" in imported  # the log is real
    assert [m for m in imported if m.split(".")[0] == "sagemaker"] == []


def test_bad_input_is_one_line_per_problem_and_no_traceback(tmp_path):
    result = cdk_synth(tmp_path, "-c", "variants.tgi.num_gpus=8", "-c", "variants.lmi.instance_type=ml.m5.xlarge")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("config error:")]
    assert lines == [
        "config error: variants.tgi.num_gpus = 8: SM_NUM_GPUS must be 1..4 (ml.g5.12xlarge has 4 GPUs); -c variants.tgi.num_gpus=none uses all of the instance's GPUs",
        lines[1],
    ]
    assert lines[1].startswith("config error: variants.lmi.instance_type = 'ml.m5.xlarge': has no GPU")
    assert "Traceback" not in result.stderr


def test_unknown_profile_stops_the_synth(tmp_path):
    result = cdk_synth(tmp_path, "-c", "profile=nope")
    assert result.returncode != 0
    assert "config error: profile = 'nope': unknown profile; allowed: llama2-13b-seed, current" in result.stderr
    assert not (tmp_path / "cdk.out" / "LlmModelBucket.template.json").exists()


def test_synth_also_writes_the_pipeline_and_its_stages_when_configured(tmp_path):
    from tests.conftest import PIPELINE_CONTEXT

    result = cdk_synth(tmp_path, *(arg for key, value in PIPELINE_CONTEXT.items() for arg in ("-c", f"{key}={value}")), pipeline=True)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "cdk.out"
    assert (out / "LlmDeliveryPipeline.template.json").exists()
    assert (out / "LlmModelBucket.template.json").exists()  # the workstation stacks stay
    for stage in ("Dev", "Prod"):
        manifest = json.loads((out / f"assembly-LlmDeliveryPipeline-{stage}" / "manifest.json").read_text())
        names = sorted(a["properties"]["stackName"] for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack")
        assert names == [
            f"{stage}-LlmEndpointLmi",
            f"{stage}-LlmEndpointQwenVllm",
            f"{stage}-LlmEndpointTgi",
            f"{stage}-LlmModelBucket",
            f"{stage}-LlmSharedEndpointPool",
        ]
    # The pipeline's synth path does not import the sagemaker SDK either.
    imported = imported_modules(result)
    assert "aws_cdk" in imported and "stacks.delivery_pipeline_stack" in imported
    assert [m for m in imported if m.split(".")[0] == "sagemaker"] == []
