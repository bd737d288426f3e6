"""serving.properties: parsing, overrides, and a byte-identical tarball and asset hash."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from blueprint.engines import serving_properties
from tests.conftest import ROOT, build_app

SEED_FILE = ROOT / "model_artifacts/lmi/llama2-13b-seed/serving.properties"


def test_parse_skips_comments_and_keeps_order():
    text = "# comment\n! also a comment\n\nengine=MPI\noption.a = 1\noption.url=s3://b/k=v\n"
    assert list(serving_properties.parse(text).items()) == [("engine", "MPI"), ("option.a", "1"), ("option.url", "s3://b/k=v")]


def test_parse_rejects_a_line_without_equals_naming_the_line():
    with pytest.raises(serving_properties.ServingPropertiesError, match=r"f:2: expected key=value, got 'engine MPI'"):
        serving_properties.parse("option.a=1\nengine MPI\n", "f")


def test_options_override_and_extend():
    merged = serving_properties.with_options({"engine": "MPI", "option.x": "1"}, {"x": "2", "y": "3"})
    assert merged == {"engine": "MPI", "option.x": "2", "option.y": "3"}


def test_pack_is_byte_identical_whatever_the_clock_and_umask(monkeypatch):
    properties = {"engine": "MPI", "option.tensor_parallel_degree": "4"}
    first = serving_properties.pack(properties)
    monkeypatch.setattr("time.time", lambda: 2_000_000_000.0)
    old_umask = os.umask(0o077)
    try:
        second = serving_properties.pack(properties)
    finally:
        os.umask(old_umask)
    assert first == second


def test_pack_holds_exactly_serving_properties_with_neutral_metadata():
    archive = serving_properties.pack({"engine": "Python"})
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mtime, member.uid, member.gid, member.uname, member.mode) == ("serving.properties", 0, 0, 0, "", 0o644)
        assert tar.extractfile(member).read() == b"engine=Python\n"
    assert archive[4:8] == b"\0\0\0\0"  # gzip header mtime


def test_seed_archive_fingerprint_is_pinned():
    # Same bytes for the same input with this zlib; the asset hash does not depend on them.
    properties = serving_properties.parse(SEED_FILE.read_text())
    digest = hashlib.sha256(serving_properties.pack(properties)).hexdigest()
    assert digest == PINNED_SEED_ARCHIVE_SHA256


def lmi_model_data_url(template: dict) -> dict:
    (model,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"]
    return model["Properties"]["PrimaryContainer"]["ModelDataUrl"]


@pytest.fixture(scope="module")
def default_lmi_template(tmp_path_factory) -> dict:
    """The LMI stack's template of the app with cdk.json's settings (both tests below read it)."""
    return build_app(tmp_path_factory.mktemp("default"), checks=False).template("lmi").to_json()


def test_asset_hash_is_the_content_hash_and_stable_across_synths(tmp_path, default_lmi_template):
    # The asset is named by the sha256 of the rendered file, not by gzip output (which can differ
    # between zlib builds): the same serving.properties never replaces the Model.
    def model_data_url(directory):
        template = build_app(directory, checks=False).template("lmi").to_json()
        return lmi_model_data_url(template)["Fn::Sub"]

    first = lmi_model_data_url(default_lmi_template)["Fn::Sub"]  # a synth of its own app, in its own directory
    assert model_data_url(tmp_path / "b") == first
    content = serving_properties.content_hash(serving_properties.parse(SEED_FILE.read_text()))
    # The CDK stores a custom hash hashed once more.
    assert first.endswith(f"/{hashlib.sha256(content.encode()).hexdigest()}.gz")


def test_an_option_override_changes_the_asset(tmp_path, default_lmi_template):
    def url(**context):
        template = build_app(tmp_path / str(len(context)), checks=False, **context).template("lmi").to_json()
        return lmi_model_data_url(template)

    assert lmi_model_data_url(default_lmi_template) != url(**{"variants.lmi.options.max_rolling_batch_size": "32"})


PINNED_SEED_ARCHIVE_SHA256 = "912cbbd402a3562684748f3d36ae0a0df0698957cab81372b382f46c5bd98ab4"
