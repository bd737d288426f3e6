"""Request bodies of the reference recipe per variant, with the Llama 2 chat prompt template."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant that writes clear, friendly and concise marketing emails."

# The recipe's example asks (SPEC Part 1).
DEFAULT_PROMPTS = {
    "tgi": (
        "AnyCompany recently announced a new service launch named AnyCloud Internet Service. "
        "Write a short email about the product launch with Call to action to Alice Smith, whose email is "
        "alice.smith@example.com. Mention the Coupon Code: EARLYB1RD to get 20% for 1st 3 months."
    ),
    "lmi": (
        "AnyCompany recently announced a new service launch named AnyCloud Streaming Service. "
        "Write a short email about the product launch with Call to action to Alice Smith, whose email is "
        "alice.smith@example.com. Mention the Coupon Code: STREAM2DREAM to get 15% for 1st 6 months."
    ),
}


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
    # TGI only in the recipe.
    repetition_penalty: float | None = 1.03
    stop: list[str] = field(default_factory=lambda: ["</s>"])


def request_body(variant: str, prompt: str, parameters: GenerationParameters | None = None) -> bytes:
    """JSON body for `variant`: TGI asks for a stream and stops at </s>; LMI 0.25 streams by itself."""
    p = parameters or GenerationParameters()
    common = {
        "do_sample": p.do_sample,
        "top_p": p.top_p,
        "temperature": p.temperature,
        "top_k": p.top_k,
        "max_new_tokens": p.max_new_tokens,
        "return_full_text": p.return_full_text,
    }
    if variant == "tgi":
        tgi_only = {"repetition_penalty": p.repetition_penalty, "stop": p.stop}
        body = {"inputs": prompt, "parameters": {**common, **{k: v for k, v in tgi_only.items() if v is not None}}, "stream": True}
    elif variant == "lmi":
        body = {"inputs": prompt, "parameters": common}
    else:
        raise ValueError(f"unknown variant {variant!r}; allowed: tgi, lmi")
    return json.dumps(body).encode()


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
