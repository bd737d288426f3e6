"""The error raised for bad configuration: one line per problem, all problems at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One bad setting: its dotted path, the value received and what is allowed."""

    path: str
    value: object
    allowed: str

    def __str__(self) -> str:
        return f"{self.path} = {self.value!r}: {self.allowed}"


class ConfigError(Exception):
    """Raised before any construct is built; `str()` is one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"config error: {p}" for p in self.problems))
