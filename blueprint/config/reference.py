"""The settings reference (docs/configuration-reference.md), generated from `settings.py`.

Each setting's dotted key, type and default come from the dataclasses; its description is the
comment written above (or beside) the field in the source, so the page cannot drift from the code.
`tests/test_settings_reference.py` fails when the checked-in page is not what this renders;
`llm-settings-reference` rewrites it.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Any

from blueprint.config import settings as settings_module
from blueprint.config.settings import AppConfig

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration-reference.md"


def field_comments() -> dict[tuple[str, str], str]:
    """(class name, field name) -> the comment above or beside the field in settings.py."""
    source = inspect.getsource(settings_module)
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


def _sections(cls: type, prefix: str, out: list[tuple[str, type]]) -> None:
    out.append((prefix, cls))
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            _sections(kind, f"{prefix}.{field.name}" if prefix else field.name, out)


def render() -> str:
    comments = field_comments()
    sections: list[tuple[str, type]] = []
    _sections(AppConfig, "", sections)
    lines = [
        "# Settings reference",
        "",
        "Generated from `blueprint/config/settings.py` by `llm-settings-reference`; do not edit by hand.",
        "Set any of these in `cdk.json` context or with `-c key=value` (see [configuration.md](configuration.md)); a",
        "profile sets some of them (`blueprint/config/profiles.py`), and validation checks them all before synth.",
        "",
    ]
    for prefix, cls in sections:
        hints = typing.get_type_hints(cls)
        rows = [(field, hints[field.name]) for field in dataclasses.fields(cls) if not dataclasses.is_dataclass(hints[field.name])]
        doc = " ".join((cls.__doc__ or "").split())
        lines += [f"## `{prefix or '(top level)'}`", "", f"{doc} (`{cls.__name__}`)", ""]
        if not rows:
            continue
        lines += ["| setting | type | default | meaning |", "|---|---|---|---|"]
        for field, kind in rows:
            key = f"{prefix}.{field.name}" if prefix else field.name
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
