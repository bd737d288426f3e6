"""docs/configuration-reference.md is what the settings classes render (regenerate: llm-settings-reference)."""

from __future__ import annotations

import dataclasses

from blueprint.config.settings import AppConfig, VariantSettings
from blueprint.engines.registry import ENGINES
from blueprint.reports.settings_reference import PAGE, render


def test_the_checked_in_reference_is_current():
    assert PAGE.read_text() == render(), "docs/configuration-reference.md is stale: run llm-settings-reference"


def test_every_setting_has_a_row_with_its_meaning():
    page = render()
    for field in dataclasses.fields(VariantSettings):
        if field.name not in ("autoscaling", "alarms", "deployment", "image", "model", "component", "network"):
            assert f"| `variants.<name>.{field.name}` |" in page
    for name, engine in ENGINES.items():  # each engine's own settings, in its own section
        section = page.split(f"## `variants.<name>` with `engine={name}`")[1].split("\n## ")[0]
        own = {f.name for f in dataclasses.fields(engine.SETTINGS)} - {f.name for f in dataclasses.fields(VariantSettings)}
        assert own and all(f"| `variants.<name>.{field}` |" in section for field in own), name
        assert "| `variants.<name>.weights_loading` |" in section  # each engine's own default
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) > 80
    assert [row for row in rows if row.endswith("|  |")] == []  # no setting without a description
    assert "| `variants.<name>.deployment.maximum_execution_timeout_in_seconds` | `int` | `7200` |" in page
    assert "| `variants.<name>.model.id` | `str` | `'meta-llama/Llama-2-13b-chat-hf'` |" in page
    assert "| `pipeline.prod.manual_approval` | `bool` | `True` |" in page
    assert "| `shared_endpoints.<name>.min_instance_count` | `int` | `1` |" in page
    assert "| `variants.<name>.component.min_copies` | `int` | `1` |" in page
    assert "| `variants.<name>.network.subnet_ids` | `list[str]` | `[]` |" in page
    assert "| `shared_endpoints.<name>.network.internet_route` | `bool` | `False` |" in page
    assert AppConfig().profile in page
