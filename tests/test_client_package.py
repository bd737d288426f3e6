"""The client builds as its own wheel: its modules and CLIs, its console scripts, boto3 as its only dependency.

The pipeline's smoke step installs it alone (`pip install ./client`), without the app.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT / "client")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = out.glob("llm_streaming_client-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_the_client_and_its_clis_only(wheel):
    modules = {n for n in wheel.namelist() if n.endswith(".py")}
    assert "streaming_client/cli/smoke_test.py" in modules and "streaming_client/cli/verify_deployment.py" in modules
    assert "streaming_client/deployment_checks.py" in modules
    assert {n.split("/")[0] for n in modules} == {"streaming_client"}  # no blueprint, stacks or tools


def test_wheel_declares_both_console_scripts_and_only_boto3(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    scripts = wheel.read(entry_points).decode()
    assert "llm-smoke-test = streaming_client.cli.smoke_test:main" in scripts
    assert "llm-verify-deployment = streaming_client.cli.verify_deployment:main" in scripts
    (metadata,) = [n for n in wheel.namelist() if n.endswith("METADATA")]
    requires = [line for line in wheel.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    assert requires == ["Requires-Dist: boto3<2,>=1.40"]
