"""cdk-nag (AwsSolutions + HIPAA) and cfn-lint over every synthesized template, every profile."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cfnlint.api import ManualArgs, lint

from tests.conftest import build_app

PROFILE_CONTEXTS = {
    "seed-agnostic": {},
    "seed-us-east-1": {"account": "111122223333", "region": "us-east-1"},
    "current-agnostic": {"profile": "current"},
    "current-eu-west-1": {"profile": "current", "account": "111122223333", "region": "eu-west-1"},
    "staged-agnostic": {"profile": "llama2-13b-staged"},
    "seed-autoscaled-given-topic": {
        "variants.tgi.autoscaling.enabled": "true",
        "variants.lmi.autoscaling.enabled": "true",
        "variants.lmi.autoscaling.metric": "invocations",
        "variants.tgi.alarms.topic_arn": "arn:aws:sns:us-east-1:111122223333:ops-alerts",
    },
    "seed-p3-with-kms": {
        "variants.tgi.instance_type": "ml.p3.8xlarge",
        "variants.tgi.kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555",
        "variants.tgi.volume_size_in_gb": "200",
        "variants.lmi.enabled": "false",
    },
}


@pytest.fixture(scope="module", params=sorted(PROFILE_CONTEXTS))
def assembly(request, tmp_path_factory) -> cdk.cx_api.CloudAssembly:
    # app.synth() runs the nag plugins; a finding raises here.
    return build_app(tmp_path_factory.mktemp(request.param), **PROFILE_CONTEXTS[request.param]).synth()


def test_nag_packs_report_no_unacknowledged_findings(assembly):
    # Reaching here means synth passed the plugins (the tests below show a finding fails it).
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_cfn_lint_finds_nothing(assembly):
    templates = [Path(assembly.directory) / f"{stack.stack_name}.template.json" for stack in assembly.stacks]
    assert templates
    findings = [f"{path.name}: {match}" for path in templates for match in lint_template(json.loads(path.read_text()))]
    assert findings == []


def lint_template(template: dict) -> list:
    """cfn-lint errors and warnings for one template (informational style hints are not run)."""
    return lint(json.dumps(template), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))


def test_nag_fails_the_synth_on_an_unacknowledged_wildcard(tmp_path):
    # Proves the plugins run: the same app with one extra unscoped statement must not synthesize.
    built = build_app(tmp_path)
    built.composed.endpoint_stacks["tgi"].endpoint.execution_role.policy.add_statements(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::some-other-bucket/*"])
    )
    with pytest.raises(Exception, match="AwsSolutions-IAM5"):
        built.synth()


def test_nag_fails_a_non_nvme_endpoint_without_kms_key(tmp_path):
    built = build_app(tmp_path, **{"variants.tgi.instance_type": "ml.p3.8xlarge", "variants.lmi.enabled": "false"})
    with pytest.raises(Exception, match="SageMakerEndpointConfigurationKMSKeyConfigured"):
        built.synth()


def test_cfn_lint_catches_a_bad_timeout():
    # The linter is live: an out-of-range health-check timeout in a real template is reported.
    template = {
        "Resources": {
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {
                    "ProductionVariants": [
                        {
                            "VariantName": "v",
                            "ModelName": "m",
                            "InstanceType": "ml.g5.12xlarge",
                            "InitialInstanceCount": 1,
                            "ContainerStartupHealthCheckTimeoutInSeconds": 7200,
                        }
                    ]
                },
            }
        }
    }
    assert any("7200" in str(match) for match in lint_template(template))
