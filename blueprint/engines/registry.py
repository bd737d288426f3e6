"""The engine registry: which engines a deployment may run, by name.

Everything engine-specific lives in the engine's module (its settings class, image frameworks,
weights-loading modes, validation, container environment, serving limits and request API); the
loader, validation, stacks, summary, pipeline and tools reach engines only through `ENGINES`.
A fifth engine is one module, one entry here and profile data (docs/extending.md).
"""

from __future__ import annotations

from typing import Protocol

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, ModelFacts
from blueprint.config.settings import VariantSettings
from blueprint.engines import lmi, sglang, tgi, vllm
from blueprint.engines.container_spec import ContainerSpec, ServingLimits
from blueprint.images.image_catalog import ImageEntry


class Engine(Protocol):
    """What an engine provides (a module, or an object such as launcher.LauncherEngine)."""

    @property
    def NAME(self) -> str: ...  # noqa: N802 - module constants read as properties
    @property
    def SETTINGS(self) -> type[VariantSettings]: ...  # noqa: N802 - the deployment settings class it reads
    @property
    def FRAMEWORKS(self) -> tuple[str, ...]: ...  # noqa: N802 - image frameworks of the SDK registry it runs
    @property
    def WEIGHTS_LOADING(self) -> tuple[str, ...]: ...  # noqa: N802 - weights_loading values, its default first
    @property
    def SECRET_SETTING(self) -> str | None: ...  # noqa: N802 - its setting that names a secret, if any
    @property
    def API(self) -> str: ...  # noqa: N802 - "generate" (the recipe's request) or "chat" (OpenAI chat API)

    def validate(self, path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> list[Problem]: ...

    def container_spec(self, settings: VariantSettings, image: ImageEntry, instance: InstanceFacts, weights_uri: str) -> ContainerSpec: ...

    def serving_limits(self, path: str, settings: VariantSettings, instance: InstanceFacts, model: ModelFacts) -> ServingLimits: ...


def _registry(*engines: Engine) -> dict[str, Engine]:
    return {engine.NAME: engine for engine in engines}


ENGINES: dict[str, Engine] = _registry(tgi, lmi, vllm.ENGINE, sglang.ENGINE)
