"""What each model server streams (SPEC Part 2), built from a list of token texts, and each
engine's image and stream (`ENGINE_SAMPLES`): the loopback's test data, the one file of tools/ that
names engines (tests/test_engine_literals.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

TOKENS = ["Subject", ":", " AnyCloud", " 启动", " 🚀", ' "quoted"', " back\\slash", "\n\nDear", " Alice", " — café", " 😀👍🏽", "."]
TEXT = "".join(TOKENS)


def tgi_sse(tokens: list[str] = TOKENS) -> list[bytes]:
    """TGI: one `data:` event per token; the last token is special and carries generated_text."""
    events: list[dict[str, object]] = [
        {"token": {"id": i, "text": t, "logprob": -0.25, "special": False}, "generated_text": None, "details": None}
        for i, t in enumerate(tokens)
    ]
    events.append(
        {"token": {"id": 2, "text": "</s>", "logprob": -0.01, "special": True}, "generated_text": "".join(tokens), "details": None}
    )
    return [f"data:{json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events]


def lmi_sse(tokens: list[str] = TOKENS) -> list[bytes]:
    """LMI with TGI-compatible SSE output (a space after `data:`, CRLF line ends)."""
    return [f"data: {json.dumps({'token': {'id': i, 'text': t, 'log_prob': -0.3}})}\r\n\r\n".encode() for i, t in enumerate(tokens)]


def lmi_json_document(tokens: list[str] = TOKENS, ensure_ascii: bool = True) -> list[bytes]:
    """LMI 0.25: `{"generated_text": "` then each token JSON-escaped, then `"}`."""
    pieces = [json.dumps(t, ensure_ascii=ensure_ascii)[1:-1] for t in tokens]
    parts = ['{"generated_text": "' + pieces[0], *pieces[1:], '"}']
    return [p.encode() for p in parts]


def lmi_jsonlines(tokens: list[str] = TOKENS) -> list[bytes]:
    """LMI 0.26+: a `token` object per line; the last line also carries generated_text and details."""
    lines: list[dict[str, object]] = [{"token": {"id": i, "text": t, "log_prob": -0.3}} for i, t in enumerate(tokens)]
    lines[-1] |= {"generated_text": "".join(tokens), "details": {"finish_reason": "eos_token"}}
    return [(json.dumps(line, ensure_ascii=False) + "\n").encode() for line in lines]


def lmi_outputs_jsonlines(tokens: list[str] = TOKENS) -> list[bytes]:
    """Older LMI jsonlines: `{"outputs": ["..."]}` per line."""
    return [(json.dumps({"outputs": [t]}) + "\n").encode() for t in tokens]


def _chunk(delta: dict, finish_reason: str | None = None, **extra: object) -> dict:
    return {
        "id": "chatcmpl-7",
        "object": "chat.completion.chunk",
        "created": 1764547200,
        "model": "Qwen/Qwen3-14B",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason, **extra}],
    }


USAGE = {"prompt_tokens": 31, "completion_tokens": len(TOKENS), "total_tokens": 31 + len(TOKENS)}


def vllm_chat_sse(tokens: list[str] = TOKENS) -> list[bytes]:
    """vLLM's OpenAI chat stream: a role-only first chunk, a chunk per token (the last with its
    finish_reason), the usage chunk with no choices, then `[DONE]` (entrypoints/openai chat serving)."""
    events = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": t}) for t in tokens[:-1]]
    events.append(_chunk({"content": tokens[-1]}, "stop", stop_reason=None))
    events.append({**_chunk({}), "choices": [], "usage": USAGE})
    return [f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]


def sglang_chat_sse(tokens: list[str] = TOKENS) -> list[bytes]:
    """SGLang's: every field present (nulls included), a finish chunk with an empty delta, usage, `[DONE]`."""

    def delta(role: str | None, content: str | None) -> dict:
        return {"role": role, "content": content, "reasoning_content": None, "tool_calls": None}

    events = [_chunk(delta("assistant", ""), matched_stop=None) | {"usage": None}]
    events += [_chunk(delta(None, t), matched_stop=None) | {"usage": None} for t in tokens]
    events.append(_chunk(delta(None, None), "stop", matched_stop=151645) | {"usage": None})
    events.append({**_chunk({}), "choices": [], "usage": USAGE})
    return [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]


def lmi_chat_jsonlines(tokens: list[str] = TOKENS) -> list[bytes]:
    """LMI's Messages API (vLLM async mode): vLLM's chunks without `data: `, one per line, and an
    empty line for `[DONE]` (djl_python lmi_vllm request_response_utils)."""
    return [line[len(b"data: ") : -1] for line in vllm_chat_sse(tokens)[:-1]] + [b"\n"]


FORMATS = {
    "tgi-sse": (tgi_sse, "text/event-stream"),
    "lmi-sse": (lmi_sse, "text/event-stream"),
    "lmi-json-document": (lmi_json_document, "application/json"),
    "lmi-jsonlines": (lmi_jsonlines, "application/jsonlines"),
    "lmi-outputs-jsonlines": (lmi_outputs_jsonlines, "application/jsonlines"),
    "vllm-chat-sse": (vllm_chat_sse, "text/event-stream"),
    "sglang-chat-sse": (sglang_chat_sse, "text/event-stream"),
    "lmi-chat-jsonlines": (lmi_chat_jsonlines, "application/jsonlines"),
}


# Images as the SageMaker SDK's registry names them (the client detects the engine from them).
TGI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.0.1-tgi1.0.3-gpu-py39-cu118-ubuntu20.04"
LMI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.25.0-deepspeed0.11.0-cu118"
VLLM_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm:0.29.0-transformers5.15.0-gpu-py312-cu130-ubuntu24.04-v1.0"
SGLANG_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-sglang:0.5.8-transformers4.57.3-gpu-py312-cu129-ubuntu24.04"
DEFAULT_IMAGE = TGI_IMAGE  # a loopback endpoint's unless it says otherwise


@dataclass(frozen=True)
class EngineSample:
    """An engine as the loopback serves it: its image, and the stream (a `FORMATS` key) that answers
    the client's request in the engine's own API."""

    image: str
    stream: str


# One per engine of streaming_client.engines.ENGINES (a test keeps the keys equal).
ENGINE_SAMPLES = {
    "tgi": EngineSample(TGI_IMAGE, "tgi-sse"),
    "lmi": EngineSample(LMI_IMAGE, "lmi-json-document"),  # LMI 0.25, the recipe's
    "vllm": EngineSample(VLLM_IMAGE, "vllm-chat-sse"),
    "sglang": EngineSample(SGLANG_IMAGE, "sglang-chat-sse"),
}


@dataclass(frozen=True)
class SampleDeployment:
    """A deployment of the app as the loopback's CloudFormation shows it (demo and tests)."""

    name: str  # its variants.<name> key (ServingVariant)
    engine: str  # ServingEngine


# One deployment per engine: the seed's two, named after their engines, and two named otherwise.
SAMPLE_DEPLOYMENTS = (
    SampleDeployment("tgi", "tgi"),
    SampleDeployment("lmi", "lmi"),
    SampleDeployment("qwen-vllm", "vllm"),
    SampleDeployment("qwen-sglang", "sglang"),
)
# Streams the demo shows besides the engines' own (endpoint name suffix -> stream, image).
EXTRA_DEMO_STREAMS = {"lmi-jsonlines": ("lmi-jsonlines", LMI_IMAGE)}  # LMI 0.26+
