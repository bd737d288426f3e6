"""What each model server streams (SPEC Part 2), built from a list of token texts."""

from __future__ import annotations

import json

TOKENS = ["Subject", ":", " AnyCloud", " 启动", " 🚀", ' "quoted"', " back\\slash", "\n\nDear", " Alice", " — café", " 😀👍🏽", "."]
TEXT = "".join(TOKENS)


def tgi_sse(tokens: list[str] = TOKENS) -> list[bytes]:
    """TGI: one `data:` event per token; the last token is special and carries generated_text."""
    events = [
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
    lines = [{"token": {"id": i, "text": t, "log_prob": -0.3}} for i, t in enumerate(tokens)]
    lines[-1] |= {"generated_text": "".join(tokens), "details": {"finish_reason": "eos_token"}}
    return [(json.dumps(line, ensure_ascii=False) + "\n").encode() for line in lines]


def lmi_outputs_jsonlines(tokens: list[str] = TOKENS) -> list[bytes]:
    """Older LMI jsonlines: `{"outputs": ["..."]}` per line."""
    return [(json.dumps({"outputs": [t]}) + "\n").encode() for t in tokens]


FORMATS = {
    "tgi-sse": (tgi_sse, "text/event-stream"),
    "lmi-sse": (lmi_sse, "text/event-stream"),
    "lmi-json-document": (lmi_json_document, "application/json"),
    "lmi-jsonlines": (lmi_jsonlines, "application/jsonlines"),
    "lmi-outputs-jsonlines": (lmi_outputs_jsonlines, "application/jsonlines"),
}
