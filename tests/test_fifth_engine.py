"""A fifth engine is one module's worth of data and one registry entry: this test builds a throwaway
engine, registers it, and finds it in the settings, validation, stack, summary and reference."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from blueprint.config.errors import ConfigError
from blueprint.engines.launcher import Launcher, LauncherEngine, LauncherSettings
from blueprint.engines.registry import ENGINES
from blueprint.loader import load_config
from blueprint.reports.settings_reference import render
from blueprint.reports.synth_summary import render_summary
from stacks.composition import compose


@dataclass(frozen=True)
class ToySettings(LauncherSettings):
    """A throwaway engine for this test."""

    # Only this engine has it.
    toy_level: int = 3


TOY = LauncherEngine(
    NAME="toy",
    FRAMEWORKS=("vllm",),  # any framework of the image table will do
    SETTINGS=ToySettings,
    LAUNCHER=Launcher(
        env_prefix="SM_TOY_",
        model="model",
        revision="revision",
        served_model_name="served_model_name",
        tensor_parallel="tp",
        context_length="ctx",
        max_sequences="seqs",
        memory_fraction="mem",
        default_max_sequences=8,
        default_memory_fraction=0.5,
    ),
)
CONTEXT = {
    "variants.lmi.enabled": "false",
    "variants.tgi.enabled": "false",
    "variants.play.engine": "toy",
    "variants.play.image.framework": "vllm",
    "variants.play.image.version": "0.30.0",
    "variants.play.model.id": "Qwen/Qwen3-14B",
    "variants.play.toy_level": "5",
    "variants.play.max_model_len": "4096",
}


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(ENGINES, "toy", TOY)


def test_a_registered_engine_is_a_deployment_like_any_other(toy_registered):
    config = load_config(CONTEXT)
    play = config.variants["play"]
    assert (type(play), play.engine, play.toy_level, play.model.id) == (ToySettings, "toy", 5, "Qwen/Qwen3-14B")

    summary = render_summary(config)
    assert "[play] toy, Qwen/Qwen3-14B" in summary and "seqs 8 x 4,096 tokens" in summary

    app = cdk.App()
    stack = compose(app, config).endpoint_stacks["play"]
    assert stack.stack_name == "LlmEndpointPlay"
    template = Template.from_stack(stack)
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    environment = model["Properties"]["PrimaryContainer"]["Environment"]
    assert environment == {
        "SM_TOY_MODEL": "Qwen/Qwen3-14B",
        "SM_TOY_SERVED_MODEL_NAME": "Qwen/Qwen3-14B",
        "SM_TOY_TP": "4",
        "SM_TOY_CTX": "4096",
    }
    template.has_output("ServingEngine", {"Value": "toy"})

    page = render()
    assert (
        "## `variants.<name>` with `engine=toy`" in page
        and "| `variants.<name>.toy_level` | `int` | `3` | Only this engine has it. |" in page
    )


def test_its_settings_are_checked_by_its_own_rules(toy_registered):
    with pytest.raises(ConfigError, match="variants.play.tp = '2': unknown setting; allowed here: .*toy_level"):
        load_config({**CONTEXT, "variants.play.tp": "2"})  # its flag's name is not a setting
    with pytest.raises(ConfigError, match="variants.play.tensor_parallel_size = 3: tp must divide 40"):
        load_config({**CONTEXT, "variants.play.tensor_parallel_size": "3"})
    with pytest.raises(ConfigError, match="variants.play.args.tp = '2': set by variants.play.tensor_parallel_size"):
        load_config({**CONTEXT, "variants.play.args.tp": "2"})


def test_without_its_registry_entry_the_engine_does_not_exist():
    with pytest.raises(ConfigError, match="variants.play.engine = 'toy': one of tgi, lmi, vllm, sglang"):
        load_config(CONTEXT)
