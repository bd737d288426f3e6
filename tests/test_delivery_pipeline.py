"""The delivery pipeline: source, tests before synth, self-mutation, stages, approval, smoke tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from blueprint.config.errors import ConfigError
from blueprint.config.names import endpoint_stack_id
from blueprint.loader import load_config
from stacks.delivery_pipeline_stack import VERIFY_OUTPUTS
from tests.conftest import CONNECTION, DEV_ACCOUNT, PIPELINE_ACCOUNT, PIPELINE_CONTEXT, PROD_ACCOUNT, build_app

# The deployments of PIPELINE_CONTEXT (name -> engine): the seed's two and a second model on vLLM,
# the last as an inference component of the shared endpoint `pool`, scaling to zero.
DEPLOYMENTS = {"tgi": "tgi", "lmi": "lmi", "qwen-vllm": "vllm"}
COMPONENTS = {"qwen-vllm"}


@pytest.fixture(scope="module")
def built(pipeline_app):
    return pipeline_app


@pytest.fixture(scope="module")
def pipeline(built) -> Template:
    return Template.from_stack(built.pipeline)


def pipeline_stages(template: Template) -> list[dict]:
    (resource,) = template.find_resources("AWS::CodePipeline::Pipeline").values()
    return resource["Properties"]["Stages"]


def stage_actions(template: Template, name: str) -> list[dict]:
    (stage,) = [s for s in pipeline_stages(template) if s["Name"] == name]
    return stage["Actions"]


def build_commands(template: Template, project_ref: dict) -> list[str]:
    project = template.find_resources("AWS::CodeBuild::Project")[project_ref["Ref"]]
    return json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]


def test_stages_run_source_tests_self_mutation_assets_then_dev_then_prod(pipeline):
    assert [s["Name"] for s in pipeline_stages(pipeline)] == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Prod"]


def test_source_is_the_configured_repository_branch_and_connection(pipeline):
    (source,) = stage_actions(pipeline, "Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONNECTION,
        "FullRepositoryId": "acme/llm-endpoints",
        "BranchName": "release",
        # A git clone for the Build step (tests/test_infra_diff.py clones the checkout).
        "OutputArtifactFormat": "CODEBUILD_CLONE_REF",
    }


def connection_grants(template: Template) -> dict[str, list[str]]:
    """Policy logical id -> the UseConnection actions it allows on the connection."""
    found = {}
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            used = sorted(a for a in actions if a.endswith(":UseConnection"))
            if used:
                assert statement["Resource"] == CONNECTION
                found[logical_id] = used
    return found


def test_every_role_that_uses_the_connection_may_use_it_under_its_codeconnections_prefix(pipeline):
    # IAM: the action's service prefix must match the resource's; CDK grants only codestar-connections.
    grants = connection_grants(pipeline)
    assert len(grants) == 3  # the source action's role, the synth project's (git clone) and the smoke-test runner's
    assert all(actions == ["codeconnections:UseConnection", "codestar-connections:UseConnection"] for actions in grants.values())


def test_a_codestar_connections_arn_keeps_the_old_prefix_only(tmp_path):
    old = CONNECTION.replace(":codeconnections:", ":codestar-connections:")
    built = build_app(tmp_path, checks=False, **PIPELINE_CONTEXT | {"pipeline.connection_arn": old})
    found = {}
    for policy in Template.from_stack(built.pipeline).find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "UseConnection" in json.dumps(statement["Action"]):
                found[json.dumps(statement["Action"])] = statement["Resource"]
    assert found == {'"codestar-connections:UseConnection"': old}


def test_synth_runs_the_readme_test_command_before_synthesizing(pipeline):
    (synth,) = stage_actions(pipeline, "Build")
    assert build_commands(pipeline, synth["Configuration"]["ProjectName"]) == ["bash scripts/test.sh -q", "npx cdk synth"]
    # The same command as the README's test command (its "two commands"), quieter.
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (test_command,) = [
        line.split("#")[0].strip()
        for line in readme.splitlines()
        if line.rstrip().endswith("# the tests: set-up if needed, ruff lint + format check, pytest")
    ]
    assert test_command == "bash scripts/test.sh"


def test_self_mutation_deploys_the_pipeline_stack_with_the_pinned_cli(pipeline):
    (mutate,) = stage_actions(pipeline, "UpdatePipeline")
    project = pipeline.find_resources("AWS::CodeBuild::Project")[mutate["Configuration"]["ProjectName"]["Ref"]]
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    pinned = json.loads((Path(__file__).resolve().parent.parent / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert spec["phases"]["install"]["commands"] == [f"npm install -g aws-cdk@{pinned}"]
    assert any("deploy LlmDeliveryPipeline" in c for c in spec["phases"]["build"]["commands"])


@pytest.mark.parametrize(("stage", "account", "region"), [("Dev", DEV_ACCOUNT, "us-east-1"), ("Prod", PROD_ACCOUNT, "eu-west-1")])
def test_each_stage_deploys_the_bucket_then_every_endpoint_stack_into_its_account(pipeline, stage, account, region):
    deploys = [a for a in stage_actions(pipeline, stage) if a["ActionTypeId"]["Category"] == "Deploy"]
    stacks = {a["Configuration"]["StackName"] for a in deploys}
    assert stacks == {
        f"{stage}-LlmModelBucket",
        f"{stage}-LlmEndpointTgi",
        f"{stage}-LlmEndpointLmi",
        f"{stage}-LlmSharedEndpointPool",
        f"{stage}-LlmEndpointQwenVllm",
    }
    role = f":iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-{region}"
    assert all(role in json.dumps(a["Configuration"]["RoleArn"]) for a in deploys if "RoleArn" in a["Configuration"])
    # Each action runs as the stage account's bootstrap deploy role (the --trust of the README).
    deploy_role = f":iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{region}"
    assert all(deploy_role in json.dumps(a["RoleArn"]) for a in deploys)
    order = {a["Configuration"]["StackName"]: a["RunOrder"] for a in deploys if a["Name"].endswith(".Deploy")}
    assert order[f"{stage}-LlmModelBucket"] < order[f"{stage}-LlmEndpointTgi"]
    assert order[f"{stage}-LlmModelBucket"] < order[f"{stage}-LlmEndpointLmi"]
    assert order[f"{stage}-LlmModelBucket"] < order[f"{stage}-LlmEndpointQwenVllm"]
    assert order[f"{stage}-LlmSharedEndpointPool"] < order[f"{stage}-LlmEndpointQwenVllm"]  # the endpoint before its component


def test_prod_waits_for_a_manual_approval_before_any_deployment_and_dev_does_not(pipeline):
    prod = stage_actions(pipeline, "Prod")
    approvals = [a for a in prod if a["ActionTypeId"]["Category"] == "Approval"]
    assert [a["ActionTypeId"]["Provider"] for a in approvals] == ["Manual"]
    first_deploy = min(a["RunOrder"] for a in prod if a["ActionTypeId"]["Category"] == "Deploy")
    assert approvals[0]["RunOrder"] < first_deploy
    assert not [a for a in stage_actions(pipeline, "Dev") if a["ActionTypeId"]["Category"] == "Approval"]


@pytest.mark.parametrize(
    ("stage", "name", "account", "region"), [("Dev", "dev", DEV_ACCOUNT, "us-east-1"), ("Prod", "prod", PROD_ACCOUNT, "eu-west-1")]
)
def test_after_deploying_each_stage_smoke_tests_every_endpoint_through_its_role(pipeline, stage, name, account, region):
    actions = stage_actions(pipeline, stage)
    (smoke,) = [a for a in actions if a["Name"] == "SmokeTest"]
    assert smoke["RunOrder"] > max(a["RunOrder"] for a in actions if a["ActionTypeId"]["Category"] == "Deploy")
    # Endpoint names come from the stage's stack outputs, through the deploy actions' namespaces.
    variables = {v["name"]: v["value"] for v in json.loads(smoke["Configuration"]["EnvironmentVariables"])}
    namespaces = {a["Configuration"]["StackName"]: a.get("Namespace") for a in actions if a["Name"].endswith(".Deploy")}
    assert variables["TGI_ENDPOINT"] == f"#{{{namespaces[f'{stage}-LlmEndpointTgi']}.EndpointName}}"
    assert variables["LMI_ENDPOINT"] == f"#{{{namespaces[f'{stage}-LlmEndpointLmi']}.EndpointName}}"
    assert variables["QWEN_VLLM_ENDPOINT"] == f"#{{{namespaces[f'{stage}-LlmEndpointQwenVllm']}.EndpointName}}"
    commands = build_commands(pipeline, smoke["Configuration"]["ProjectName"])
    for variant, engine in DEPLOYMENTS.items():
        key = variant.upper().replace("-", "_")
        assert f"aws configure set profile.smoke-{variant}.role_arn arn:aws:iam::{account}:role/llm-smoke-test-{name}-{variant}" in commands
        run = [c for c in commands if c.startswith(".venv/bin/llm-smoke-test") and f"--variant {variant}" in c]
        assert len(run) == 1
        assert f'--endpoint-name "${key}_ENDPOINT"' in run[0] and f"--region {region}" in run[0]
        assert f"--profile smoke-{variant}" in run[0] and run[0].endswith("--json")
        assert f"--variant {variant} --engine {engine} " in run[0]  # the request format comes from the app, not a guess
        verifies = [c for c in commands if c.startswith(".venv/bin/llm-verify-deployment") and f"smoke-{variant}" in c]
        if variant in COMPONENTS:
            # Its component, from the stack's output; a copy may have to start first (scaled to zero).
            assert variables[f"{key}_COMPONENT"] == f"#{{{namespaces[f'{stage}-{endpoint_stack_id(variant)}']}.InferenceComponentName}}"
            assert f'--component "${key}_COMPONENT" --wait --wait-timeout 1800 ' in run[0]
            assert verifies == []  # the shared endpoint has none of our alarms to verify
            continue
        assert "--component" not in run[0]
        (verify,) = verifies
        assert commands.index(verify) == commands.index(run[0]) + 1
        for output, (flag, suffix) in VERIFY_OUTPUTS.items():
            assert variables[f"{key}_{suffix}"] == f"#{{{namespaces[f'{stage}-{endpoint_stack_id(variant)}']}.{output}}}"
            assert f'{flag} "${key}_{suffix}"' in verify
        assert f'--endpoint-name "${key}_ENDPOINT"' in verify and f"--region {region}" in verify and "--drill-alarms" not in verify


def test_the_runner_may_assume_exactly_the_stage_smoke_test_roles(pipeline):
    (runner,) = pipeline.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "llm-pipeline-smoke-test-runner"}}).keys()
    policies = pipeline.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": runner}]}}).values()
    assumed = [
        resource
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            str(action).startswith("sts:")
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        )
        for resource in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
    ]
    assert sorted(assumed) == sorted(
        f"arn:aws:iam::{account}:role/llm-smoke-test-{stage}-{variant}"
        for stage, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT))
        for variant in DEPLOYMENTS
    )


@pytest.mark.parametrize(
    ("name", "routing"),
    [
        ("dev", {"tgi": "ALL_AT_ONCE", "lmi": "ALL_AT_ONCE"}),
        ("prod", {"tgi": "CANARY", "lmi": "ALL_AT_ONCE"}),
    ],
)
def test_stage_stacks_are_the_app_stacks_in_the_stage_environment_with_its_traffic_shifting(built, name, routing):
    stage = built.pipeline.stages[name]
    account = {"dev": DEV_ACCOUNT, "prod": PROD_ACCOUNT}[name]
    for stack in (stage.composed.bucket_stack, *stage.composed.endpoint_stacks.values()):
        assert stack.account == account
        assert stack.stack_name == f"{name.capitalize()}-{stack.node.id}"
    for variant, stack in stage.composed.endpoint_stacks.items():
        if variant in COMPONENTS:
            continue  # no endpoint of its own: a component updates in place on its shared endpoint
        Template.from_stack(stack).has_resource_properties(
            "AWS::SageMaker::Endpoint",
            {
                "EndpointName": stack.stack_name,
                "DeploymentConfig": {
                    "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": Match.object_like({"Type": routing[variant]})}
                },
            },
        )


def test_stage_smoke_test_role_trusts_only_the_runner_and_may_only_call_its_endpoint(built):
    tgi = Template.from_stack(built.pipeline.stages["prod"].composed.endpoint_stacks["tgi"])
    (endpoint,) = tgi.find_resources("AWS::SageMaker::Endpoint").keys()
    roles = tgi.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "llm-smoke-test-prod-tgi"}})
    ((role_id, role),) = roles.items()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{PIPELINE_ACCOUNT}:root"}
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{PIPELINE_ACCOUNT}:role/llm-pipeline-smoke-test-runner"}}
    (policy,) = tgi.find_resources("AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": role_id}]}}).values()
    (config,) = tgi.find_resources("AWS::SageMaker::EndpointConfig")
    alarms = sorted(tgi.find_resources("AWS::CloudWatch::Alarm"))
    (topic,) = tgi.find_resources("AWS::SNS::Topic")
    (key,) = tgi.find_resources("AWS::KMS::Key")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    for statement in statements:
        if statement["Sid"] == "VerifyAlarms":
            statement["Resource"] = sorted(statement["Resource"], key=lambda r: r["Fn::GetAtt"][0])
    assert statements == [
        {
            # Streaming is authorised by sagemaker:InvokeEndpoint (API reference of InvokeEndpointWithResponseStream).
            "Sid": "SmokeTestEndpoint",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            "Resource": {"Ref": endpoint},
        },
        # What the post-deploy verification reads: this deployment's config, its alarms, topic and key.
        {"Sid": "VerifyEndpointConfig", "Effect": "Allow", "Action": "sagemaker:DescribeEndpointConfig", "Resource": {"Ref": config}},
        {
            "Sid": "VerifyAlarms",
            "Effect": "Allow",
            "Action": "cloudwatch:DescribeAlarms",
            "Resource": [{"Fn::GetAtt": [alarm, "Arn"]} for alarm in alarms],
        },
        {"Sid": "VerifyAlarmTopic", "Effect": "Allow", "Action": "sns:GetTopicAttributes", "Resource": {"Ref": topic}},
        {
            "Sid": "VerifyAlarmTopicKey",
            "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"],
            "Resource": {"Fn::GetAtt": [key, "Arn"]},
        },
    ]
    assert len(alarms) == 5


def test_workstation_stacks_have_no_smoke_test_role_and_stay_in_the_app(built):
    # The workstation stacks beside the pipeline and the support stack of its second region.
    assert sorted(s.stack_name for s in built.assembly.stacks) == [
        "LlmDeliveryPipeline",
        "LlmDeliveryPipeline-support-eu-west-1",
        "LlmEndpointLmi",
        "LlmEndpointQwenVllm",
        "LlmEndpointTgi",
        "LlmModelBucket",
        "LlmSharedEndpointPool",
    ]
    tgi = built.template("tgi")
    assert not tgi.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": Match.string_like_regexp("llm-smoke-test")}})


def test_every_finding_is_acknowledged_with_a_reason(built):
    report = json.loads((Path(built.assembly.directory) / "validation-report.json").read_text())
    assert report["pluginReports"] == []
    metadata = json.loads((Path(built.assembly.directory) / "LlmDeliveryPipeline.metadata.json").read_text())
    acknowledged = {
        (path, rule.removeprefix("Annotation::")): reason
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    }
    assert all(len(reason) > 40 for reason in acknowledged.values())
    # The self-mutation's assume-role grant on the bootstrap roles: reviewed, on its own policy only.
    bootstrap_roles = f"AwsSolutions-IAM5[Resource::arn:*:iam::{PIPELINE_ACCOUNT}:role/*]"
    assert [path for path, rule in acknowledged if rule == bootstrap_roles] == [
        "/LlmDeliveryPipeline/Pipeline/UpdatePipeline/SelfMutation/Role/DefaultPolicy/Resource"
    ]
    assert ("/LlmDeliveryPipeline/Pipeline/Pipeline/ArtifactsBucket", "AwsSolutions-S1") in acknowledged


# Wildcards added to a generated policy before its findings are reviewed: the review must tell each
# from CDK Pipelines' own grants. (role, statement, the finding it must raise): each finding id comes
# from its own statement only, so one synth carrying all of them reports each one or fails the test.
ADDED_WILDCARDS = [
    # The bootstrap-role grant without its tag condition: any role of the pipeline account.
    (
        "runner",
        iam.PolicyStatement(actions=["sts:AssumeRole"], resources=["arn:*:iam::111111111111:role/*"]),
        r"Resource::arn:\*:iam::111111111111:role/\*",
    ),
    # Reading every CodeBuild log group (the reviewed kind only writes its own projects' groups).
    (
        "runner",
        iam.PolicyStatement(actions=["logs:GetLogEvents"], resources=["arn:aws:logs:us-east-1:111111111111:log-group:/aws/codebuild/*"]),
        r"Resource::arn:aws:logs:us-east-1:111111111111:log-group:/aws/codebuild/\*",
    ),
    # The artifact buckets' S3 families on another bucket, in a policy whose generated statements use them.
    (
        "runner",
        iam.PolicyStatement(actions=["s3:GetObject*"], resources=["arn:aws:s3:::someone-elses-bucket/data"]),
        r"Action::s3:GetObject\*",
    ),
    (
        "pipeline",
        iam.PolicyStatement(actions=["s3:DeleteObject*"], resources=["arn:aws:s3:::someone-elses-bucket/*"]),
        r"Action::s3:DeleteObject\*",
    ),
    # KMS families on every key from a role that is not the pipeline's own.
    ("runner", iam.PolicyStatement(actions=["kms:GenerateDataKey*"], resources=["*"]), r"Action::kms:GenerateDataKey\*"),
    # A broader action on the artifact bucket than the reviewed families.
    ("pipeline", iam.PolicyStatement(actions=["s3:*"], resources=["arn:aws:s3:::x/*"]), r"Action::s3:\*"),
]
# The policy each role's added statement lands in, as the finding names it.
ADDED_WILDCARD_POLICIES = {
    "runner": "LlmDeliveryPipeline/SmokeTestRunner/DefaultPolicy/Resource",
    "pipeline": "LlmDeliveryPipeline/Pipeline/Pipeline/Role/DefaultPolicy/Resource",
}
# A wildcard nobody reviewed in a stage stack's policy (outside the pipeline stack's review).
STAGE_WILDCARD = iam.PolicyStatement(
    actions=["sagemaker:InvokeEndpoint"], resources=["arn:aws:sagemaker:eu-west-1:333333333333:endpoint/*"]
)
STAGE_WILDCARD_FINDING = r"AwsSolutions-IAM5\[Resource::arn:aws:sagemaker:eu-west-1:333333333333:endpoint/\*\]"


@pytest.fixture(scope="module")
def unreviewed_wildcards_synth_error(tmp_path_factory) -> str:
    """The synth error of one pipeline app carrying every wildcard above, those added to generated
    policies before the review and the stage stack's (a pipeline app's build and synth cost seconds)."""
    import stacks.delivery_pipeline_stack as module

    review = module.acknowledge_pipeline_findings

    def add_then_review(stack, pipeline, **kwargs):
        for role, statement, _ in ADDED_WILDCARDS:
            target = stack.smoke_test_runner if role == "runner" else pipeline.pipeline.role
            target.add_to_principal_policy(statement)
        review(stack, pipeline, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "acknowledge_pipeline_findings", add_then_review)
        built = build_app(tmp_path_factory.mktemp("unreviewed-wildcards"), hipaa=False, **PIPELINE_CONTEXT)
    built.pipeline.stages["prod"].composed.endpoint_stacks["lmi"].smoke_test_role.policy.add_statements(STAGE_WILDCARD)
    with pytest.raises(Exception) as error:
        built.synth()
    return str(error.value)


def reported_findings(message: str) -> set[tuple[str, str]]:
    """(construct path, finding id) of each finding in a failed synth's validation report."""
    return set(re.findall(r"^\s+(\S+) \S+\n\s+Acknowledge with '[^:]+::([^']+)'$", message, flags=re.MULTILINE))


@pytest.mark.parametrize(("role", "statement", "finding"), ADDED_WILDCARDS)
def test_a_wildcard_added_to_a_generated_policy_before_review_still_fails_the_synth(
    unreviewed_wildcards_synth_error, role, statement, finding
):
    # Added before the findings are reviewed: the review must tell it from CDK Pipelines' own grants.
    assert re.search(rf"AwsSolutions-IAM5\[{finding}\]", unreviewed_wildcards_synth_error)
    # Reported on the policy it was added to (so it is this statement's finding, not another's).
    assert any(
        path == ADDED_WILDCARD_POLICIES[role] and re.fullmatch(rf"AwsSolutions-IAM5\[{finding}\]", found)
        for path, found in reported_findings(unreviewed_wildcards_synth_error)
    )


def test_smoke_tests_run_as_the_runner_role_with_container_credentials(pipeline):
    (runner,) = pipeline.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "llm-pipeline-smoke-test-runner"}}).keys()
    for stage in ("Dev", "Prod"):
        (smoke,) = [a for a in stage_actions(pipeline, stage) if a["Name"] == "SmokeTest"]
        project = pipeline.find_resources("AWS::CodeBuild::Project")[smoke["Configuration"]["ProjectName"]["Ref"]]
        assert project["Properties"]["ServiceRole"] == {"Fn::GetAtt": [runner, "Arn"]}
        commands = build_commands(pipeline, smoke["Configuration"]["ProjectName"])
        for variant in DEPLOYMENTS:
            assert f"aws configure set profile.smoke-{variant}.credential_source EcsContainer" in commands
    (trust,) = pipeline.find_resources("AWS::IAM::Role")[runner]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": PIPELINE_ACCOUNT}}


def test_an_unreviewed_wildcard_in_a_stage_stack_fails_the_synth(unreviewed_wildcards_synth_error):
    assert re.search(STAGE_WILDCARD_FINDING, unreviewed_wildcards_synth_error)


def test_no_pipeline_unless_enabled(seed_app):
    assert seed_app.pipeline is None
    assert [s.node.id for s in seed_app.app.node.children if isinstance(s, cdk.Stack)] == [
        "LlmModelBucket",
        "LlmEndpointTgi",
        "LlmEndpointLmi",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pipeline.repository": "llm-endpoints"}, "pipeline.repository = 'llm-endpoints': the source repository as owner/name"),
        (
            {"pipeline.connection_arn": "arn:aws:iam::111111111111:role/x"},
            "pipeline.connection_arn = 'arn:aws:iam::111111111111:role/x': the ARN of an AWS CodeConnections connection",
        ),
        ({"pipeline.branch": "feature..x"}, "pipeline.branch = 'feature..x': a git branch name"),
        ({"pipeline.account": "1234"}, "pipeline.account = '1234': a 12-digit AWS account id"),
        ({"pipeline.prod.region": "mars-1"}, "pipeline.prod.region = 'mars-1': an AWS region name"),
        ({"pipeline.dev.traffic_routing": "rolling"}, "pipeline.dev.traffic_routing = 'rolling': one of all-at-once, canary, linear"),
        (
            {"pipeline.prod.account": DEV_ACCOUNT, "pipeline.prod.region": "us-east-1"},
            "pipeline.prod.account = '222222222222': 222222222222/us-east-1 is taken by stage dev",
        ),
        (
            {"pipeline.prod.region": "us-northwest-9"},
            "pipeline.prod.region = 'us-northwest-9': huggingface-llm 1.0.3 has no image in this region",
        ),
        (
            {"pipeline.staging.account": "444444444444"},
            "pipeline.staging = '444444444444': unknown setting; allowed here: enabled, repository, branch, connection_arn, account, region, dev, prod",
        ),
    ],
)
def test_bad_pipeline_settings_are_named_with_what_is_allowed(overrides, message):
    with pytest.raises(ConfigError) as error:
        load_config({**PIPELINE_CONTEXT, **overrides})
    assert message in str(error.value)


def test_missing_pipeline_settings_are_all_reported_at_once():
    with pytest.raises(ConfigError) as error:
        load_config({"pipeline.enabled": "true"})
    paths = [p.path for p in error.value.problems]
    assert paths == [
        "pipeline.repository",
        "pipeline.connection_arn",
        "pipeline.account",
        "pipeline.region",
        "pipeline.dev.account",
        "pipeline.dev.region",
        "pipeline.prod.account",
        "pipeline.prod.region",
    ]


def test_stage_defaults_ship_dev_at_once_and_prod_by_canary_where_the_fleet_allows_behind_approval():
    config = load_config(PIPELINE_CONTEXT)
    assert (config.pipeline.dev.traffic_routing, config.pipeline.dev.manual_approval) == ("all-at-once", False)
    assert (config.pipeline.prod.traffic_routing, config.pipeline.prod.manual_approval) == (None, True)
    prod = config.for_stage(config.pipeline.prod)
    assert (prod.account, prod.region, prod.pipeline.enabled) == (PROD_ACCOUNT, "eu-west-1", False)
    assert (prod.variants["tgi"].deployment.traffic_routing, prod.variants["lmi"].deployment.traffic_routing) == ("canary", "all-at-once")
    assert config.variants["tgi"].deployment.traffic_routing == "all-at-once"  # the workstation path is unchanged


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # An explicit canary for a one-instance variant: named as the stage's setting.
        (
            {"pipeline.prod.traffic_routing": "canary"},
            "pipeline.prod.traffic_routing = 'canary': needs 2 or more instances (instance_count is 1; the first step may be at most half the fleet); use all-at-once (in stage prod, 333333333333/eu-west-1)",
        ),
        # One key for every stage, but a key lives in one region: wrong for prod.
        (
            {
                "variants.tgi.instance_type": "ml.p3.8xlarge",
                "variants.tgi.volume_size_in_gb": "200",
                "variants.tgi.kms_key_arn": "arn:aws:kms:us-east-1:222222222222:key/11111111-2222-3333-4444-555555555555",
            },
            "variants.tgi.kms_key_arn = 'arn:aws:kms:us-east-1:222222222222:key/11111111-2222-3333-4444-555555555555': must be in region eu-west-1, where the stacks deploy (SageMaker uses a key of the endpoint's region) (in stage prod, 333333333333/eu-west-1)",
        ),
        (
            {"variants.lmi.alarms.topic_arn": "arn:aws:sns:us-east-1:222222222222:ops"},
            "variants.lmi.alarms.topic_arn = 'arn:aws:sns:us-east-1:222222222222:ops': must be in region eu-west-1",
        ),
        # The workstation stacks pinned to a stage's account and region would take its bucket name.
        (
            {"account": DEV_ACCOUNT, "region": "us-east-1"},
            "pipeline.dev.account = '222222222222': 222222222222/us-east-1 is taken by the workstation stacks (account, region)",
        ),
    ],
)
def test_the_app_is_validated_as_each_stage_deploys_it(overrides, message):
    with pytest.raises(ConfigError) as error:
        load_config({**PIPELINE_CONTEXT, **overrides})
    assert message in str(error.value)


def test_gitlab_subgroup_repositories_are_accepted():
    assert load_config({**PIPELINE_CONTEXT, "pipeline.repository": "acme/ml/llm-endpoints"}).pipeline.repository == "acme/ml/llm-endpoints"


def test_synth_summary_names_the_pipeline_and_its_stages():
    from blueprint.reports.synth_summary import render_summary

    assert render_summary(load_config(PIPELINE_CONTEXT)).splitlines()[-1] == (
        "[pipeline] acme/llm-endpoints@release in 111111111111/us-east-1 -> "
        "dev 222222222222/us-east-1 (all-at-once), prod 333333333333/eu-west-1 (canary from 2 instances, else all-at-once, after approval)"
    )
    assert "[pipeline]" not in render_summary(load_config({}))


# cfn-lint's remarks on what CDK Pipelines generates, not on anything this app writes: the
# pipeline's DependsOn on its role (also referenced by GetAtt), and the stage deploy actions'
# RoleArn built with Fn::Join (valid CloudFormation; the rule prefers Fn::Sub).
GENERATED_PIPELINE_REMARKS = {
    ("W3005", "'PipelineRoleB27FAA37' dependency already enforced by a 'GetAtt' at 'Resources/Pipeline9850B417/Properties/RoleArn'"),
    ("E3703", "Prefer using Fn::Sub over Fn::Join with an empty delimiter"),
}


def test_cfn_lint_finds_nothing_in_stage_and_support_templates_and_only_generated_remarks_in_the_pipeline(built):
    from tests.test_checks import lint_template

    directory = Path(built.assembly.directory)
    # The ten stage stacks and the pipeline's support stack in the prod region (its artifact replica).
    stage_templates = sorted(directory.glob("assembly-LlmDeliveryPipeline-*/*.template.json")) + sorted(
        directory.glob("cross-region-stack-*.template.json")
    )
    assert len(stage_templates) == 11
    findings = [f"{path.name}: {match}" for path in stage_templates for match in lint_template(json.loads(path.read_text()))]
    assert findings == []
    pipeline = lint_template(json.loads((directory / "LlmDeliveryPipeline.template.json").read_text()))
    remarks = {(match.rule.id, match.message) for match in pipeline}
    assert remarks == GENERATED_PIPELINE_REMARKS
    assert all("Configuration/RoleArn" in match.path_string for match in pipeline if match.rule.id == "E3703")
