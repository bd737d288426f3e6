"""Which container module serves which variant. A third variant adds a module and a line here."""

from __future__ import annotations

from types import ModuleType

from containers import lmi, tgi

# Each module provides FRAMEWORKS, SECRET_SETTING, validate(...), container_spec(...) and serving_limits(...).
CONTAINERS: dict[str, ModuleType] = {"tgi": tgi, "lmi": lmi}
