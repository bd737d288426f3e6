"""Delivery pipeline (CDK Pipelines): source, tests and synth, self-mutation, then each stage.

Each stage deploys the bucket stack and the enabled endpoint stacks into its own account and
region (the same `compose()` as a workstation deploy), then streams one prompt from every endpoint
with `llm-smoke-test --json`; a bad answer is a non-zero exit and fails the pipeline. A stage
with `manual_approval` (prod by default) waits for a person first.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from blueprint.config.names import STAGE_IDS, smoke_test_role_name, smoke_test_runner_role_name
from blueprint.config.settings import AppConfig, StageSettings
from stacks.component_stack import LlmComponentStack
from stacks.composition import ComposedApp, compose
from stacks.pipeline_findings import acknowledge_pipeline_findings
from stacks.smoke_test_access import SmokeTestAccess, role_arn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The README's test command, then the synth of the same app (cdk-nag runs in both).
SYNTH_COMMANDS = ("bash scripts/test.sh -q", "npx cdk synth")
SMOKE_TEST_MAX_NEW_TOKENS = 64
# A component scaled to zero starts a copy (and maybe an instance) on the first request: minutes.
COMPONENT_WAIT_S = 1800
# Stack outputs the post-deploy verification compares with AWS: its flag, the variable's suffix.
VERIFY_OUTPUTS = {
    "EndpointConfigName": ("--endpoint-config-name", "ENDPOINT_CONFIG"),
    "InstanceType": ("--instance-type", "INSTANCE_TYPE"),
    "MinInstanceCount": ("--min-instances", "MIN_INSTANCES"),
    "MaxInstanceCount": ("--max-instances", "MAX_INSTANCES"),
    "AlarmNames": ("--alarm-names", "ALARMS"),
    "AlarmTopicArn": ("--topic-arn", "ALARM_TOPIC"),
}


def pinned_cdk_cli_version() -> str:
    """The CDK CLI version of package.json, so the pipeline's own steps run the CLI we test with."""
    return json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]


LEGACY_USE_CONNECTION = "codestar-connections:UseConnection"


def grant_connection_prefix(stack: cdk.Stack, connection_arn: str) -> list[iam.Policy]:
    """Give every role CDK granted `codestar-connections:UseConnection` the action in the prefix of
    the connection's own ARN as well.

    CDK grants only the old prefix; IAM requires the action's service prefix to match the
    resource's, and connections created since 2024 are `arn:aws:codeconnections:...`
    (docs/aws-contract.md, "Pipeline source connection"). Returns the policies it extended.
    """
    service = connection_arn.split(":")[2]
    if service == "codestar-connections":
        return []
    extended = []
    for policy in (c for c in stack.node.find_all() if isinstance(c, iam.Policy)):
        document = stack.resolve(policy.document)
        actions = [a for s in document.get("Statement", []) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        if LEGACY_USE_CONNECTION in actions:
            policy.add_statements(iam.PolicyStatement(actions=[f"{service}:UseConnection"], resources=[connection_arn]))
            extended.append(policy)
    return extended


class DeliveryStage(cdk.Stage):
    """One environment: the app's stacks, each endpoint stack with a role the pipeline tests through."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, smoke_test: SmokeTestAccess, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.composed: ComposedApp = compose(self, config, smoke_test=smoke_test)


class DeliveryPipelineStack(cdk.Stack):
    """The pipeline, in `config.pipeline`'s account and region, deploying its stages in order."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        settings = config.pipeline
        self.app_name = config.app_name
        source = pipelines.CodePipelineSource.connection(
            settings.repository,
            settings.branch,
            connection_arn=settings.connection_arn,
            # A git clone, not a zip: the tests include the review report's, which needs the history.
            code_build_clone_output=True,
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=pipelines.ShellStep("Synth", input=source, commands=list(SYNTH_COMMANDS), primary_output_directory="cdk.out"),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.MEDIUM
                ),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {"phases": {"install": {"runtime-versions": {"python": "3.11", "nodejs": "20"}}}}
                ),
            ),
            cli_version=pinned_cdk_cli_version(),
            cross_account_keys=True,  # stages in other accounts read the artifacts through a KMS key
            enable_key_rotation=True,
            self_mutation=True,
            publish_assets_in_parallel=False,
        )
        # Named so each stage's smoke-test roles can trust exactly this role (see SmokeTestAccess).
        self.smoke_test_runner = iam.Role(
            self,
            "SmokeTestRunner",
            role_name=smoke_test_runner_role_name(config.app_name),
            # Only CodeBuild acting for this account (confused-deputy guard).
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description="Runs llm-smoke-test after each stage through the stage's smoke-test roles",
        )
        self.stages: dict[str, DeliveryStage] = {}
        for name, stage_settings in settings.stages().items():
            stage = DeliveryStage(
                self,
                STAGE_IDS[name],
                config=config.for_stage(stage_settings),
                smoke_test=SmokeTestAccess(
                    stage=name, pipeline_account=settings.account, partition=self.partition, app_name=config.app_name
                ),
                env=cdk.Environment(account=stage_settings.account, region=stage_settings.region),
            )
            self.stages[name] = stage
            approval = pipelines.ManualApprovalStep(
                f"Approve{STAGE_IDS[name]}", comment=f"The earlier stages deployed and passed their smoke tests. Deploy to {name}?"
            )
            self.pipeline.add_stage(
                stage,
                pre=[approval] if stage_settings.manual_approval else [],
                post=[self._smoke_test(name, stage, stage_settings, source)],
            )
        self.pipeline.build_pipeline()
        grant_connection_prefix(self, settings.connection_arn)
        # The runner's policy holds CodeBuild's generated grants beside the assume-role statements.
        acknowledge_pipeline_findings(self, self.pipeline, extra_policies=[self.smoke_test_runner.node.find_child("DefaultPolicy")])

    def _smoke_test(
        self, name: str, stage: DeliveryStage, settings: StageSettings, source: pipelines.CodePipelineSource
    ) -> pipelines.CodeBuildStep:
        """Stream one prompt from each endpoint of the stage, as the stage's smoke-test role."""
        outputs: dict[str, cdk.CfnOutput] = {}
        # The client alone (boto3 and its console scripts), not the CDK app's requirements.
        commands = ["python3 -m venv .venv", ".venv/bin/pip install --quiet ./client"]
        for variant, stack in stage.composed.endpoint_stacks.items():
            key = variant.upper().replace("-", "_")  # an environment variable name
            stage_role = role_arn(self.partition, settings.account, smoke_test_role_name(self.app_name, name, variant))
            self.smoke_test_runner.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[stage_role]))
            outputs[f"{key}_ENDPOINT"] = stack.endpoint_name_output
            component = ""
            if isinstance(stack, LlmComponentStack):
                # A component of a shared endpoint: stream from it, waiting while it starts a copy.
                outputs[f"{key}_COMPONENT"] = stack.component_name_output
                component = f'--component "${key}_COMPONENT" --wait --wait-timeout {COMPONENT_WAIT_S} '
            expected = []
            for output_key, (flag, suffix) in VERIFY_OUTPUTS.items():
                if output_key in stack.verification_outputs:
                    variable = f"{key}_{suffix}"
                    outputs[variable] = stack.verification_outputs[output_key]
                    expected.append(f'{flag} "${variable}"')
            commands += [
                f"aws configure set profile.smoke-{variant}.role_arn {stage_role}",
                f"aws configure set profile.smoke-{variant}.credential_source EcsContainer",
                # A non-zero exit (bad answer, endpoint not InService, stream error) fails the action.
                f'.venv/bin/llm-smoke-test --endpoint-name "${key}_ENDPOINT" {component}--variant {variant} --engine {stack.engine} '
                f"--profile smoke-{variant} --region {settings.region} --max-new-tokens {SMOKE_TEST_MAX_NEW_TOKENS} --json",
            ]
            if not component:
                # Then what CloudFormation cannot tell: the endpoint runs this deployment's config
                # (not a silently rolled-back one), and its alarms can reach the topic.
                commands.append(
                    f'.venv/bin/llm-verify-deployment --endpoint-name "${key}_ENDPOINT" {" ".join(expected)} '
                    f"--profile smoke-{variant} --region {settings.region} --json"
                )
        return pipelines.CodeBuildStep(
            "SmokeTest", input=source, env_from_cfn_outputs=outputs, commands=commands, role=self.smoke_test_runner
        )
