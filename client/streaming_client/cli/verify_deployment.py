"""Check a deployed endpoint stack against AWS: the config it runs, its capacity, alarms and topic.

    llm-verify-deployment --stack LlmEndpointTgi
    llm-verify-deployment --stack LlmEndpointTgi --drill-alarms
    llm-verify-deployment --endpoint-name NAME --endpoint-config-name CONFIG \
        --instance-type ml.g5.12xlarge --min-instances 1 --max-instances 1 --alarm-names A,B --topic-arn ARN

With --stack, what to expect comes from the stack's outputs; the pipeline passes the same values as
flags. Checks, in order: endpoint-config (the endpoint runs the EndpointConfig this deployment
created; SageMaker may have rolled the update back while CloudFormation reported success),
capacity (instance type and count), alarms (each exists and notifies the topic), alarm-state (none
in ALARM), topic (CloudWatch may publish to it and use its key). --drill-alarms (opt-in) sets one
alarm that does not roll updates back to ALARM, waits for its notification on a temporary SQS
subscription, then restores the alarm and removes the queue and subscription, also on Ctrl-C.

Standard error carries one line per check; --json prints one JSON object on standard output.
Exit codes: 0 all checks passed, 2 usage, 3 endpoint or stack not found, 4 endpoint not InService,
5 a call was refused (e.g. access denied), 6 throttled, 8 cannot reach AWS, 10 the endpoint runs
another EndpointConfig (rolled back), 11 instance type or count differs, 12 an alarm is missing or
does not notify the topic, 13 an alarm is in ALARM, 14 CloudWatch cannot deliver to the topic,
15 the drill's notification did not arrive, 16 the drill could not clean up (what is left is named),
130 interrupted (the drill cleans up first), 1 an unexpected error. The drill needs, besides the
checks' read access: cloudwatch:SetAlarmState on the alarm, sns:Subscribe and sns:Unsubscribe on
the topic, and sqs:CreateQueue, GetQueueAttributes, SetQueueAttributes, ReceiveMessage and
DeleteQueue on queues named llm-alarm-drill-*.
"""

from __future__ import annotations

import argparse
import json
import sys

from botocore.exceptions import BotoCoreError

from streaming_client import deployment_checks as checks
from streaming_client.aws_session import aws_session
from streaming_client.endpoint_discovery import describe_endpoint, require_in_service, stack_outputs
from streaming_client.errors import EndpointNotFound, SmokeTestError, UsageError


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="endpoint stack whose outputs say what to expect")
    where.add_argument("--endpoint-name", help="endpoint to check (expectations from the flags below)")
    parser.add_argument("--endpoint-config-name", help="the EndpointConfig the endpoint must run")
    parser.add_argument("--instance-type", help="expected instance type of every variant")
    parser.add_argument("--min-instances", type=int, help="fewest instances a variant may run")
    parser.add_argument("--max-instances", type=int, help="most instances a variant may run")
    parser.add_argument("--alarm-names", default="", help="comma-separated alarms that must exist and notify the topic")
    parser.add_argument("--topic-arn", help="the alarms' SNS topic")
    parser.add_argument("--rollback-alarm-names", default="", help="comma-separated alarms that roll updates back (never drilled)")
    parser.add_argument(
        "--drill-alarms", action="store_true", help="set one alarm to ALARM and confirm delivery (creates, then removes, an SQS queue)"
    )
    parser.add_argument("--drill-alarm", help="the alarm to drill (default: the first that does not roll updates back)")
    parser.add_argument("--drill-timeout", type=float, default=180, metavar="SECONDS", help="wait for the notification (default 180)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every check at the end")
    parser.add_argument("--profile", help="AWS profile (default: the standard AWS settings)")
    parser.add_argument("--region", help="AWS region (default: the standard AWS settings)")
    return parser.parse_args(argv)


def expectations(args: argparse.Namespace, session) -> checks.Expected:
    if args.stack:
        outputs = stack_outputs(session.client("cloudformation"), args.stack)
        if "EndpointName" not in outputs:
            raise EndpointNotFound(f"stack {args.stack} has no EndpointName output (is it an endpoint stack, deployed?)")
        return checks.Expected.from_outputs(outputs)
    return checks.Expected(
        endpoint_name=args.endpoint_name,
        endpoint_config_name=args.endpoint_config_name,
        instance_type=args.instance_type,
        min_instances=args.min_instances,
        max_instances=args.max_instances,
        alarm_names=checks.names(args.alarm_names),
        topic_arn=args.topic_arn,
        rollback_alarm_names=checks.names(args.rollback_alarm_names),
    )


def run(args: argparse.Namespace, findings: list[checks.Finding], drill: checks.DrillResources) -> None:
    session = aws_session(args.profile, args.region)
    if session.region_name is None:
        raise UsageError("no AWS region (set AWS_REGION or use --region)")
    expected = expectations(args, session)
    sagemaker = session.client("sagemaker")
    description = describe_endpoint(sagemaker, expected.endpoint_name)
    require_in_service(description)
    findings += checks.check_endpoint(sagemaker, expected)
    findings += checks.check_alarms(session.client("cloudwatch"), expected)
    findings += checks.check_topic(session.client("sns"), session.client("kms"), expected.topic_arn)
    if args.drill_alarms:
        if checks.first_failure(findings):
            status("drill: skipped, a check above failed (a delivery drill proves nothing until it passes)")
            return
        alarm = args.drill_alarm or checks.drill_alarm_name(description, expected)
        if alarm is None or expected.topic_arn is None:
            raise UsageError(
                "nothing to drill: no topic, no alarm outside the rollback alarms, or the rollback alarms are unknown (name one with --drill-alarm)"
            )
        status(f"drill: setting {alarm} to ALARM and waiting for its notification (up to {args.drill_timeout:.0f} s)")
        findings += checks.alarm_drill(
            session.client("cloudwatch"),
            session.client("sns"),
            session.client("sqs"),
            alarm_name=alarm,
            topic_arn=expected.topic_arn,
            timeout_s=args.drill_timeout,
            created=drill,
        )


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(args: argparse.Namespace, findings: list[checks.Finding], error: SmokeTestError | None, code: int) -> None:
    for finding in findings:
        mark = "ok" if finding.ok and not finding.unverified else "unverified" if finding.ok else "FAILED"
        status(f"{finding.check}: {mark}: {finding.message}")
    if error is not None:
        status(f"error: {error}")
    if args.json:
        document = {
            "checks": [{"check": f.check, "ok": f.ok, "unverified": f.unverified, "message": f.message} for f in findings],
            "exit_code": code,
        }
        if error is not None:
            document["error"] = str(error)
        print(json.dumps(document), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    findings: list[checks.Finding] = []
    drill = checks.DrillResources()
    error: SmokeTestError | None = None
    code = 0
    try:
        run(args, findings, drill)
    except SmokeTestError as failure:
        error, code = failure, failure.exit_code
    except KeyboardInterrupt:
        error, code = SmokeTestError("interrupted"), 130
    except (BotoCoreError, ValueError) as failure:  # local set-up: profile, region, endpoint URL
        error, code = UsageError(str(failure)), UsageError.exit_code
    except Exception as failure:  # noqa: BLE001 - one line, never a traceback
        error, code = SmokeTestError(f"unexpected {type(failure).__name__}: {failure}"), 1
    # The drill has cleaned up by now (its finally ran, also on an error or Ctrl-C): name what is left.
    if drill.left and not any(f.check == "drill-cleanup" for f in findings):
        findings.append(checks.Finding("drill-cleanup", False, "could not remove or restore: " + "; ".join(drill.left)))
    # The first failed check decides; an error after the checks only when none failed (Ctrl-C always).
    failed = checks.first_failure(findings)
    code = failed if failed and code != 130 else code
    report(args, findings, error, code)
    return code


if __name__ == "__main__":
    sys.exit(main())
