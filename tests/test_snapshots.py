"""Snapshots of every template: a template change shows up as a reviewable diff in the PR.

After an intended change, refresh them with `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_snapshots.py`
and review the diff of tests/snapshots/ like code.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots"
STACKS = [
    ("seed", None),
    ("seed", "tgi"),
    ("seed", "lmi"),
    ("current", "vllm"),
    ("current", "sglang"),
    ("qwen3-packed", "@pool"),
    ("qwen3-packed", "qwen-14b"),
    ("qwen3-packed", "qwen-8b"),
    ("llama2-13b-current", "tgi"),
    ("llama2-13b-current", "lmi"),
    ("staged", "tgi"),
    ("staged", "lmi"),
]


@pytest.mark.parametrize("profile,variant", STACKS)
def test_template_matches_snapshot(profile, variant, seed_app, current_app, llama2_current_app, packed_app, staged_app):
    built = {
        "seed": seed_app,
        "current": current_app,
        "llama2-13b-current": llama2_current_app,
        "qwen3-packed": packed_app,
        "staged": staged_app,
    }[profile]
    template = built.template(variant).to_json()
    path = SNAPSHOTS / profile / f"{(variant or 'bucket').replace('@', 'shared-')}.template.json"
    rendered = json.dumps(template, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"no snapshot {path.relative_to(ROOT)}: run with UPDATE_SNAPSHOTS=1"
    assert rendered == path.read_text(), f"{path.relative_to(ROOT)} differs: review, then refresh with UPDATE_SNAPSHOTS=1"
