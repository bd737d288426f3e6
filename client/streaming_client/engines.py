"""The serving engines the client talks to, as data: how each is recognized from its image, and
which request API it answers.

`generate` is the reference recipe's request (TGI's and LMI's `inputs` and `parameters`, built per
engine in payloads.py); `chat` is the OpenAI chat API that vLLM and SGLang serve at /invocations.
The stream is decoded from what arrives (stream_decoder.py), whatever the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Engine:
    name: str
    # Substrings of the model's image URI that name the engine (the SageMaker SDK registry's
    # repositories: 763104351884.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>).
    image_markers: tuple[str, ...]
    api: str  # "generate" or "chat"


ENGINES: dict[str, Engine] = {
    engine.name: engine
    for engine in (
        Engine("tgi", ("huggingface-pytorch-tgi-inference", "text-generation-inference"), "generate"),
        Engine("lmi", ("djl-inference", "djl-lmi"), "generate"),
        Engine("vllm", ("huggingface-vllm", "/vllm:"), "chat"),
        Engine("sglang", ("huggingface-sglang", "/sglang:"), "chat"),
    )
}
APIS = ("generate", "chat")


def engine_of_image(image: str) -> str | None:
    """The engine whose image `image` is, or None when no marker matches."""
    for engine in ENGINES.values():
        if any(marker in image for marker in engine.image_markers):
            return engine.name
    return None
