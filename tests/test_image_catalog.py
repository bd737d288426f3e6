"""The checked-in image table matches the installed sagemaker SDK (test_app_cli: synth never imports it)."""

from __future__ import annotations

from blueprint.config.profiles import profile_images
from blueprint.images.image_catalog import find_image, load_table
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
