"""docs/configuration-reference.md is what the settings classes render (regenerate: llm-settings-reference)."""

from __future__ import annotations

import dataclasses

from blueprint.config.reference import PAGE, render
from blueprint.config.settings import AppConfig, TgiVariantSettings


def test_the_checked_in_reference_is_current():
    assert PAGE.read_text() == render(), "docs/configuration-reference.md is stale: run llm-settings-reference"


def test_every_setting_has_a_row_with_its_meaning():
    page = render()
    for field in dataclasses.fields(TgiVariantSettings):
        if not dataclasses.is_dataclass(field.type) and field.name not in ("autoscaling", "alarms", "deployment", "image"):
            assert f"| `variants.tgi.{field.name}` |" in page
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) > 80
    assert [row for row in rows if row.endswith("|  |")] == []  # no setting without a description
    assert "| `variants.lmi.deployment.maximum_execution_timeout_in_seconds` | `int` | `7200` |" in page
    assert "| `pipeline.prod.manual_approval` | `bool` | `True` |" in page
    assert AppConfig().profile in page
