"""moto's server on 127.0.0.1 as a stand-in AWS account for the real CDK CLI, and what it lacks.

The CLI (AWS SDK for JavaScript v3), cdk-assets and boto3 all reach it through AWS_ENDPOINT_URL.
What moto 5.2 cannot do, and how each gap is bridged here (nothing in the app changes for it):

- It reads the template URL the CLI sends to CloudFormation as virtual-hosted unless the host
  contains "localhost": the CLI's AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION points there.
- Change sets: stacks created from one get no outputs, and UpdateTerminationProtection (which the
  CLI calls for change-set deploys) is not implemented: deploys use `--method=direct`.
- UsePreviousValue on the BootstrapVersion parameter crashes UpdateStack: `--no-previous-parameters`.
- No AWS::CloudWatch::Alarm, AWS::SNS::TopicPolicy or AWS::S3::BucketPolicy: alarms are skipped
  (so the dashboard's and rollback's references to them fail; the deploy turns alarms off) and
  bucket policies are never created.
- ml.g5 instance types are not in its list: the deploy uses ml.g4dn.12xlarge.
- Deleting a stack never detaches its AWS::IAM::ManagedPolicy from the role, so the role's delete
  fails: `detach_managed_policies` does it first, and the policy itself stays behind after.

What it accepts but does not check or apply, so no test here can prove it: of AWS::S3::Bucket only
encryption and tags (not versioning, public access block, logging, lifecycle, ownership); the
endpoint's EndpointName (moto generates one; the stack output follows it) and DeploymentConfig
(blue/green and rollback are not simulated); termination protection (stored, not enforced: the
bucket stack's destroy succeeds here and is refused on AWS); `{{resolve:secretsmanager:...}}`
references (passed through as text); IAM policy semantics (nothing is authorised or denied);
alarm actions (states are stored, no action runs: `AlarmActions` plays that part where a test
needs a notification delivered).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3

from tests.conftest import free_port

ACCOUNT, REGION = "123456789012", "us-east-1"


class MotoServer:
    """moto_server in its own process (its state is not shared with other tests' moto)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("w")
        server = Path(sys.executable).parent / "moto_server"
        self._process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"moto_server did not start; see {log_path}") from None
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, home: Path) -> dict[str, str]:
        """Environment for the CDK CLI and boto3: this server, fake credentials, no profile files."""
        home.mkdir(parents=True, exist_ok=True)
        for name in ("config", "credentials"):
            (home / name).write_text("")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
        return base | {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{self.port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "NODE_NO_WARNINGS": "1",
        }

    def client(self, service: str):
        return boto3.client(
            service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    def unsupported_resource_types(self) -> list[str]:
        """Resource types moto's CloudFormation skipped (it logs them and goes on)."""
        self._log.flush()
        marker = "No Moto CloudFormation support for "
        found = {line.split(marker, 1)[1].split()[0].rstrip(".,") for line in self.log_path.read_text().splitlines() if marker in line}
        return sorted(found)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()


def detach_managed_policies(server: MotoServer, stack: str) -> list[str]:
    """Detach the managed policies of `stack`'s roles, which moto's stack delete cannot do."""
    cloudformation, iam = server.client("cloudformation"), server.client("iam")
    detached = []
    for resource in cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]:
        if resource["ResourceType"] == "AWS::IAM::Role":
            role = resource["PhysicalResourceId"]
            for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
                detached.append(policy["PolicyName"])
    return detached


class AlarmActions:
    """CloudWatch's part that moto lacks: moto stores alarm states but runs no alarm actions.

    While open, a thread watches the alarms and, when one enters ALARM, publishes a notification
    (the alarm's name and new state, as CloudWatch's message carries them) to each SNS topic among
    its actions, as CloudWatch would; moto's SNS then delivers it to the topic's subscriptions.
    """

    def __init__(self, url: str, poll_s: float = 0.2) -> None:
        self._clients = {
            service: boto3.client(
                service, endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            for service in ("cloudwatch", "sns")
        }
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._seen: dict[str, object] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AlarmActions:
        for alarm in self._clients["cloudwatch"].describe_alarms()["MetricAlarms"]:
            self._seen[alarm["AlarmName"]] = alarm["StateUpdatedTimestamp"]  # only changes from now on
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            for alarm in self._clients["cloudwatch"].describe_alarms(StateValue="ALARM")["MetricAlarms"]:
                changed = alarm["StateUpdatedTimestamp"]
                if self._seen.get(alarm["AlarmName"]) == changed:
                    continue
                self._seen[alarm["AlarmName"]] = changed
                message = json.dumps({"AlarmName": alarm["AlarmName"], "NewStateValue": "ALARM", "NewStateReason": alarm["StateReason"]})
                for action in alarm.get("AlarmActions", []):
                    if action.startswith("arn:aws:sns:"):
                        self._clients["sns"].publish(TopicArn=action, Subject=f'ALARM: "{alarm["AlarmName"]}"', Message=message)
