"""The settings reference (docs/configuration-reference.md), generated from the settings classes.

Each setting's dotted key, type and default come from the dataclasses (`blueprint/config/settings.py`,
and each engine's own class in `blueprint/engines/`); its description is the comment written above
(or beside) the field in the source, so the page cannot drift from the code.
`tests/test_settings_reference.py` fails when the checked-in page is not what this renders;
`llm-settings-reference` rewrites it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import sys
import typing
from pathlib import Path
from typing import Any

from blueprint.config.settings import AppConfig, SharedEndpointSettings, VariantSettings
from blueprint.engines.registry import ENGINES

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration-reference.md"


def field_comments(cls: type) -> dict[tuple[str, str], str]:
    """(class name, field name) -> the comment above or beside each field, in the modules of `cls`'s classes."""
    found: dict[tuple[str, str], str] = {}
    for klass in cls.__mro__:
        if klass.__module__ in sys.modules and dataclasses.is_dataclass(klass):
            found.update(_module_comments(klass.__module__))
    return found


@functools.cache
def _module_comments(module: str) -> dict[tuple[str, str], str]:
    source = inspect.getsource(sys.modules[module])
    lines = source.splitlines()
    found: dict[tuple[str, str], str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            above: list[str] = []
            row = item.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#"):
                above.insert(0, lines[row].strip().lstrip("#").strip())
                row -= 1
            line = lines[item.lineno - 1]
            beside = line.split("#", 1)[1].strip() if "#" in line and '"' not in line.split("#", 1)[1] else ""
            found[(node.name, item.target.id)] = " ".join([*above, beside]).strip()
    return found


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return f"`{field.default!r}`" if field.default is not None else "unset"
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        return "`{}`" if value == {} else "see below" if dataclasses.is_dataclass(value) else f"`{value!r}`"
    return "required"


def _sections(cls: type, prefix: str, out: list[tuple[str, type, set[str]]], skip: frozenset[str] | set[str] = frozenset()) -> None:
    out.append((prefix, cls, set(skip)))
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind) and field.name not in skip:
            _sections(kind, f"{prefix}.{field.name}" if prefix else field.name, out)


def render() -> str:
    sections: list[tuple[str, type, set[str]]] = []
    _sections(AppConfig, "", sections, skip={"variants", "shared_endpoints"})
    _sections(SharedEndpointSettings, "shared_endpoints.<name>", sections)
    deployment: list[tuple[str, type, set[str]]] = []
    _sections(VariantSettings, "variants.<name>", deployment)
    sections += deployment
    common = {f.name: f for f in dataclasses.fields(VariantSettings)}
    for name, engine in ENGINES.items():
        # An engine's own settings, and the common ones whose default it changes.
        fields = dataclasses.fields(engine.SETTINGS)
        own = {f.name for f in fields if f.name not in common or f.default != common[f.name].default}
        sections.append((f"variants.<name>` with `engine={name}", engine.SETTINGS, {f.name for f in fields} - own))
    lines = [
        "# Settings reference",
        "",
        "Generated from `blueprint/config/settings.py` and the engines' settings classes (`blueprint/engines/`) by",
        "`llm-settings-reference`; do not edit by hand. Set any of these in `cdk.json` context or with `-c key=value`",
        "(see [configuration.md](configuration.md)); a profile sets some of them (`blueprint/config/profiles.py`), and",
        "validation checks them all before synth. A deployment `variants.<name>` has the common settings below and",
        "those of its engine.",
        "",
    ]
    for prefix, cls, skip in sections:
        comments = field_comments(cls)
        hints = typing.get_type_hints(cls)
        rows = [
            (field, hints[field.name])
            for field in dataclasses.fields(cls)
            if not dataclasses.is_dataclass(hints[field.name]) and field.name not in skip
        ]
        doc = " ".join((cls.__doc__ or "").split())
        lines += [f"## `{prefix or '(top level)'}`", "", f"{doc} (`{cls.__name__}`)", ""]
        if not rows:
            continue
        key_prefix = prefix.split("`")[0]
        lines += ["| setting | type | default | meaning |", "|---|---|---|---|"]
        for field, kind in rows:
            key = f"{key_prefix}.{field.name}" if key_prefix else field.name
            meaning = _comment(comments, cls, field.name).replace("|", "\\|")
            lines.append(f"| `{key}` | `{_type_name(kind)}` | {_default(field)} | {meaning} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _comment(comments: dict[tuple[str, str], str], cls: type, name: str) -> str:
    """The comment of `name` in the nearest class of `cls`'s MRO that gives one."""
    return next((comments[(k.__name__, name)] for k in cls.__mro__ if comments.get((k.__name__, name))), "")


def _type_name(kind: Any) -> str:
    return str(kind).replace("typing.", "") if not isinstance(kind, type) else kind.__name__


def write() -> Path:
    PAGE.write_text(render())
    return PAGE
