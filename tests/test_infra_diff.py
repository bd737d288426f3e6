"""llm-infra-diff on a change that resizes the instance and adds an IAM permission."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Slow end to end (CLI subprocesses, servers on 127.0.0.1): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e

NEW_STATEMENT = """
        self.policy.add_statements(
            iam.PolicyStatement(sid="ReadEndpointTags", actions=["sagemaker:ListTags"], resources=[f"arn:{partition}:sagemaker:{region}:{account}:endpoint/llm-review-test"])
        )
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    clone = tmp_path_factory.mktemp("infra-diff") / "repo"
    subprocess.run(["git", "clone", "--quiet", "--local", str(ROOT), str(clone)], check=True)
    cdk_json = json.loads((clone / "cdk.json").read_text())
    cdk_json["context"] |= {"variants.tgi.instance_type": "ml.g5.48xlarge", "variants.tgi.num_gpus": 8}
    (clone / "cdk.json").write_text(json.dumps(cdk_json, indent=2))
    role = clone / "stacks" / "execution_role.py"
    source = role.read_text()
    anchor = '        acknowledge(\n            self.policy,\n            "AwsSolutions-IAM5[Resource::*]",'
    assert anchor in source
    role.write_text(source.replace(anchor, NEW_STATEMENT + anchor, 1))
    output = clone / "infra-report.md"
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli.infra_diff", "HEAD", "--output", str(output)],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result, output.read_text()


@pytest.fixture(scope="module")
def report(run):
    return run[1]


def test_progress_and_the_file_written_go_to_standard_error(run):
    result, _ = run
    lines = result.stderr.splitlines()
    assert lines[0] == "llm-infra-diff: synthesizing HEAD and the working tree side by side (10-30 s)..."
    assert sorted(line.split(" in ")[0] for line in lines[1:3]) == [
        "llm-infra-diff: synthesized HEAD",
        "llm-infra-diff: synthesized the working tree",
    ]
    assert lines[3:] == [f"llm-infra-diff: wrote {result.args[-1]}"] and result.stdout == ""


def test_report_shows_the_endpoint_config_replacement_and_what_it_means(report):
    assert "## LlmEndpointTgi" in report
    lines = report.splitlines()
    assert "| `LlmEndpoint/EndpointConfig` | AWS::SageMaker::EndpointConfig | **replaced** | ProductionVariants |" in lines
    assert "new endpoint config: the endpoint provisions a new fleet (blue/green)" in report


def test_report_starts_with_a_summary(report):
    summary = report.split("## Summary\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert summary == [
        "- Stacks changed: LlmEndpointLmi, LlmEndpointTgi (2 of 3)",
        "- Resources replaced: 2: `LlmEndpoint/EndpointConfig` (LlmEndpointTgi), `LlmEndpoint/Model` (LlmEndpointTgi)",
        "- Endpoint `LlmEndpointTgi` (LlmEndpointTgi): updated in place, **blue/green** onto a new fleet (no downtime, both fleets billed during the switch)",
        "- Price of all stacks: ~$14.18/hour -> ~$27.45/hour (+$13.27/hour); ~$10,351/month -> ~$20,038/month (+$9,687/month) (on-demand list prices)",
    ]


def test_report_shows_changed_values_by_construct_path(report):
    lines = report.splitlines()
    assert lines[lines.index("`LlmEndpoint/EndpointConfig` (AWS::SageMaker::EndpointConfig):") + 2] == (
        "- `ProductionVariants[0].InstanceType`: `ml.g5.12xlarge` -> `ml.g5.48xlarge`"
    )
    assert (
        lines[lines.index("`LlmEndpoint/Model` (AWS::SageMaker::Model):") + 2] == "- `PrimaryContainer.Environment.SM_NUM_GPUS`: `4` -> `8`"
    )


def test_report_shows_the_price_change(report):
    assert "- Price: ~$7.09/hour -> ~$20.36/hour (+$13.27/hour); ~$5,176/month -> ~$14,863/month (+$9,687/month)" in report


def test_report_shows_the_new_iam_statement_in_both_endpoint_stacks(report):
    row = (
        "| **added** | `ReadEndpointTags` | Allow |  | `sagemaker:ListTags` | "
        "`arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/llm-review-test` |  |"
    )
    assert report.splitlines().count(row) == 2
    assert report.count("IAM `LlmEndpoint/ExecutionRole/Policy` (AWS::IAM::ManagedPolicy):") == 2


def test_unchanged_stack_is_not_reported(report):
    assert "## LlmModelBucket" not in report


def test_lmi_stack_changes_only_its_policy(report):
    lmi = report.split("## LlmEndpointLmi", 1)[1].split("\n## ", 1)[0]
    assert "| `LlmEndpoint/ExecutionRole/Policy` | AWS::IAM::ManagedPolicy | modified | PolicyDocument |" in lmi
    assert "replaced" not in lmi and "Price" not in lmi and "Security" not in lmi


def test_unknown_base_revision_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli.infra_diff", "no-such-ref"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "'no-such-ref' is not a git revision here" in result.stderr


def test_with_the_pipeline_the_report_covers_each_stage_stack(tmp_path, pipeline_app):
    # What the pipeline deploys lives in nested assemblies: each stage's stacks are reviewed by name.
    from blueprint.review.review_report import Assembly, render
    from tests.conftest import build_pipeline_app

    # PIPELINE_CONTEXT runs two TGI instances: 2 x $7.09 -> 2 x $20.36 per hour.
    resized = {"variants.tgi.instance_type": "ml.g5.48xlarge", "variants.tgi.num_gpus": "8"}
    head = build_pipeline_app(tmp_path / "head", **resized).assembly
    report = render(Assembly.read(Path(pipeline_app.assembly.directory)), Assembly.read(Path(head.directory)), "main")
    for stack in ("LlmEndpointTgi", "Dev-LlmEndpointTgi", "Prod-LlmEndpointTgi"):
        section = report.split(f"## {stack}\n", 1)[1].split("\n## ", 1)[0]
        assert "**replaced**" in section and "Price: ~$14.18/hour -> ~$40.72/hour" in section, section
        assert "- `ProductionVariants[0].InstanceType`: `ml.g5.12xlarge` -> `ml.g5.48xlarge`" in section.splitlines(), section
    assert "## Prod-LlmEndpointLmi" not in report and "## LlmDeliveryPipeline" not in report
