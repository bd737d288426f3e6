"""The serving engines the client talks to, as data: how each is recognized from its image, which
request API it answers, the recipe's default ask, and how its generate request differs.

`generate` is the reference recipe's request (`inputs` and `parameters`, built from these records in
payloads.py); `chat` is the OpenAI chat API that vLLM and SGLang serve at /invocations. The stream
is decoded from what arrives (stream_decoder.py), whatever the engine. This is the client's one
module that names engines: everything else reads these records
(tests/test_engine_literals.py keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass

APIS = ("generate", "chat")

# The recipe's example asks (SPEC Part 1): the TGI notebook's and the LMI notebook's.
INTERNET_SERVICE_ASK = (
    "AnyCompany recently announced a new service launch named AnyCloud Internet Service. "
    "Write a short email about the product launch with Call to action to Alice Smith, whose email is "
    "alice.smith@example.com. Mention the Coupon Code: EARLYB1RD to get 20% for 1st 3 months."
)
STREAMING_SERVICE_ASK = (
    "AnyCompany recently announced a new service launch named AnyCloud Streaming Service. "
    "Write a short email about the product launch with Call to action to Alice Smith, whose email is "
    "alice.smith@example.com. Mention the Coupon Code: STREAM2DREAM to get 15% for 1st 6 months."
)
# The ask of a request whose engine is not known (e.g. `--api chat` against an unrecognized image).
DEFAULT_PROMPT = INTERNET_SERVICE_ASK


@dataclass(frozen=True)
class Engine:
    name: str
    # Substrings of the model's image URI that name the engine (the SageMaker SDK registry's
    # repositories: 763104351884.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>).
    image_markers: tuple[str, ...]
    api: str  # one of APIS: the request the engine answers by default
    default_prompt: str  # the user message when none is given
    # The generate request's differences: the body asks for a stream with `"stream": true` (else
    # the server streams by itself), and the `GenerationParameters` fields sent to this engine only.
    stream_flag: bool = False
    extra_parameters: tuple[str, ...] = ()


ENGINES: dict[str, Engine] = {
    engine.name: engine
    for engine in (
        Engine(
            "tgi",
            ("huggingface-pytorch-tgi-inference", "text-generation-inference"),
            "generate",
            INTERNET_SERVICE_ASK,
            stream_flag=True,
            extra_parameters=("repetition_penalty", "stop"),
        ),
        # LMI 0.25 (rolling batch) streams without a flag and takes the common parameters only.
        Engine("lmi", ("djl-inference", "djl-lmi"), "generate", STREAMING_SERVICE_ASK),
        Engine("vllm", ("huggingface-vllm", "/vllm:"), "chat", INTERNET_SERVICE_ASK),
        Engine("sglang", ("huggingface-sglang", "/sglang:"), "chat", INTERNET_SERVICE_ASK),
    )
}


def allowed() -> str:
    """The engine names as a usage message lists them: `lmi, sglang, tgi, vllm`."""
    return ", ".join(sorted(ENGINES))


def engine_named(name: str | Engine) -> Engine:
    """The engine called `name` (an `Engine` is returned as it is); a ValueError names the allowed ones."""
    if isinstance(name, Engine):
        return name
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; allowed: {allowed()}") from None


def engine_of_image(image: str) -> str | None:
    """The engine whose image `image` is, or None when no marker matches."""
    for engine in ENGINES.values():
        if any(marker in image for marker in engine.image_markers):
            return engine.name
    return None
