"""Builds the typed `AppConfig` from CDK context: a profile plus dotted-key overrides.

Context comes from `cdk.json` and `-c key=value` (values from the command line are strings and
are converted to each setting's type). Keys owned by the CDK itself (feature flags starting with
`@`, `aws:cdk:*` and other keys with a colon) are left alone; every other key must name a setting,
so a typo is an error instead of a silently ignored value.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from blueprint.config.errors import ConfigError, Problem
from blueprint.config.profiles import DEFAULT_PROFILE, PROFILES
from blueprint.config.settings import INFERENCE_COMPONENT, AppConfig, ModelSettings, SharedEndpointSettings, VariantSettings
from blueprint.engines.registry import ENGINES
from blueprint.validation import validate

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What the CDK CLI adds to an app's context besides cdk.json's (for tools that run app.py directly).
CDK_CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:disable-version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}
# Context keys the CDK CLI writes itself without a colon or an `@`.
_CDK_OWNED_KEYS = {"acknowledged-issue-numbers", "cli-telemetry"}


def is_cdk_owned(key: str) -> bool:
    """True for context keys that belong to the CDK, not to this app.

    CDK keys start with `@` (feature flags) or have a colon after a dot-free prefix
    (`aws:cdk:*`, `availability-zones:...`); `variants.tgi:num_gpus` is a typo of ours.
    """
    prefix, colon, _ = key.partition(":")
    return key.startswith("@") or (bool(colon) and "." not in prefix) or key in _CDK_OWNED_KEYS


def project_context(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The context of a checkout's cdk.json."""
    return json.loads((root / "cdk.json").read_text())["context"]


def load_project_config(profile: str | None = None) -> AppConfig:
    """The configuration `npx cdk synth` would use, optionally with another profile (for scripts)."""
    context = project_context()
    if profile:
        context["profile"] = profile
    return load_config(context)


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Return the validated configuration for `context`, or raise `ConfigError`."""
    config = build_config(context)
    problems = validate(config)
    if problems:
        raise ConfigError(problems)
    return config


def build_config(context: Mapping[str, Any]) -> AppConfig:
    """Type-check and merge context into an `AppConfig` without cross-field validation."""
    ours = {k: v for k, v in context.items() if not is_cdk_owned(k)}
    profile = ours.pop("profile", DEFAULT_PROFILE)
    if profile not in PROFILES:
        raise ConfigError([Problem("profile", profile, f"unknown profile; allowed: {', '.join(PROFILES)}")])

    data = copy.deepcopy(PROFILES[profile])
    data["profile"] = profile
    problems: list[Problem] = []
    overrides = dict(_flatten(ours))
    # Maps of named settings groups: `<map>.<name>.<setting>`, each name's class known only later.
    named: dict[str, dict[str, dict[str, Any]]] = {"variants": {}, "shared_endpoints": {}}
    for key in sorted(overrides):
        head, _, rest = key.partition(".")
        if head not in named:
            _set_path(data, key, overrides[key], problems, AppConfig, "")
        elif rest.count(".") == 0:
            problems.append(Problem(key, overrides[key], f"set one setting of a named group, like {head}.<name>.{_EXAMPLE[head]}"))
        else:
            name, _, setting = rest.partition(".")
            named[head].setdefault(name, {})[setting] = overrides[key]
    config = _build(AppConfig, {k: v for k, v in data.items() if k not in named}, "", problems)
    shared = _build_shared_endpoints(data.get("shared_endpoints", {}), named["shared_endpoints"], problems)
    variants = _build_variants(data.get("variants", {}), named["variants"], config.model, shared, problems)
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(config, variants=variants, shared_endpoints=shared)


_EXAMPLE = {"variants": "engine", "shared_endpoints": "instance_type"}


def _build_shared_endpoints(
    profile_endpoints: dict[str, dict], overrides: dict[str, dict[str, Any]], problems: list[Problem]
) -> dict[str, SharedEndpointSettings]:
    built = {}
    for name in [*profile_endpoints, *sorted(set(overrides) - set(profile_endpoints))]:
        node = profile_endpoints.get(name, {})
        path = f"shared_endpoints.{name}."
        for key, value in sorted(overrides.get(name, {}).items()):
            _set_path(node, key, value, problems, SharedEndpointSettings, path)
        built[name] = _build(SharedEndpointSettings, node, path, problems)
    return built


def _flatten(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested maps of context (`{"variants": {"tgi": {...}}}`) as dotted keys."""
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _build_variants(
    profile_variants: dict[str, dict],
    overrides: dict[str, dict[str, Any]],
    shared_model: ModelSettings,
    shared_endpoints: dict[str, SharedEndpointSettings],
    problems: list[Problem],
) -> dict[str, VariantSettings]:
    """Each deployment with its engine's settings class: the profile's, then new names in order.

    The engine comes first (an override, the profile, or the deployment's name when that names an
    engine), since it decides which settings the deployment has."""
    variants: dict[str, VariantSettings] = {}
    for name in [*profile_variants, *sorted(set(overrides) - set(profile_variants))]:
        node = profile_variants.get(name, {})
        own = overrides.get(name, {})
        path = f"variants.{name}"
        engine_name = own.get("engine", node.get("engine", name if name in ENGINES else None))
        if engine_name not in ENGINES:
            why = f"one of {', '.join(ENGINES)}"
            if engine_name is None:
                why = f"a deployment named {name!r} needs an engine: set {path}.engine to {why}"
            problems.append(Problem(f"{path}.engine", engine_name, why))
            continue
        engine = ENGINES[engine_name]
        node["engine"] = engine_name
        for key in sorted(own):
            _set_path(node, key, own[key], problems, engine.SETTINGS, f"{path}.")
        own_model = _kwargs(ModelSettings, node.pop("model", {}), f"{path}.model.", problems)
        variant = _build(engine.SETTINGS, node, f"{path}.", problems)
        variant = dataclasses.replace(variant, model=_deployment_model(shared_model, own_model))
        if variant.hosting == INFERENCE_COMPONENT:
            problems += _endpoint_settings_given(path, variant, own)
            host = shared_endpoints.get(variant.component.endpoint)
            if host is not None:  # a component runs on its shared endpoint's instances: the engine's checks use them
                variant = dataclasses.replace(variant, instance_type=host.instance_type, inference_ami_version=host.inference_ami_version)
        variants[name] = variant
    return variants


# Settings of a dedicated endpoint that a component takes from its shared endpoint, or does not have.
_ENDPOINT_SETTINGS = {
    "instance_type": "instance_type",
    "instance_count": "instance_count",
    "variant_name": "variant_name",
    "endpoint_name": "endpoint_name",
    "inference_ami_version": "inference_ami_version",
    "autoscaling": "min_instance_count and max_instance_count (and component.autoscaling for copies)",
}


def _endpoint_settings_given(path: str, variant: VariantSettings, own: Mapping[str, Any]) -> list[Problem]:
    """Overrides of endpoint settings on a component: they belong to its shared endpoint."""
    where = f"shared_endpoints.{variant.component.endpoint or '<name>'}"
    return [
        Problem(f"{path}.{key}", value, f"not used with hosting=inference-component: set {where}.{_ENDPOINT_SETTINGS[key.split('.')[0]]}")
        for key, value in sorted(own.items())
        if key.split(".")[0] in _ENDPOINT_SETTINGS
    ]


def _deployment_model(shared: ModelSettings, own: dict[str, Any]) -> ModelSettings:
    """A deployment's model: the shared model.* with its own settings on top; another model id
    inherits nothing (the shared facts and revision describe another model)."""
    if own.get("id", shared.id) != shared.id:
        return ModelSettings(**own)
    return dataclasses.replace(shared, **own)


def _set_path(data: dict, key: str, value: Any, problems: list[Problem], cls: Any, prefix: str) -> None:
    """Apply one dotted override below settings class `cls`, checking each segment against the classes.

    `prefix` is where `data` sits in the whole configuration (for the problem's path)."""
    node = data
    parts = key.split(".")
    for depth, part in enumerate(parts):
        path = prefix + ".".join(parts[: depth + 1])
        if cls is dict:  # free-form maps (environment, options): the rest of the key is the name
            node[".".join(parts[depth:])] = value
            return
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            problems.append(_unknown(path, value, cls, part))
            return
        hint = _resolved_hints(cls)[part]
        if depth == len(parts) - 1:
            if dataclasses.is_dataclass(_strip_optional(hint)):
                problems.append(Problem(path, value, "is a group of settings; set one of its keys"))
            else:
                node[part] = value
            return
        inner = _strip_optional(hint)
        if typing.get_origin(inner) is dict:
            inner = dict
        elif not dataclasses.is_dataclass(inner):
            problems.append(Problem(path, value, f"is a single setting, it has no key {parts[depth + 1]!r}"))
            return
        child = node.setdefault(part, {})
        if isinstance(child, str) and inner is dict:  # a map given whole as JSON, then extended
            decoded = _decode_json_map(child)
            if not isinstance(decoded, dict):
                problems.append(Problem(path, child, "must be a map of names to values"))
                return
            child = decoded
        node[part] = child
        node = child
        cls = inner


def _unknown(path: str, value: Any, cls: Any, part: str) -> Problem:
    names = [f.name for f in dataclasses.fields(cls)]
    close = difflib.get_close_matches(part, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return Problem(path, value, f"unknown setting; allowed here: {', '.join(names)}{hint}")


def _build(cls: Any, data: Mapping[str, Any], prefix: str, problems: list[Problem]) -> Any:
    """Instantiate dataclass `cls` from `data`, converting each value to its field type."""
    return cls(**_kwargs(cls, data, prefix, problems))


def _kwargs(cls: Any, data: Mapping[str, Any], prefix: str, problems: list[Problem]) -> dict[str, Any]:
    """The fields of dataclass `cls` that `data` gives, each converted to its type."""
    kwargs = {}
    hints = _resolved_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        path = f"{prefix}{f.name}"
        hint = hints[f.name]
        raw = data[f.name]
        inner = _strip_optional(hint)
        if dataclasses.is_dataclass(inner) and isinstance(raw, Mapping):
            kwargs[f.name] = _build(inner, raw, f"{path}.", problems)
        else:
            converted = _convert(raw, hint, path, problems)
            if converted is not _INVALID:
                kwargs[f.name] = converted
    return kwargs


_INVALID = object()
_NONE_WORDS = {"", "none", "null"}


def _convert(raw: Any, hint: Any, path: str, problems: list[Problem]) -> Any:
    optional = _is_optional(hint)
    target = _strip_optional(hint)
    if raw is None or (optional and isinstance(raw, str) and raw.strip().lower() in _NONE_WORDS):
        if optional:
            return None
        problems.append(Problem(path, raw, "must be set"))
        return _INVALID
    if typing.get_origin(target) is dict:
        return _convert_map(raw, path, problems)
    if typing.get_origin(target) is list:
        return _convert_list(raw, path, problems)
    try:
        if target is bool:
            return _to_bool(raw)
        if target is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        if target is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if target is str:
            if not isinstance(raw, str):
                raise ValueError
            return raw
    except (TypeError, ValueError):
        pass
    allowed = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}[target]
    if optional:
        allowed += " (or none)"
    problems.append(Problem(path, raw, f"must be {allowed}"))
    return _INVALID


def _decode_json_map(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return None


def _convert_map(raw: Any, path: str, problems: list[Problem]) -> Any:
    decoded = _decode_json_map(raw) if isinstance(raw, str) else raw  # -c key='{"A": "1"}'
    if not isinstance(decoded, Mapping):
        problems.append(Problem(path, raw, "must be a map of names to values"))
        return _INVALID
    raw = decoded
    out = {}
    for name, value in raw.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, (str, int, float)):
            problems.append(Problem(f"{path}.{name}", value, "must be a string or number"))
            continue
        out[str(name)] = str(value)
    return out


def _convert_list(raw: Any, path: str, problems: list[Problem]) -> Any:
    """A list of strings: a list, a JSON list, or comma-separated text (`-c key=a,b`)."""
    if isinstance(raw, str):
        text = raw.strip()
        decoded = _decode_json_map(text) if text.startswith("[") else [part.strip() for part in text.split(",") if part.strip()]
        raw = decoded
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        problems.append(Problem(path, raw, "must be a list of names (JSON, or separated by commas)"))
        return _INVALID
    return list(raw)


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"true", "false"}:
        return raw.strip().lower() == "true"
    raise ValueError(raw)


def _is_optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


def _strip_optional(hint: Any) -> Any:
    if isinstance(hint, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint


_HINTS: dict[Any, dict[str, Any]] = {}


def _resolved_hints(cls: Any) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]
