"""The hub token, shared by the engines that can download weights from the Hugging Face hub.

A deployment never holds the token: it names a Secrets Manager secret, which CloudFormation
resolves into the container's environment at deploy time. Staged weights (`weights_loading=s3`)
need no token at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blueprint.config.errors import Problem
from blueprint.config.facts import ModelFacts
from blueprint.config.settings import VariantSettings
from blueprint.engines.container_spec import SecretReference
from blueprint.engines.environment import REDACTED, looks_like_secret_value

# Secrets Manager secret name, or the ARN of one.
_SECRET_REF = r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]{1,512})$"
# The weights_loading value whose weights SageMaker mounts from the model bucket (no hub access).
STAGED = "s3"


@dataclass(frozen=True)
class HubDeploymentSettings(VariantSettings):
    """A deployment whose container may download its weights from the hub."""

    # Name or ARN of a Secrets Manager secret holding the hub token (never the token itself).
    hub_token_secret: str | None = None
    # Key of the token when the secret holds JSON key/value pairs; default: the whole secret string.
    hub_token_secret_json_field: str | None = None


def check_hub_token(path: str, settings: HubDeploymentSettings, model: ModelFacts) -> list[Problem]:
    """The token reference: a secret's name or ARN, none with staged weights, one for a gated model."""
    secret = settings.hub_token_secret
    where = f"{path}.hub_token_secret"
    if settings.weights_loading == STAGED:
        if secret is not None:
            return [
                Problem(
                    where,
                    secret,
                    f"not used with weights_loading={STAGED} (no token reaches the endpoint); remove it, or clear a profile's value "
                    f"with -c {where}=none",
                )
            ]
        return []
    if secret is not None:
        if looks_like_secret_value(secret):
            return [Problem(where, REDACTED, "looks like a token value; give the name or ARN of a Secrets Manager secret that holds it")]
        if not re.match(_SECRET_REF, secret):
            return [Problem(where, secret, "must be a Secrets Manager secret name (letters, digits, /_+=.@-) or secret ARN")]
        return []
    if model.gated and not settings.model.public:
        return [
            Problem(
                where,
                None,
                f"{model.id} is gated on the Hugging Face hub: give the name or ARN of a Secrets Manager secret holding a read token, or set model.public=true",
            )
        ]
    return []


def token_environment(settings: HubDeploymentSettings, name: str) -> dict[str, SecretReference]:
    """The secret environment entry `name` (the variable the image reads) when a token is configured and used."""
    if settings.weights_loading == STAGED or not settings.hub_token_secret:
        return {}
    return {name: SecretReference(settings.hub_token_secret, settings.hub_token_secret_json_field)}
