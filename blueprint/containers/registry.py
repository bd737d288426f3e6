"""Which container module serves which variant. A third variant adds a module and a line here."""

from __future__ import annotations

from typing import Protocol

from blueprint.config.errors import Problem
from blueprint.config.facts import InstanceFacts, ModelFacts
from blueprint.config.settings import AppConfig, VariantSettings
from blueprint.containers import lmi, tgi
from blueprint.containers.container_spec import ContainerSpec, ServingLimits
from blueprint.images.image_catalog import ImageEntry


class ContainerModule(Protocol):
    """What a container module provides; `config.validation` and the stacks use only this."""

    FRAMEWORKS: tuple[str, ...]  # image frameworks of the SDK registry it runs
    SECRET_SETTING: str | None  # the setting that references its secret, if it takes one
    WEIGHTS_LOADING: tuple[str, ...]  # the weights_loading values it supports

    def validate(self, settings: VariantSettings, config: AppConfig, instance: InstanceFacts, model: ModelFacts) -> list[Problem]: ...

    def container_spec(
        self, settings: VariantSettings, config: AppConfig, image: ImageEntry, instance: InstanceFacts, weights_uri: str
    ) -> ContainerSpec: ...

    def serving_limits(self, settings: VariantSettings, config: AppConfig, instance: InstanceFacts, model: ModelFacts) -> ServingLimits: ...


CONTAINERS: dict[str, ContainerModule] = {"tgi": tgi, "lmi": lmi}
