"""Checks of container environment settings shared by every container: names, sizes, secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping

from blueprint.config.errors import Problem

# SageMaker's limits on a container's Environment map.
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")
MAX_ENTRIES = 100
MAX_VALUE_LENGTH = 1024

# Whole name segments: HF_TOKEN is a secret, MAX_INPUT_TOKENS is not.
_SECRET_NAME = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)", re.I)
_SECRET_VALUE = re.compile(r"(hf_[A-Za-z0-9]{20,}|(AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----)")
REDACTED = "<redacted>"


def looks_like_secret_value(value: str) -> bool:
    return bool(_SECRET_VALUE.search(value))


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def check_environment(environment: Mapping[str, str], path: str, secret_setting: str | None) -> list[Problem]:
    """Problems with user-given environment entries; secret values are never echoed.

    `secret_setting` names the setting that references a secret instead (None: the container
    needs none).
    """
    instead = f"reference a Secrets Manager secret ({secret_setting})" if secret_setting else "this container needs no secret"
    problems = []
    if len(environment) > MAX_ENTRIES:
        problems.append(Problem(path, f"{len(environment)} entries", f"at most {MAX_ENTRIES} entries"))
    for name, value in environment.items():
        where = f"{path}.{name}"
        if is_secret_name(name) or looks_like_secret_value(value):
            problems.append(Problem(where, REDACTED, f"secrets are not accepted as plain values; {instead}"))
            continue
        if not _NAME.match(name):
            problems.append(Problem(where, value, "environment names are letters, digits and _, not starting with a digit"))
        if len(value) > MAX_VALUE_LENGTH:
            problems.append(Problem(where, f"{len(value)} characters", f"at most {MAX_VALUE_LENGTH} characters"))
    return problems


def check_managed_names(environment: Mapping[str, str], path: str, managed: Mapping[str, str]) -> list[Problem]:
    """Entries that a typed setting owns (name -> why) may not be set as raw environment."""
    return [Problem(f"{path}.{name}", environment[name], why) for name, why in managed.items() if name in environment]
