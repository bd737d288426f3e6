"""Request bodies of the reference recipe (SPEC Part 1): what each variant's container is sent."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming_client.engines import DEFAULT_PROMPT, ENGINES, engine_named
from streaming_client.payloads import (
    DEFAULT_SYSTEM_PROMPT,
    GenerationParameters,
    chat_request_body,
    custom_attributes,
    llama2_chat_prompt,
    recipe_request,
    request_body,
)

RECIPE_COMMON = {"do_sample": True, "top_p": 0.6, "temperature": 0.9, "top_k": 50, "max_new_tokens": 512, "return_full_text": False}


def test_tgi_body_asks_for_a_stream_with_the_recipe_parameters_and_stops_at_end_of_sequence():
    body = json.loads(request_body("tgi", "hello"))
    assert body == {
        "inputs": "hello",
        "parameters": {**RECIPE_COMMON, "repetition_penalty": 1.03, "stop": ["</s>"]},
        "stream": True,
    }


def test_lmi_body_has_the_common_parameters_only_and_no_stream_flag():
    body = json.loads(request_body("lmi", "hello"))
    assert body == {"inputs": "hello", "parameters": RECIPE_COMMON}


def test_tgi_leaves_out_unset_tgi_only_parameters_and_keeps_given_ones():
    params = GenerationParameters(max_new_tokens=7, temperature=0.1, top_p=0.2, top_k=3, do_sample=False, return_full_text=True)
    unset = GenerationParameters(repetition_penalty=None, stop=["\n"])
    assert json.loads(request_body("tgi", "p", params))["parameters"] == {
        "do_sample": False,
        "top_p": 0.2,
        "temperature": 0.1,
        "top_k": 3,
        "max_new_tokens": 7,
        "return_full_text": True,
        "repetition_penalty": 1.03,
        "stop": ["</s>"],
    }
    assert json.loads(request_body("tgi", "p", unset))["parameters"] == {**RECIPE_COMMON, "stop": ["\n"]}
    assert json.loads(request_body("lmi", "p", params))["parameters"]["max_new_tokens"] == 7


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(prompt=st.text(max_size=40), variant=st.sampled_from(["tgi", "lmi"]))
def test_any_prompt_round_trips_as_json_bytes(prompt, variant):
    body = request_body(variant, prompt)
    assert isinstance(body, bytes)
    assert json.loads(body.decode())["inputs"] == prompt


def test_the_recipe_bodies_keep_their_exact_bytes():
    # What the deployed TGI and LMI endpoints were sent before engines became data, byte for byte.
    assert request_body("tgi", "hello") == (
        b'{"inputs": "hello", "parameters": {"do_sample": true, "top_p": 0.6, "temperature": 0.9, "top_k": 50, '
        b'"max_new_tokens": 512, "return_full_text": false, "repetition_penalty": 1.03, "stop": ["</s>"]}, "stream": true}'
    )
    assert request_body("lmi", "hello") == (
        b'{"inputs": "hello", "parameters": {"do_sample": true, "top_p": 0.6, "temperature": 0.9, "top_k": 50, '
        b'"max_new_tokens": 512, "return_full_text": false}}'
    )


def test_the_body_is_built_from_the_engine_record_or_its_name_alike():
    params = GenerationParameters(max_new_tokens=9)
    for name, engine in ENGINES.items():
        if engine.api == "generate":
            assert request_body(engine, "p", params) == request_body(name, "p", params)


def test_an_unknown_engine_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown engine 'foo'; allowed: lmi, sglang, tgi, vllm$"):
        request_body("foo", "p")
    with pytest.raises(ValueError, match=r"unknown engine 'foo'; allowed: lmi, sglang, tgi, vllm$"):
        engine_named("foo")


@pytest.mark.parametrize("name", ["vllm", "sglang"])
def test_a_chat_engine_has_no_generate_body(name):
    with pytest.raises(ValueError, match=f"engine '{name}' answers the chat API, not generate"):
        request_body(name, "p")


def test_every_engine_only_parameter_is_a_generation_parameter():
    # request_body reads them by name: a misspelt one would fail at the first request, not here.
    fields = set(GenerationParameters.__dataclass_fields__)
    assert all(set(engine.extra_parameters) <= fields for engine in ENGINES.values())
    assert {engine.api for engine in ENGINES.values()} == {"generate", "chat"}


def test_the_recipe_request_of_each_api():
    tgi, lmi, vllm = ENGINES["tgi"], ENGINES["lmi"], ENGINES["vllm"]
    params = GenerationParameters(max_new_tokens=5)
    # generate: the engine's body of the templated message (the engine's ask by default)
    assert recipe_request(tgi, "generate", "Hi", "Be brief.", params) == request_body(
        "tgi", "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]", params
    )
    assert "STREAM2DREAM" in json.loads(recipe_request(lmi, "generate", None))["inputs"]
    # chat: the messages, whichever engine (the engine's ask by default, else the recipe's first)
    assert recipe_request(vllm, "chat", "Hi", "Be brief.", params) == chat_request_body("Hi", "Be brief.", params)
    assert json.loads(recipe_request(lmi, "chat", None))["messages"][1]["content"] == lmi.default_prompt
    assert json.loads(recipe_request(None, "chat", None))["messages"][1]["content"] == DEFAULT_PROMPT
    with pytest.raises(ValueError, match="needs its engine"):
        recipe_request(None, "generate", "Hi")


def test_llama2_chat_template():
    assert llama2_chat_prompt("Hi?", "Be brief.") == "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi? [/INST]"
    assert llama2_chat_prompt("Hi?") == f"<s>[INST] <<SYS>>\n{DEFAULT_SYSTEM_PROMPT}\n<</SYS>>\n\nHi? [/INST]"


def test_recipe_prompts_per_engine():
    assert "EARLYB1RD" in ENGINES["tgi"].default_prompt and "STREAM2DREAM" in ENGINES["lmi"].default_prompt
    # The chat engines are asked the TGI notebook's question.
    assert ENGINES["vllm"].default_prompt == ENGINES["sglang"].default_prompt == ENGINES["tgi"].default_prompt == DEFAULT_PROMPT


def test_eula_attribute():
    assert custom_attributes(True) == "accept_eula=true"
    assert custom_attributes(False) == "accept_eula=false"


def test_chat_body_is_the_openai_chat_request_with_the_servers_template():
    body = json.loads(
        chat_request_body("Write to Alice.", "Be brief.", GenerationParameters(max_new_tokens=64, temperature=0.2, top_p=0.8, top_k=5))
    )
    assert body == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write to Alice."}],
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.8,
        "top_k": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    # The recipe's parameters by default; the Llama 2 template is the server's business here.
    default = json.loads(chat_request_body("Hi", DEFAULT_SYSTEM_PROMPT))
    assert (default["max_tokens"], default["temperature"], default["top_p"], default["top_k"]) == (512, 0.9, 0.6, 50)
    assert "[INST]" not in json.dumps(default)
