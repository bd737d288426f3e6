"""Template values as a reviewer reads them: intrinsics written out, secrets masked, long text shortened.

Pure functions over synthesized template dicts; the review report renders every changed property
of a modified resource with them, as dotted paths (`ProductionVariants[0].InstanceType`) and
`before -> after` values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

REDACTED = "<redacted>"
# Literal credentials: a Hugging Face token, AWS access keys, GitHub and Slack tokens, API keys.
TOKEN_PATTERN = re.compile(
    r"\bhf_[A-Za-z0-9]{10,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{20,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bsk-[A-Za-z0-9_-]{20,}"
)
# Keys whose literal value is a secret whatever it looks like (HUGGING_FACE_HUB_TOKEN, HF_TOKEN, ...;
# not MAX_TOTAL_TOKENS).
SECRET_KEY = re.compile(r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|API_KEY|ACCESS_KEY)$", re.IGNORECASE)
DYNAMIC_REFERENCE = re.compile(r"^\{\{resolve:[a-z-]+:[^}]*\}\}$")
MAX_VALUE_CHARS = 120
UNSET = "(unset)"


def mask(text: str, key: str = "") -> str:
    """`text` with credentials replaced; a dynamic reference (`{{resolve:...}}`) is a name and stays."""
    if DYNAMIC_REFERENCE.match(text):
        return text
    if key and SECRET_KEY.search(key) and text:
        return REDACTED
    return TOKEN_PATTERN.sub(REDACTED, text)


def is_intrinsic(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))


def render(value: object, key: str = "") -> str:
    """One value as text: `Ref(X)`, `X.Arn`, a `Fn::Join` as its joined text with `${X}` placeholders."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return mask(value, key)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(v, key) for v in value) + "]"
    if isinstance(value, dict):
        if is_intrinsic(value):
            return _render_intrinsic(next(iter(value)), next(iter(value.values())), key)
        return "{" + ", ".join(f"{k}: {render(v, k)}" for k, v in value.items()) + "}"
    return mask(str(value), key)


def _render_intrinsic(function: str, argument: object, key: str) -> str:
    if function == "Ref" and isinstance(argument, str):
        return f"Ref({argument})"
    if function == "Fn::GetAtt":
        return ".".join(str(a) for a in argument) if isinstance(argument, list) else str(argument)
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list):
        separator, parts = argument
        return str(separator).join(_placeholder(part, key) for part in parts)
    if function == "Fn::Sub":
        return mask(argument[0] if isinstance(argument, list) else str(argument), key)
    name = function.removeprefix("Fn::")
    arguments = argument if isinstance(argument, list) else [argument]
    return f"{name}(" + ", ".join(render(a, key) for a in arguments) + ")"


def _placeholder(part: object, key: str) -> str:
    """A part of a joined text: literal text as is, anything else as `${...}`."""
    if isinstance(part, str):
        return mask(part, key)
    if isinstance(part, dict) and set(part) == {"Ref"}:
        return f"${{{part['Ref']}}}"
    rendered = render(part, key)
    return rendered if isinstance(part, dict) and set(part) == {"Fn::Join"} else f"${{{rendered}}}"


def flatten(value: object, path: str) -> dict[str, object]:
    """Leaves of a value by dotted path; intrinsics, scalars and empty containers are leaves."""
    if isinstance(value, dict) and value and not is_intrinsic(value):
        found: dict[str, object] = {}
        for k, v in value.items():
            found |= flatten(v, f"{path}.{k}" if path else k)
        return found
    if isinstance(value, list) and value:
        found = {}
        for i, v in enumerate(value):
            found |= flatten(v, f"{path}[{i}]")
        return found
    return {path: value}


@dataclass(frozen=True)
class ValueChange:
    path: str
    before: str | None  # None: unset
    after: str | None

    def line(self) -> str:
        before = UNSET if self.before is None else f"`{self.before}`"
        after = UNSET if self.after is None else f"`{self.after}`"
        return f"`{self.path}`: {before} -> {after}"


def value_changes(before: dict, after: dict, properties: list[str]) -> list[ValueChange]:
    """Every changed leaf of `properties`, in property then path order, values rendered and shortened."""
    found = []
    for prop in properties:
        old = flatten(before[prop], prop) if prop in before else {}
        new = flatten(after[prop], prop) if prop in after else {}
        for path in sorted(set(old) | set(new), key=_path_key):
            if path in old and path in new and old[path] == new[path]:
                continue
            key = re.split(r"[.\[]", path)[-1]
            old_text = render(old[path], key) if path in old else None
            new_text = render(new[path], key) if path in new else None
            old_text, new_text = shorten_pair(old_text, new_text)
            found.append(ValueChange(path, old_text, new_text))
    return found


def _path_key(path: str) -> list[object]:
    """List indexes in numeric order ([2] before [10])."""
    return [int(part) if part.isdigit() else part for part in re.split(r"\[(\d+)\]", path)]


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return text[:head] + "…" + text[-(limit - head - 1) :]


def shorten_pair(before: str | None, after: str | None, limit: int = MAX_VALUE_CHARS) -> tuple[str | None, str | None]:
    """Long values shortened so that what differs stays visible: long common ends become `…`."""
    if before is not None and after is not None and max(len(before), len(after)) > limit:
        common = len(_common_prefix(before, after))
        if common > 20:
            cut = common - 10
            before, after = "…" + before[cut:], "…" + after[cut:]
        common = len(_common_prefix(before[::-1], after[::-1]))
        if common > 20:
            cut = common - 10
            before, after = before[:-cut] + "…", after[:-cut] + "…"
    return (None if before is None else shorten(before, limit)), (None if after is None else shorten(after, limit))


def _common_prefix(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return a[:i]
    return a[: min(len(a), len(b))]


def construct_path(template: dict, logical_id: str, stack: str = "") -> str:
    """A resource's construct path below its stack (`LlmEndpoint/Model`), or its logical id.

    A stage's stack `Dev-LlmEndpointTgi` has paths under `Dev/LlmEndpointTgi/`: the leading
    segments that join with `-` to the stack name are the stack's; otherwise the first one is.
    """
    resource = template.get("Resources", {}).get(logical_id, {})
    path = resource.get("Metadata", {}).get("aws:cdk:path") if isinstance(resource, dict) else None
    if not isinstance(path, str) or "/" not in path:
        return logical_id
    segments = path.split("/")
    depth = next((n for n in range(1, len(segments)) if "-".join(segments[:n]) == stack), 1)
    return "/".join(segments[depth:]).removesuffix("/Resource") or logical_id


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True)
