"""A role a delivery pipeline in another account assumes to smoke-test one endpoint.

SageMaker endpoints take no resource policies, so cross-account callers need a role in the
endpoint's account. This one may only describe and stream from its endpoint, and only the
pipeline's smoke-test runner role (matched by ARN, so recreating it keeps the trust) may assume it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from constructs import Construct

from blueprint.config.names import smoke_test_role_name, smoke_test_runner_role_name
from stacks.endpoint_monitoring import EndpointMonitoring


def role_arn(partition: str, account: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{name}"


@dataclass(frozen=True)
class SmokeTestAccess:
    """Which stage an endpoint stack belongs to, and the account its pipeline runs in."""

    stage: str
    pipeline_account: str
    partition: str = "aws"
    app_name: str = ""  # prefixes both roles' names (blueprint/config/names.py)

    @property
    def runner_role_arn(self) -> str:
        return role_arn(self.partition, self.pipeline_account, smoke_test_runner_role_name(self.app_name))


class SmokeTestRole(Construct):
    """Role `[<app name>-]llm-smoke-test-<stage>-<variant>`: stream from one endpoint, and read back what the
    post-deploy verification compares (its config, alarms, alarm topic and the topic's key)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        access: SmokeTestAccess,
        variant: str,
        endpoint_arn: str,
        endpoint_config_arn: str | None = None,
        component_arn: str | None = None,
        monitoring: EndpointMonitoring | None = None,
    ) -> None:
        """`component_arn`: the inference component the smoke test streams from and waits for."""
        super().__init__(scope, id)
        principal = iam.AccountPrincipal(access.pipeline_account).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": access.runner_role_arn}}
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=smoke_test_role_name(access.app_name, access.stage, variant),
            assumed_by=principal,
            description=f"Assumed by the delivery pipeline to smoke-test the {variant} endpoint",
        )
        statements = [
            # InvokeEndpointWithResponseStream is authorised by sagemaker:InvokeEndpoint (API reference).
            iam.PolicyStatement(
                sid="SmokeTestEndpoint",
                actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                resources=[endpoint_arn],
            ),
        ]
        if endpoint_config_arn is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="VerifyEndpointConfig", actions=["sagemaker:DescribeEndpointConfig"], resources=[endpoint_config_arn]
                )
            )
        if component_arn is not None:
            # The component's copies (it may be scaled to zero); invocations are authorised on the endpoint.
            statements.append(
                iam.PolicyStatement(sid="WaitForComponent", actions=["sagemaker:DescribeInferenceComponent"], resources=[component_arn])
            )
        if monitoring is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="VerifyAlarms", actions=["cloudwatch:DescribeAlarms"], resources=[a.alarm_arn for a in monitoring.alarms]
                )
            )
            statements.append(
                iam.PolicyStatement(sid="VerifyAlarmTopic", actions=["sns:GetTopicAttributes"], resources=[monitoring.topic.topic_arn])
            )
            if monitoring.topic_key is not None:
                statements.append(
                    iam.PolicyStatement(
                        sid="VerifyAlarmTopicKey", actions=["kms:DescribeKey", "kms:GetKeyPolicy"], resources=[monitoring.topic_key.key_arn]
                    )
                )
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self.role], statements=statements)
