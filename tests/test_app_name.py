"""`app_name`: two copies of the app in one account and region share no fixed name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from blueprint.config.names import endpoint_stack_id, prefixed
from streaming_client.endpoint_discovery import stack_for_deployment
from tests.conftest import DEV_ACCOUNT, PIPELINE_ACCOUNT, build_pipeline_app
from tests.test_delivery_pipeline import build_commands, stage_actions


@pytest.fixture(scope="module")
def team_a(tmp_path_factory):
    return build_pipeline_app(tmp_path_factory.mktemp("team-a"), app_name="team-a")


def fixed_names(assembly_dir: Path) -> set[str]:
    """Every name a template or manifest fixes: stack names, role names and bucket names (with the
    account and region references of an environment-agnostic name left as they are)."""
    names: set[str] = set()
    for path in assembly_dir.rglob("manifest.json"):
        for artifact in json.loads(path.read_text())["artifacts"].values():
            if artifact["type"] == "aws:cloudformation:stack":
                names.add(artifact["properties"].get("stackName") or artifact["displayName"])
    for path in assembly_dir.rglob("*.template.json"):
        for resource in json.loads(path.read_text()).get("Resources", {}).values():
            for key in ("RoleName", "BucketName"):
                if key in resource.get("Properties", {}):
                    names.add(rendered(resource["Properties"][key]))
    return names


def rendered(value: object) -> str:
    """A name as text: `Fn::Join` of literals and `Ref`s becomes `team-a-llm-models-${AWS::AccountId}-...`."""
    if isinstance(value, str):
        return value
    assert isinstance(value, dict), value
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    separator, parts = value["Fn::Join"]
    return separator.join(rendered(part) for part in parts)


def test_every_fixed_name_starts_with_the_app_name(team_a):
    directory = Path(team_a.assembly.directory)
    names = fixed_names(directory)
    assert names, "the assembly names stacks, roles and buckets"
    # CDK Pipelines names the cross-region replication bucket from the pipeline's stack name.
    assert all(name.lower().startswith(("team-a-", "dev-team-a-", "prod-team-a-")) for name in names), sorted(names)
    assert {"team-a-LlmModelBucket", "team-a-LlmEndpointTgi", "team-a-LlmEndpointLmi", "team-a-LlmDeliveryPipeline"} <= names
    assert "team-a-llm-models-${AWS::AccountId}-${AWS::Region}" in names  # the workstation stack's bucket
    assert "team-a-llm-models-222222222222-us-east-1" in names  # the dev stage's
    assert "team-a-llm-pipeline-smoke-test-runner" in names
    assert "team-a-llm-smoke-test-prod-lmi" in names


def test_two_copies_share_no_fixed_name(team_a, pipeline_app):
    ours, theirs = fixed_names(Path(team_a.assembly.directory)), fixed_names(Path(pipeline_app.assembly.directory))
    assert "LlmEndpointTgi" in theirs and "llm-pipeline-smoke-test-runner" in theirs  # the default: today's names
    assert ours & theirs == set()


def test_the_pipeline_assumes_and_the_stages_trust_the_prefixed_roles(team_a):
    pipeline = Template.from_stack(team_a.pipeline)
    (smoke,) = [a for a in stage_actions(pipeline, "Dev") if a["Name"] == "SmokeTest"]
    commands = build_commands(pipeline, smoke["Configuration"]["ProjectName"])
    assert f"aws configure set profile.smoke-tgi.role_arn arn:aws:iam::{DEV_ACCOUNT}:role/team-a-llm-smoke-test-dev-tgi" in commands
    stage = Template.from_stack(team_a.pipeline.stages["dev"].composed.endpoint_stacks["tgi"])
    (role,) = stage.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "team-a-llm-smoke-test-dev-tgi"}}).values()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    runner = f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/team-a-llm-pipeline-smoke-test-runner"
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": runner}}


def test_the_endpoint_stacks_read_the_prefixed_bucket(team_a):
    stack = team_a.composed.endpoint_stacks["lmi"]
    policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy"))
    assert "team-a-llm-models-" in policy and '"llm-models-' not in policy


@pytest.mark.parametrize(
    ("deployment", "stack"),
    [("tgi", "LlmEndpointTgi"), ("lmi", "LlmEndpointLmi"), ("qwen-vllm", "LlmEndpointQwenVllm"), ("a1-b2", "LlmEndpointA1B2")],
)
def test_the_client_derives_the_same_stack_names(deployment, stack):
    assert endpoint_stack_id(deployment) == stack_for_deployment(deployment) == stack
    assert stack_for_deployment(deployment, "team-a") == prefixed("team-a", stack) == f"team-a-{stack}"
