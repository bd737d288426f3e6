"""Request bodies of the reference recipe (SPEC Part 1): what each variant's container is sent."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming_client.payloads import (
    DEFAULT_PROMPTS,
    DEFAULT_SYSTEM_PROMPT,
    GenerationParameters,
    chat_request_body,
    custom_attributes,
    llama2_chat_prompt,
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


def test_unknown_variant_is_refused_by_name():
    with pytest.raises(ValueError, match="'vllm'"):
        request_body("vllm", "p")


def test_llama2_chat_template():
    assert llama2_chat_prompt("Hi?", "Be brief.") == "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi? [/INST]"
    assert llama2_chat_prompt("Hi?") == f"<s>[INST] <<SYS>>\n{DEFAULT_SYSTEM_PROMPT}\n<</SYS>>\n\nHi? [/INST]"


def test_recipe_prompts_per_variant():
    assert "EARLYB1RD" in DEFAULT_PROMPTS["tgi"] and "STREAM2DREAM" in DEFAULT_PROMPTS["lmi"]


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
