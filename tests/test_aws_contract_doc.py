"""docs/aws-contract.md names real tests, and every IAM action the templates grant has its row."""

from __future__ import annotations

import ast
import json
import re

from tests.conftest import ROOT

CONTRACT = (ROOT / "docs" / "aws-contract.md").read_text()


def defined_tests() -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text())
        found[path.name] = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return found


def test_every_test_the_contract_cites_exists():
    tests = defined_tests()
    cited = []
    current = None
    for line in CONTRACT.splitlines():
        for file, name in re.findall(r"`(?:(test_\w+\.py))?::(test_\w+)", line):
            if "(verify)" in line and not file:
                file = "test_verify_deployment.py"
            file = file or current
            current = file
            cited.append((file, name))
    assert len(cited) > 60
    missing = [f"{file}::{name}" for file, name in cited if file is None or name not in tests.get(file, set())]
    assert missing == []


def test_every_action_granted_in_the_templates_has_a_row(seed_app, pipeline_app):
    # The endpoint stacks' roles and key/topic policies; the pipeline's own grants are CDK's, reviewed per statement.
    templates = [seed_app.template(v).to_json() for v in ("tgi", "lmi")]
    templates += [json.loads(p.read_text()) for p in (ROOT / "tests" / "snapshots").glob("*/*.template.json")]
    stage = pipeline_app.pipeline.stages["dev"].composed.endpoint_stacks["tgi"]
    from aws_cdk.assertions import Template

    templates.append(Template.from_stack(stage).to_json())
    actions = set()
    for template in templates:
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            for document in (props.get("PolicyDocument"), props.get("KeyPolicy")):
                for statement in (document or {}).get("Statement", []):
                    value = statement.get("Action")
                    actions |= set(value if isinstance(value, list) else [value])
    actions -= {"kms:*", "s3:*", "sts:AssumeRole"}  # the key's root statement, the TLS deny, trust

    # Named whole (`logs:CreateLogGroup`) or, in a row that names its service's actions, by its name (`CreateLogStream`).
    def documented(action: str) -> bool:
        service, name = action.split(":")
        return f"`{action}`" in CONTRACT or any(f"`{service}:" in row and f"`{name}`" in row for row in CONTRACT.splitlines())

    undocumented = sorted(a for a in actions if not documented(a))
    assert undocumented == []
