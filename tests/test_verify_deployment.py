"""llm-verify-deployment end to end: the real botocore clients against moto's server.

Each test builds one deployment in moto with boto3 (model, endpoint configs, endpoint, alarms, an
encrypted topic) as the endpoint stack would, then runs the CLI against it. moto stores alarm
states but runs no alarm actions; `AlarmActions` (tests/aws_emulator.py) plays CloudWatch's part
for the drill by publishing the notification to the alarm's topic, which moto's SNS delivers to
the drill's SQS queue.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

import boto3
import pytest

from streaming_client.cli import verify_deployment
from streaming_client.deployment_checks import EXIT_CODES
from tests.aws_emulator import AlarmActions
from tests.conftest import ROOT, aws_test_environment, ctrl_c_reaches_it

# Slow end to end (CLI subprocesses, servers on 127.0.0.1): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e

ACCOUNT, REGION = "123456789012", "us-east-1"
INSTANCE_TYPE = "ml.g4dn.12xlarge"  # moto's list has no ml.g5
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}


def from_alarms() -> dict:
    return {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
    }


@pytest.fixture
def aws(moto_url, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_test_environment(moto_url).items():
        monkeypatch.setenv(name, value)
    # One client per service for the test (a client is made once and reused, as an application does).
    return functools.cache(lambda service: boto3.client(service, region_name=REGION))


@dataclass
class Deployment:
    """What an endpoint stack creates, in moto, with the outputs the CLI reads."""

    aws: object
    name: str = field(default_factory=lambda: f"LlmEndpointTgi-{uuid.uuid4().hex[:8]}")
    outputs: dict[str, str] = field(default_factory=dict)

    def create(
        self,
        *,
        running_config: str = "new",
        key_allows_cloudwatch: bool = True,
        topic_allows_cloudwatch: bool = True,
        alarm_actions: bool = True,
        aws_managed_key: bool = False,
    ) -> Deployment:
        sagemaker, cloudwatch, sns, kms = (self.aws(s) for s in ("sagemaker", "cloudwatch", "sns", "kms"))
        sagemaker.create_model(
            ModelName=f"{self.name}-model",
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/fake-execution-role",
            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:fake"},
        )
        for config in ("old", "new"):
            sagemaker.create_endpoint_config(
                EndpointConfigName=f"{self.name}-{config}",
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": f"{self.name}-model",
                        "InitialInstanceCount": 1,
                        "InstanceType": INSTANCE_TYPE,
                        "InitialVariantWeight": 1.0,
                    }
                ],
            )
        sagemaker.create_endpoint(EndpointName=self.name, EndpointConfigName=f"{self.name}-{running_config}")

        key_statements = [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]
        if key_allows_cloudwatch:
            key_statements.append(
                {
                    "Effect": "Allow",
                    "Principal": CLOUDWATCH,
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": from_alarms(),
                }
            )
        key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": key_statements}))["KeyMetadata"]
        key_id = "alias/aws/sns" if aws_managed_key else key["Arn"]
        topic_arn = sns.create_topic(Name=f"{self.name}-alarms", Attributes={"KmsMasterKeyId": key_id})["TopicArn"]
        topic_statements = [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
        if topic_allows_cloudwatch:
            topic_statements.append(
                {"Effect": "Allow", "Principal": CLOUDWATCH, "Action": "sns:Publish", "Resource": topic_arn, "Condition": from_alarms()}
            )
        sns.set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": topic_statements})
        )
        alarms = [f"{self.name}-Errors5xx", f"{self.name}-Errors4xx"]
        for alarm in alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                Namespace="AWS/SageMaker",
                MetricName="Invocation5XXErrors" if alarm.endswith("5xx") else "Invocation4XXErrors",
                Dimensions=[{"Name": "EndpointName", "Value": self.name}, {"Name": "VariantName", "Value": "AllTraffic"}],
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=3,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
                AlarmActions=[topic_arn] if alarm_actions else [],
            )
        self.outputs = {
            "EndpointName": self.name,
            "EndpointConfigName": f"{self.name}-new",
            "InstanceType": INSTANCE_TYPE,
            "MinInstanceCount": "1",
            "MaxInstanceCount": "1",
            "AlarmNames": ",".join(alarms),
            "AlarmTopicArn": topic_arn,
        }
        return self

    def flags(self, **changed: str) -> list[str]:
        outputs = self.outputs | changed
        return [
            "--endpoint-name",
            outputs["EndpointName"],
            "--endpoint-config-name",
            outputs["EndpointConfigName"],
            "--instance-type",
            outputs["InstanceType"],
            "--min-instances",
            outputs["MinInstanceCount"],
            "--max-instances",
            outputs["MaxInstanceCount"],
            "--alarm-names",
            outputs["AlarmNames"],
            "--topic-arn",
            outputs["AlarmTopicArn"],
        ]


def verify(capsys, *argv: str) -> tuple[int, dict, str]:
    code = verify_deployment.main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def failed(document: dict) -> dict[str, str]:
    return {c["check"]: c["message"] for c in document["checks"] if not c["ok"]}


def test_a_healthy_deployment_passes_every_check(aws, capsys):
    deployment = Deployment(aws).create()
    code, document, err = verify(capsys, *deployment.flags())
    assert code == 0, err
    assert [(c["check"], c["ok"], c["unverified"]) for c in document["checks"]] == [
        ("endpoint-config", True, False),
        ("capacity", True, False),
        ("alarms", True, False),
        ("alarm-state", True, False),
        ("topic", True, False),
    ]
    assert f"endpoint-config: ok: endpoint {deployment.name} runs {deployment.name}-new" in err


def test_expectations_come_from_the_stack_outputs(aws, capsys, loopback_aws, monkeypatch):
    # --stack reads the outputs through CloudFormation (the loopback server); the rest is moto.
    deployment = Deployment(aws).create()
    loopback_aws.add_stack(f"{deployment.name}-stack", deployment.outputs)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", loopback_aws.url)
    code, document, err = verify(capsys, "--stack", f"{deployment.name}-stack")
    assert code == 0, err
    assert len(document["checks"]) == 5


def test_a_silently_rolled_back_endpoint_fails_with_exit_10(aws, capsys):
    # CloudFormation reported success, but the endpoint still runs the previous config.
    deployment = Deployment(aws).create(running_config="old")
    code, document, err = verify(capsys, *deployment.flags())
    assert code == EXIT_CODES["endpoint-config"] == 10
    assert failed(document)["endpoint-config"].startswith(
        f"endpoint {deployment.name} runs {deployment.name}-old, not {deployment.name}-new that this deployment created"
    )
    assert "Traceback" not in err


def test_another_instance_type_or_count_fails_with_exit_11(aws, capsys):
    deployment = Deployment(aws).create()
    code, document, _ = verify(capsys, *deployment.flags(InstanceType="ml.g4dn.2xlarge", MinInstanceCount="2", MaxInstanceCount="4"))
    assert code == 11
    assert failed(document) == {
        "capacity": f"variant AllTraffic is configured for {INSTANCE_TYPE}, expected ml.g4dn.2xlarge; "
        "variant AllTraffic runs 1 instance(s), expected 2..4"
    }


def test_an_alarm_without_the_topic_action_fails_with_exit_12(aws, capsys):
    deployment = Deployment(aws).create(alarm_actions=False)
    code, document, _ = verify(capsys, *deployment.flags())
    assert code == 12
    assert failed(document)["alarms"].startswith(f"alarm {deployment.name}-Errors5xx does not notify {deployment.outputs['AlarmTopicArn']}")


def test_a_missing_alarm_fails_with_exit_12(aws, capsys):
    deployment = Deployment(aws).create()
    names = deployment.outputs["AlarmNames"] + f",{deployment.name}-Disk"
    code, document, _ = verify(capsys, *deployment.flags(AlarmNames=names))
    assert code == 12
    assert failed(document) == {"alarms": f"alarm {deployment.name}-Disk does not exist"}


def test_an_alarm_in_alarm_fails_with_exit_13(aws, capsys):
    deployment = Deployment(aws).create()
    aws("cloudwatch").set_alarm_state(AlarmName=f"{deployment.name}-Errors4xx", StateValue="ALARM", StateReason="test")
    code, document, _ = verify(capsys, *deployment.flags())
    assert code == 13
    assert failed(document) == {"alarm-state": f"in ALARM: {deployment.name}-Errors4xx"}


@pytest.mark.parametrize(
    "broken,message",
    [
        pytest.param({"topic_allows_cloudwatch": False}, "has no Allow of sns:Publish for CloudWatch", id="topic-policy"),
        pytest.param(
            {"key_allows_cloudwatch": False}, "does not let CloudWatch use it (kms:decrypt, kms:generatedatakey)", id="key-policy"
        ),
    ],
)
def test_a_topic_cloudwatch_cannot_deliver_to_fails_with_exit_14(aws, capsys, broken, message):
    deployment = Deployment(aws).create(**broken)
    code, document, _ = verify(capsys, *deployment.flags())
    assert code == 14
    assert message in failed(document)["topic"]


def test_a_topic_under_the_aws_managed_key_fails_with_exit_14(aws, capsys):
    deployment = Deployment(aws).create(aws_managed_key=True)
    code, document, _ = verify(capsys, *deployment.flags())
    assert code == 14
    assert "encrypted with the AWS managed key alias/aws/sns, which CloudWatch cannot use" in failed(document)["topic"]


def test_the_first_failed_check_decides_the_exit_code(aws, capsys):
    deployment = Deployment(aws).create(running_config="old", alarm_actions=False, topic_allows_cloudwatch=False)
    code, document, err = verify(capsys, *deployment.flags())
    assert code == 10
    assert set(failed(document)) == {"endpoint-config", "alarms", "topic"}
    assert err.count("FAILED") == 3


def test_an_unknown_endpoint_is_exit_3_in_one_line(aws, capsys):
    code, document, err = verify(capsys, "--endpoint-name", "no-such-endpoint")
    assert code == 3
    assert "no-such-endpoint" in document["error"] and "Traceback" not in err


def alarm_state(aws, name: str) -> str:
    return aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def queues(aws) -> list[str]:
    return [q for q in aws("sqs").list_queues().get("QueueUrls", []) if "llm-alarm-drill-" in q]


def subscriptions(aws, topic_arn: str) -> list[dict]:
    return aws("sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]


def test_drill_sees_the_notification_arrive_and_cleans_up(aws, capsys, moto_url):
    deployment = Deployment(aws).create()
    before = alarm_state(aws, f"{deployment.name}-Errors4xx")
    with AlarmActions(moto_url):
        code, document, err = verify(capsys, *deployment.flags(), "--drill-alarms", "--drill-alarm", f"{deployment.name}-Errors4xx")
    assert code == 0, err
    (drill,) = [c for c in document["checks"] if c["check"] == "drill"]
    assert drill["ok"] and drill["message"].startswith(
        f"{deployment.name}-Errors4xx in ALARM reached {deployment.outputs['AlarmTopicArn']}"
    )
    assert alarm_state(aws, f"{deployment.name}-Errors4xx") == before != "ALARM"  # restored to what it was before the drill
    assert queues(aws) == [] and subscriptions(aws, deployment.outputs["AlarmTopicArn"]) == []


def test_drill_without_delivery_fails_with_exit_15_and_still_cleans_up(aws, capsys):
    deployment = Deployment(aws).create()
    code, document, _ = verify(
        capsys, *deployment.flags(), "--drill-alarms", "--drill-alarm", f"{deployment.name}-Errors4xx", "--drill-timeout", "2"
    )
    assert code == 15
    assert failed(document) == {
        "drill": f"no notification of {deployment.name}-Errors4xx reached {deployment.outputs['AlarmTopicArn']} within 2 s"
    }
    assert queues(aws) == [] and subscriptions(aws, deployment.outputs["AlarmTopicArn"]) == []


def test_drill_interrupted_restores_the_alarm_and_removes_what_it_created(aws, moto_url, tmp_path):
    deployment = Deployment(aws).create()
    alarm = f"{deployment.name}-Errors4xx"
    before = alarm_state(aws, alarm)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws_test_environment(moto_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "streaming_client.cli.verify_deployment", *deployment.flags(), "--drill-alarms", "--drill-alarm", alarm],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_reaches_it,
    )
    deadline = time.monotonic() + 60
    while alarm_state(aws, alarm) != "ALARM":
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.1)
    assert len(queues(aws)) == 1  # the drill's queue exists while it waits
    process.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "error: interrupted" in err and "Traceback" not in err
    assert alarm_state(aws, alarm) == before != "ALARM"
    assert queues(aws) == [] and subscriptions(aws, deployment.outputs["AlarmTopicArn"]) == []


def test_drill_picks_an_alarm_that_does_not_roll_updates_back():
    from streaming_client.deployment_checks import Expected, drill_alarm_name

    description = {"LastDeploymentConfig": {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a-5xx"}, {"AlarmName": "a-latency"}]}}}
    expected = Expected("e", alarm_names=("a-5xx", "a-latency", "a-4xx", "a-disk"))
    assert drill_alarm_name(description, expected) == "a-4xx"
    assert drill_alarm_name(description, Expected("e", alarm_names=("a-5xx",))) is None
    # Without the endpoint's deployment config, the stack's RollbackAlarmNames output decides;
    # knowing neither, nothing is picked.
    from_outputs = Expected.from_outputs({"EndpointName": "e", "AlarmNames": "a-5xx,a-4xx", "RollbackAlarmNames": "a-5xx"})
    assert drill_alarm_name({}, from_outputs) == "a-4xx"
    assert drill_alarm_name({}, Expected("e", alarm_names=("a-5xx", "a-4xx"))) is None


def test_drill_is_skipped_when_a_check_failed(aws, capsys):
    deployment = Deployment(aws).create(topic_allows_cloudwatch=False)
    code, document, err = verify(capsys, *deployment.flags(), "--drill-alarms", "--drill-alarm", f"{deployment.name}-Errors4xx")
    assert code == 14
    assert "drill: skipped, a check above failed" in err
    assert "drill" not in {c["check"] for c in document["checks"]}
    assert queues(aws) == []


def test_a_drill_without_known_rollback_alarms_names_its_alarm(aws, capsys):
    deployment = Deployment(aws).create()  # moto's DescribeEndpoint carries no LastDeploymentConfig
    code, document, _ = verify(capsys, *deployment.flags(), "--drill-alarms")
    assert code == 2
    assert "name one with --drill-alarm" in document["error"]
