"""Rewrite docs/configuration-reference.md from the settings classes (after changing a setting).

llm-settings-reference
"""

from __future__ import annotations

import sys

from blueprint.reports.settings_reference import write


def main(argv: list[str] | None = None) -> int:
    print(f"wrote {write()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
