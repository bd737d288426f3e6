"""The checked-in image table matches the installed sagemaker SDK; synth never imports the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from blueprint.config.profiles import profile_images
from blueprint.images.image_catalog import find_image, load_table
from tests.conftest import CDK_JSON_CONTEXT, ROOT
from tools.image_table_source import read_images, sdk_version


def test_table_holds_every_image_the_profiles_use():
    for framework, version in profile_images():
        assert find_image(framework, version) is not None, (framework, version)


def test_table_matches_the_installed_sdk():
    table = load_table()
    fresh = read_images((f, v) for f, versions in table["images"].items() for v in versions)
    assert table["images"] == fresh, (
        f"blueprint/images/image_table.json is stale for sagemaker-core {sdk_version()}: run llm-update-image-table"
    )


def test_table_records_the_sdk_version_it_came_from():
    assert load_table()["sagemaker_core_version"] == sdk_version()


def test_seed_images_resolve_as_the_recipe_says():
    tgi = find_image("huggingface-llm", "1.0.3")
    assert (
        tgi.regions["us-east-1"]["uri"]
        == "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.0.1-tgi1.0.3-gpu-py39-cu118-ubuntu20.04"
    )
    lmi = find_image("djl-deepspeed", "0.25.0")
    assert lmi.regions["us-east-1"]["uri"] == "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.25.0-deepspeed0.11.0-cu118"


def test_synth_path_does_not_import_the_sdk(tmp_path):
    # app.py as the CDK CLI runs it, with Python's import log: no sagemaker module may appear.
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps({**CDK_JSON_CONTEXT, "profile": "current"})}
    result = subprocess.run([sys.executable, "-X", "importtime", "app.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "aws_cdk" in imported  # the log is real
    assert [m for m in imported if m.split(".")[0] == "sagemaker"] == []
