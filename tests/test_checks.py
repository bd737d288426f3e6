"""cdk-nag (AwsSolutions + HIPAA), CloudFormation's built-in validation, cfn-lint and checkov over
every synthesized template, every profile."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from tests.conftest import ROOT, build_app
from tests.test_networking import PRIVATE

PROFILE_CONTEXTS = {
    "seed-agnostic": {},
    "seed-us-east-1": {"account": "111122223333", "region": "us-east-1"},
    "current-agnostic": {"profile": "current"},
    "current-eu-west-1": {"profile": "current", "account": "111122223333", "region": "eu-west-1"},
    "llama2-current-agnostic": {"profile": "llama2-13b-current"},
    "packed-agnostic": {"profile": "qwen3-packed"},
    "private-us-east-1": PRIVATE,
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


# Profiles the session already builds (tests/conftest.py), with the same context: synthesized once.
SESSION_APPS = {
    "seed-agnostic": "seed_app",
    "seed-us-east-1": "us_east_1_app",
    "current-agnostic": "current_app",
    "llama2-current-agnostic": "llama2_current_app",
    "packed-agnostic": "packed_app",
    "staged-agnostic": "staged_app",
}


@pytest.fixture(scope="module")
def profile_assemblies(request, tmp_path_factory) -> dict[str, cdk.cx_api.CloudAssembly]:
    # app.synth() runs the nag plugins; a finding raises here.
    def built(name: str, context: dict):
        if name in SESSION_APPS:
            return request.getfixturevalue(SESSION_APPS[name])
        return build_app(tmp_path_factory.mktemp(name), cfn_validation=True, **context)

    return {name: built(name, context).synth() for name, context in PROFILE_CONTEXTS.items()}


@pytest.fixture(params=sorted(PROFILE_CONTEXTS))
def assembly(request, profile_assemblies) -> cdk.cx_api.CloudAssembly:
    return profile_assemblies[request.param]


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
    """cfn-lint errors and warnings for one template (informational style hints are not run).

    What `cfnlint.api.lint` does, with one Runner for every template (as `cfn-lint a.json b.json`
    runs): loading the rules again for each template cost 0.7 s each.
    """
    return list(_lint_text(json.dumps(template, sort_keys=True)))


@functools.cache
def _lint_text(text: str) -> tuple:
    """Once per distinct template: most profiles share the bucket stack's, byte for byte."""
    from cfnlint.decode import decode_str  # here, not at import: every worker imports this module to collect it

    decoded, errors = decode_str(text)
    return tuple(errors or _linter().validate_template(decoded))


@functools.cache
def _linter():  # -> cfnlint.runner.Runner
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=["us-east-1", "eu-west-1"]))


def test_nag_fails_the_synth_on_an_unacknowledged_wildcard(tmp_path):
    # Proves the plugins run: the same app with one extra unscoped statement must not synthesize.
    built = build_app(tmp_path)
    built.composed.endpoint_stacks["tgi"].endpoint.execution_role.policy.add_statements(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::some-other-bucket/*"])
    )
    with pytest.raises(Exception, match="AwsSolutions-IAM5"):
        built.synth()


def test_cloudformation_validation_fails_the_synth_on_an_out_of_range_value(tmp_path):
    # The profiles' apps run aws-cdk-lib's built-in validation (as `cdk synth` does), and cdk.json's
    # @aws-cdk/core:validateAgainstDefaultRules makes its findings errors: a value past the
    # resource schema's maximum, set beneath our own settings' checks, must stop the synth.
    built = build_app(tmp_path, cfn_validation=True)
    config = built.composed.endpoint_stacks["tgi"].node.find_child("LlmEndpoint").node.find_child("EndpointConfig")
    config.add_property_override("ProductionVariants.0.ContainerStartupHealthCheckTimeoutInSeconds", 7200)
    with pytest.raises(Exception, match="ValidationFailed"):
        built.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    found = [
        (r["pluginName"], v["severity"], c["constructPath"], c["cloudFormationResource"]["propertyPaths"])
        for r in report["pluginReports"]
        for v in r["violations"]
        for c in v["violatingConstructs"]
    ]
    path = "Properties.ProductionVariants.0.ContainerStartupHealthCheckTimeoutInSeconds"
    assert found == [("CloudFormation Validate", "error", "LlmEndpointTgi/LlmEndpoint/EndpointConfig", [path])]


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


CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# What each reviewed checkov skip is for: (check, resource type) -> where it applies.
EXPECTED_SKIPS = {
    ("CKV_AWS_18", "AWS::S3::Bucket"),  # the access-log bucket; the pipeline's artifact buckets
    ("CKV_AWS_21", "AWS::S3::Bucket"),  # the pipeline's artifact buckets (per-run keys, never overwritten)
    ("CKV_AWS_370", "AWS::SageMaker::Model"),  # hub and s3-download modes: the container fetches its weights
    ("CKV_AWS_111", "AWS::IAM::Policy"),  # CDK Pipelines' reviewed Resource::* grants
}


def run_checkov(directory: Path) -> list[dict]:
    """checkov's CloudFormation checks over every template in `directory`, as JSON reports."""
    result = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "cloudformation", "--output", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def collect_templates(directory: Path, into: Path, prefix: str) -> None:
    """Every stack template of an assembly, nested stage assemblies included."""
    for template in directory.rglob("*.template.json"):
        (into / f"{prefix}-{template.parent.name}-{template.name}").write_text(template.read_text())


def test_checkov_finds_nothing_in_any_template_but_the_canary(profile_assemblies, pipeline_app, tmp_path):
    for name, built in profile_assemblies.items():
        collect_templates(Path(built.directory), tmp_path, name)
    collect_templates(Path(pipeline_app.assembly.directory), tmp_path, "pipeline")
    scanned = sorted(p.name for p in tmp_path.iterdir())
    assert len(scanned) >= 3 * len(PROFILE_CONTEXTS) + 6  # bucket and endpoints per profile; pipeline, support and stages
    # The canary: the seed TGI template without its checkov metadata must fail (checkov is live).
    canary = json.loads((Path(profile_assemblies["seed-agnostic"].directory) / "LlmEndpointTgi.template.json").read_text())
    for resource in canary["Resources"].values():
        resource.get("Metadata", {}).pop("checkov", None)
    (tmp_path / "canary.template.json").write_text(json.dumps(canary))

    reports = run_checkov(tmp_path)
    failed = sorted(
        (Path(c["file_abs_path"]).name, c["check_id"], c["resource"].split(".")[0]) for r in reports for c in r["results"]["failed_checks"]
    )
    assert failed == [("canary.template.json", "CKV_AWS_370", "AWS::SageMaker::Model")]
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    assert {(c["check_id"], c["resource"].split(".")[0]) for c in skipped} == EXPECTED_SKIPS
    reasons = [c["check_result"].get("suppress_comment", "") for c in skipped]
    assert all(len(reason) > 40 and reason != "No comment provided" for reason in reasons), reasons
    # Network isolation is off only where the container fetches its weights: never in the staged profile.
    assert not [c for c in skipped if c["check_id"] == "CKV_AWS_370" and "staged-agnostic" in c["file_abs_path"]]
