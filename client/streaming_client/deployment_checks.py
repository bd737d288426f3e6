"""Post-deploy checks of one endpoint stack, read back from AWS (docs/aws-contract.md).

CloudFormation can report success while SageMaker rolled an endpoint update back, and alarms can
exist without ever reaching anyone. These checks compare what AWS runs with what the stack's
outputs say it deployed:

- `endpoint-config`: the endpoint runs the EndpointConfig this deployment created;
- `capacity`: that config has the expected instance type, and the variant's instance count is in
  the expected range;
- `alarms`: every alarm exists and notifies the topic; `alarm-state`: none is in ALARM;
- `topic`: CloudWatch can deliver to the topic (a customer managed key whose policy allows it, a
  topic policy that allows it);
- `drill` (opt-in, `alarm_drill`): set one alarm to ALARM and see its notification arrive.

Library code: returns `Finding`s and raises the client's typed errors for AWS failures; the CLI
(`llm-verify-deployment`) prints them and turns them into an exit code.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from streaming_client.aws_errors import translate
from streaming_client.endpoint_discovery import describe_endpoint

# Exit codes of failed checks, in the order the checks run (the first failure decides).
EXIT_CODES = {
    "endpoint-config": 10,
    "capacity": 11,
    "alarms": 12,
    "alarm-state": 13,
    "topic": 14,
    "drill": 15,
    "drill-cleanup": 16,
}
CLOUDWATCH = "cloudwatch.amazonaws.com"
_AWS_MANAGED_ALIAS = re.compile(r"(^|:)alias/aws/")


def names(joined: str | None) -> tuple[str, ...]:
    """Comma-separated names (as stack outputs and flags carry lists) as a tuple."""
    return tuple(n for n in (joined or "").split(",") if n)


@dataclass(frozen=True)
class Expected:
    """What the stack deployed, from its outputs (names as the `CfnOutput` keys say)."""

    endpoint_name: str
    endpoint_config_name: str | None = None
    instance_type: str | None = None
    min_instances: int | None = None
    max_instances: int | None = None
    alarm_names: tuple[str, ...] = ()
    topic_arn: str | None = None
    # The alarms that roll updates back (a drill must never set one).
    rollback_alarm_names: tuple[str, ...] = ()

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Expected:
        def number(key: str) -> int | None:
            return int(outputs[key]) if outputs.get(key) else None

        return cls(
            endpoint_name=outputs["EndpointName"],
            endpoint_config_name=outputs.get("EndpointConfigName") or None,
            instance_type=outputs.get("InstanceType") or None,
            min_instances=number("MinInstanceCount"),
            max_instances=number("MaxInstanceCount"),
            alarm_names=names(outputs.get("AlarmNames")),
            topic_arn=outputs.get("AlarmTopicArn") or None,
            rollback_alarm_names=names(outputs.get("RollbackAlarmNames")),
        )


@dataclass(frozen=True)
class Finding:
    """One check's outcome: `ok`, or a failure with one readable line. `unverified` means the
    check could not be made (no permission, nothing to compare) and does not fail the run."""

    check: str
    ok: bool
    message: str
    unverified: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else EXIT_CODES[self.check]


def _call(doing: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return function(**kwargs)
    except Exception as error:  # noqa: BLE001 - every AWS failure becomes one typed line
        raise translate(error, doing) from None


def _error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")


def check_endpoint(sagemaker: Any, expected: Expected) -> list[Finding]:
    """The endpoint runs the expected config, with the expected instance type and count."""
    description = describe_endpoint(sagemaker, expected.endpoint_name)
    findings = []
    running = description.get("EndpointConfigName")
    if expected.endpoint_config_name is None:
        findings.append(Finding("endpoint-config", True, "no EndpointConfigName output to compare with", unverified=True))
    elif running != expected.endpoint_config_name:
        reason = description.get("FailureReason")
        findings.append(
            Finding(
                "endpoint-config",
                False,
                f"endpoint {expected.endpoint_name} runs {running}, not {expected.endpoint_config_name} that this deployment "
                f"created: SageMaker rolled the update back, or a later update replaced it{f' ({reason})' if reason else ''}",
            )
        )
    else:
        findings.append(Finding("endpoint-config", True, f"endpoint {expected.endpoint_name} runs {running}"))

    # The config the endpoint runs, which is the expected one unless the check above failed.
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=running)
    except Exception as error:  # noqa: BLE001
        if _error_code(error) not in ("AccessDeniedException", "AccessDenied"):
            raise translate(error, f"describing endpoint config {running}") from None
        # The pipeline's role may read only the config its deployment created.
        return [*findings, Finding("capacity", True, f"endpoint config {running} not readable with these credentials", unverified=True)]
    variants = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
    problems = []
    for summary in description.get("ProductionVariants", []):
        name = summary["VariantName"]
        instance_type = variants.get(name, {}).get("InstanceType")
        if expected.instance_type and instance_type != expected.instance_type:
            problems.append(f"variant {name} is configured for {instance_type}, expected {expected.instance_type}")
        count = summary.get("CurrentInstanceCount")
        low, high = expected.min_instances, expected.max_instances
        if count is not None and ((low is not None and count < low) or (high is not None and count > high)):
            problems.append(f"variant {name} runs {count} instance(s), expected {low}..{high}")
    if problems:
        findings.append(Finding("capacity", False, "; ".join(problems)))
    else:
        counts = ", ".join(f"{s['VariantName']}: {s.get('CurrentInstanceCount')}" for s in description.get("ProductionVariants", []))
        findings.append(Finding("capacity", True, f"instance type {expected.instance_type or 'as configured'}, instances {counts}"))
    return findings


def check_alarms(cloudwatch: Any, expected: Expected) -> list[Finding]:
    """Each expected alarm exists, notifies the topic, and is not in ALARM."""
    if not expected.alarm_names:
        return [Finding("alarms", True, "the stack has no alarms", unverified=True)]
    found = _call("describing the alarms", cloudwatch.describe_alarms, AlarmNames=list(expected.alarm_names), AlarmTypes=["MetricAlarm"])
    alarms = {a["AlarmName"]: a for a in found.get("MetricAlarms", [])}
    problems = []
    for name in expected.alarm_names:
        alarm = alarms.get(name)
        if alarm is None:
            problems.append(f"alarm {name} does not exist")
        elif expected.topic_arn and expected.topic_arn not in alarm.get("AlarmActions", []):
            problems.append(
                f"alarm {name} does not notify {expected.topic_arn} (actions: {', '.join(alarm.get('AlarmActions', [])) or 'none'})"
            )
        elif not alarm.get("ActionsEnabled", True):
            problems.append(f"alarm {name} has its actions disabled")
    findings = [Finding("alarms", not problems, "; ".join(problems) or f"{len(alarms)} alarms notify the topic")]
    firing = sorted(n for n, a in alarms.items() if a.get("StateValue") == "ALARM")
    findings.append(Finding("alarm-state", not firing, f"in ALARM: {', '.join(firing)}" if firing else "no alarm is in ALARM"))
    return findings


def check_topic(sns: Any, kms: Any, topic_arn: str | None) -> list[Finding]:
    """CloudWatch can publish to the topic: its policy allows CloudWatch, and its key (if any) is
    customer managed with a key policy that lets CloudWatch use it."""
    if not topic_arn:
        return [Finding("topic", True, "the stack has no alarm topic", unverified=True)]
    attributes = _call(f"reading topic {topic_arn}", sns.get_topic_attributes, TopicArn=topic_arn)["Attributes"]
    problems = []
    policy = json.loads(attributes.get("Policy") or "{}")
    if not _allows(policy, CLOUDWATCH, "sns:publish", wildcard_conditions=_TOPIC_CONDITIONS):
        problems.append("the topic policy has no Allow of sns:Publish for CloudWatch")
    key_id = attributes.get("KmsMasterKeyId")
    unreadable = None
    if key_id:
        try:
            problems += _key_problems(kms, key_id)
        except Exception as error:  # noqa: BLE001
            if _error_code(error) not in ("AccessDeniedException", "AccessDenied"):
                raise translate(error, f"reading the key of topic {topic_arn}") from None
            unreadable = f"key {key_id} not readable with these credentials"
    if problems:
        return [Finding("topic", False, f"{topic_arn}: " + "; ".join(problems))]
    if unreadable:
        return [Finding("topic", True, f"topic policy allows CloudWatch; {unreadable}", unverified=True)]
    return [Finding("topic", True, "CloudWatch may publish to the topic" + (" and use its key" if key_id else ""))]


def _key_problems(kms: Any, key_id: str) -> list[str]:
    """Why CloudWatch cannot use the topic's key: an AWS managed key, or a key policy without it."""
    # Aliases beginning with aws/ are reserved for AWS managed keys, which may not exist yet.
    key = None if _AWS_MANAGED_ALIAS.search(key_id) else kms.describe_key(KeyId=key_id)["KeyMetadata"]
    if key is None or key.get("KeyManager") == "AWS":
        return [f"encrypted with the AWS managed key {key_id}, which CloudWatch cannot use; use a customer managed key"]
    key_policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    missing = [
        a for a in ("kms:decrypt", "kms:generatedatakey") if not _allows(key_policy, CLOUDWATCH, a, wildcard_conditions=_KEY_CONDITIONS)
    ]
    return [f"the key policy of {key['Arn']} does not let CloudWatch use it ({', '.join(missing)})"] if missing else []


def _allows(policy: dict, service: str, action: str, *, wildcard_conditions: frozenset[str]) -> bool:
    """An Allow of `action` (case-insensitive, trailing `*` wildcards) for `service`.

    A statement naming the service counts whatever its conditions (they are written for it). A
    statement for everyone (`*`) counts only when its conditions are among `wildcard_conditions`,
    the keys the service's requests carry: the AWS managed SNS key's `kms:CallerAccount` and
    `kms:ViaService`, for example, exclude CloudWatch.
    """
    for statement in _as_list(policy.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        principals = (
            {"*"}
            if principal == "*"
            else set(_as_list(principal.get("Service"))) | set(_as_list(principal.get("AWS")))
            if isinstance(principal, dict)
            else set()
        )
        keys = {key.lower() for test in (statement.get("Condition") or {}).values() for key in test}
        if service not in principals and not ("*" in principals and keys <= wildcard_conditions):
            continue
        for pattern in _as_list(statement.get("Action")):
            pattern = pattern.lower()
            if pattern == action or pattern == "*" or (pattern.endswith("*") and action.startswith(pattern[:-1])):
                return True
    return False


# Condition keys CloudWatch's requests carry (CloudWatch and SNS guides: confused deputy prevention);
# a topic's default policy limits publishing to its owner's account with AWS:SourceOwner.
_TOPIC_CONDITIONS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner"})
_KEY_CONDITIONS = frozenset({"aws:sourcearn", "aws:sourceaccount"})


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


@dataclass
class DrillResources:
    """What the drill created, so it can be removed whatever happens."""

    queue_url: str | None = None
    subscription_arn: str | None = None
    alarm_state: str | None = None
    left: list[str] = field(default_factory=list)


def alarm_drill(
    cloudwatch: Any,
    sns: Any,
    sqs: Any,
    *,
    alarm_name: str,
    topic_arn: str,
    timeout_s: float = 120,
    poll_s: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    created: DrillResources | None = None,
) -> list[Finding]:
    """Set `alarm_name` to ALARM and wait for its notification on a temporary SQS subscription.

    The queue and subscription are removed and the alarm's state restored in every case,
    including an interrupt; what could not be removed is a `drill-cleanup` failure naming it (and
    stays in `created.left`, for a caller that was interrupted).
    """
    created = created if created is not None else DrillResources()
    findings: list[Finding] = []
    try:
        alarm = _call(f"describing alarm {alarm_name}", cloudwatch.describe_alarms, AlarmNames=[alarm_name])["MetricAlarms"]
        if not alarm:
            return [Finding("drill", False, f"alarm {alarm_name} does not exist")]
        previous = alarm[0].get("StateValue", "INSUFFICIENT_DATA")
        if previous == "ALARM":
            return [Finding("drill", False, f"alarm {alarm_name} is already in ALARM: a drill needs a state change")]
        created.queue_url = _call("creating the drill queue", sqs.create_queue, QueueName=f"llm-alarm-drill-{uuid.uuid4().hex[:12]}")[
            "QueueUrl"
        ]
        queue_arn = _call("reading the drill queue", sqs.get_queue_attributes, QueueUrl=created.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        only_this_topic = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        _call(
            "allowing the topic to the drill queue",
            sqs.set_queue_attributes,
            QueueUrl=created.queue_url,
            Attributes={"Policy": json.dumps(only_this_topic)},
        )
        created.subscription_arn = _call(
            "subscribing the drill queue", sns.subscribe, TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        created.alarm_state = previous
        _call(
            f"setting {alarm_name} to ALARM",
            cloudwatch.set_alarm_state,
            AlarmName=alarm_name,
            StateValue="ALARM",
            StateReason="Delivery drill by llm-verify-deployment --drill-alarms",
        )
        start = clock()
        while True:
            messages = _call(
                "reading the drill queue",
                sqs.receive_message,
                QueueUrl=created.queue_url,
                MaxNumberOfMessages=10,
                # Long polling, never past the drill's time limit (SQS waits at most 20 s).
                WaitTimeSeconds=max(0, min(20, int(poll_s), int(timeout_s - (clock() - start)))),
            ).get("Messages", [])
            if any(alarm_name in m.get("Body", "") for m in messages):
                findings.append(Finding("drill", True, f"{alarm_name} in ALARM reached {topic_arn} in {clock() - start:.0f} s"))
                break
            if clock() - start + poll_s > timeout_s:
                findings.append(Finding("drill", False, f"no notification of {alarm_name} reached {topic_arn} within {timeout_s:.0f} s"))
                break
            sleep(poll_s)
    finally:
        findings += _clean_up(cloudwatch, sns, sqs, alarm_name, created)
    return findings


def _clean_up(cloudwatch: Any, sns: Any, sqs: Any, alarm_name: str, created: DrillResources) -> list[Finding]:
    steps: Iterable[tuple[str, bool, Callable[[], object]]] = (
        (
            f"alarm {alarm_name} back to {created.alarm_state}",
            created.alarm_state is not None,
            lambda: cloudwatch.set_alarm_state(
                AlarmName=alarm_name, StateValue=created.alarm_state, StateReason="Delivery drill finished; restored"
            ),
        ),
        (
            f"subscription {created.subscription_arn}",
            created.subscription_arn is not None,
            lambda: sns.unsubscribe(SubscriptionArn=created.subscription_arn),
        ),
        (f"queue {created.queue_url}", created.queue_url is not None, lambda: sqs.delete_queue(QueueUrl=created.queue_url)),
    )
    for what, needed, step in steps:
        if not needed:
            continue
        try:
            step()
        except Exception as error:  # noqa: BLE001 - keep cleaning; report what is left
            created.left.append(f"{what} ({type(error).__name__}: {error})")
    if created.left:
        return [Finding("drill-cleanup", False, "could not remove or restore: " + "; ".join(created.left))]
    return []


def drill_alarm_name(description: dict, expected: Expected) -> str | None:
    """An alarm that does not roll updates back (a drill must not stop a deployment in flight).

    The rollback alarms are the stack's `RollbackAlarmNames` and those of the endpoint's last
    deployment config; knowing neither, no alarm is picked (the caller names one).
    """
    deployed = description.get("LastDeploymentConfig", {}).get("AutoRollbackConfiguration", {}).get("Alarms")
    if deployed is None and not expected.rollback_alarm_names:
        return None
    rollback = set(expected.rollback_alarm_names) | {a["AlarmName"] for a in deployed or []}
    candidates = [n for n in expected.alarm_names if n not in rollback]
    return candidates[0] if candidates else None


def first_failure(findings: Iterable[Finding]) -> int:
    """The exit code of the first failed check in run order, 0 when all passed."""
    return next((f.exit_code for f in findings if not f.ok), 0)
