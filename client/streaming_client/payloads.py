"""Request bodies of the reference recipe per engine (engines.py says how each differs), with the
Llama 2 chat prompt template, and the OpenAI chat request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from streaming_client.engines import DEFAULT_PROMPT, Engine, engine_named

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant that writes clear, friendly and concise marketing emails."


def llama2_chat_prompt(user_message: str, system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> str:
    """The Llama 2 chat template: `<s>[INST] <<SYS>>`, system prompt, `<</SYS>>`, message, ` [/INST]`."""
    return f"<s>[INST] <<SYS>>\n{system_prompt}\n<</SYS>>\n\n{user_message} [/INST]"


@dataclass(frozen=True)
class GenerationParameters:
    """The recipe's inference parameters; `None` leaves one out of the request."""

    max_new_tokens: int = 512
    temperature: float = 0.9
    top_p: float = 0.6
    top_k: int = 50
    do_sample: bool = True
    return_full_text: bool = False
    # Sent only to the engines that list them in `Engine.extra_parameters`.
    repetition_penalty: float | None = 1.03
    stop: list[str] = field(default_factory=lambda: ["</s>"])


def request_body(engine: Engine | str, prompt: str, parameters: GenerationParameters | None = None) -> bytes:
    """The generate request of `engine` (an `Engine` or its name) for `prompt` as it is (templated by
    the caller): the common parameters, then the engine's own ones (`Engine.extra_parameters`, an
    unset one left out), and `"stream": true` for an engine that streams only when asked."""
    chosen = engine_named(engine)
    if chosen.api != "generate":
        raise ValueError(f"engine {chosen.name!r} answers the {chosen.api} API, not generate")
    p = parameters or GenerationParameters()
    common = {
        "do_sample": p.do_sample,
        "top_p": p.top_p,
        "temperature": p.temperature,
        "top_k": p.top_k,
        "max_new_tokens": p.max_new_tokens,
        "return_full_text": p.return_full_text,
    }
    own = {name: getattr(p, name) for name in chosen.extra_parameters}
    body: dict[str, object] = {"inputs": prompt, "parameters": {**common, **{k: v for k, v in own.items() if v is not None}}}
    if chosen.stream_flag:
        body["stream"] = True
    return json.dumps(body).encode()


def recipe_request(
    engine: Engine | None,
    api: str,
    user_message: str | None,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    parameters: GenerationParameters | None = None,
) -> bytes:
    """The request `api` ("generate" or "chat") of `user_message` (default: the engine's ask): the
    chat API's messages, or the generate request of `engine` with the Llama 2 template. A generate
    request needs an engine that answers it (ValueError otherwise)."""
    message = user_message or (engine.default_prompt if engine else DEFAULT_PROMPT)
    if api == "chat":  # one request for every chat server, whichever engine it is
        return chat_request_body(message, system_prompt, parameters)
    if engine is None:
        raise ValueError("the generate request needs its engine")
    return request_body(engine, llama2_chat_prompt(message, system_prompt), parameters)


def chat_request_body(user_message: str, system_prompt: str, parameters: GenerationParameters | None = None) -> bytes:
    """The OpenAI chat API's streaming request, as vLLM, SGLang and LMI's Messages API read it at
    /invocations: the server applies the model's own chat template, so no prompt template here;
    `stream_options.include_usage` asks for the final usage chunk (exact token counts)."""
    p = parameters or GenerationParameters()
    body = {
        "messages": [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_message}],
        "max_tokens": p.max_new_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "top_k": p.top_k,  # beyond OpenAI's schema; vLLM and SGLang take it as a sampling parameter
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return json.dumps(body).encode()


def custom_attributes(accept_eula: bool) -> str:
    """Meta's licence acceptance for Llama 2, as the recipe passes it."""
    return f"accept_eula={'true' if accept_eula else 'false'}"
