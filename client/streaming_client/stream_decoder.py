"""Decoders of what the model servers stream (SPEC Part 2), fed arbitrary slices of bytes.

A response stream's `PayloadPart`s cut the server's output anywhere: inside a line, inside a JSON
string, inside an escape sequence or inside a multi-byte UTF-8 character. Each decoder keeps the
unfinished part between calls (an incremental UTF-8 decoder, the partial line, the partial escape),
so `feed` returns only finished text, and `close` flushes the last unterminated event. Every byte
is scanned a bounded number of times: decoding is linear in the stream's length.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from streaming_client.errors import StreamFailed


class StreamFormat(StrEnum):
    # TGI (all versions), LMI with TGI-compatible output, and the OpenAI chat API of vLLM and
    # SGLang (`chat.completion.chunk` events, then `[DONE]`): server-sent events.
    SSE = "sse"
    JSON_DOCUMENT = "json-document"  # LMI 0.25 rolling batch: {"generated_text": "..."} in fragments
    # LMI 0.26+: one JSON object per line (its chat API too: the chunks without `data: `).
    JSON_LINES = "jsonlines"


@dataclass(frozen=True)
class Piece:
    """Text ready to show, and how many generated tokens it stands for."""

    text: str
    tokens: int


def _utf8():
    return codecs.getincrementaldecoder("utf-8")(errors="replace")


_LINE_END = re.compile(r"[\r\n]")


class LineSplitter:
    """Reassembles lines across slices; `\\n`, `\\r\\n` and `\\r` end a line (as in SSE)."""

    def __init__(self) -> None:
        self._partial: list[str] = []
        self._after_cr = False

    def feed(self, text: str) -> list[str]:
        if not text:
            return []  # an empty part between "\r" and "\n" must not end the line twice
        lines: list[str] = []
        start = 1 if self._after_cr and text.startswith("\n") else 0
        self._after_cr = False
        end = len(text)
        while (match := _LINE_END.search(text, start)) is not None:
            pos = match.start()
            self._partial.append(text[start:pos])
            lines.append("".join(self._partial))
            self._partial = []
            start = pos + 1
            if text[pos] == "\r":
                if start == end:
                    self._after_cr = True  # a "\n" may open the next slice
                elif text[start] == "\n":
                    start += 1
        if start < end:
            self._partial.append(text[start:])
        return lines

    def close(self) -> str | None:
        """The unterminated last line, if any."""
        rest = "".join(self._partial)
        self._partial = []
        return rest or None


class _Decoder:
    """A failure found mid-part is kept in `error` after the text decoded before it is returned.

    The caller shows that text, then raises `error`; nothing after the failure is decoded.
    """

    format: StreamFormat

    def __init__(self) -> None:
        self.error: StreamFailed | None = None


class _LineDecoder(_Decoder):
    """Shared mechanics of the line-based formats: UTF-8, lines, flush at the end."""

    def __init__(self) -> None:
        super().__init__()
        self._utf8 = _utf8()
        self._lines = LineSplitter()
        self._seen_tokens = False

    def feed(self, data: bytes) -> list[Piece]:
        if self.error:
            return []
        return self._guarded(self._lines.feed(self._utf8.decode(data)), final=False)

    def close(self) -> list[Piece]:
        if self.error:
            return []
        lines = self._lines.feed(self._utf8.decode(b"", final=True))
        rest = self._lines.close()
        if rest is not None:
            lines.append(rest)
        return self._guarded(lines, final=True)

    def _guarded(self, lines: list[str], final: bool) -> list[Piece]:
        pieces: list[Piece] = []
        try:
            for line in lines:
                pieces += self._on_line(line)
                if self.error:
                    return pieces  # nothing after a failure is decoded
            if final:
                pieces += self._finish()
        except StreamFailed as failure:
            self.error = failure
        return pieces

    def _on_line(self, line: str) -> list[Piece]:
        raise NotImplementedError

    def _finish(self) -> list[Piece]:
        return []

    def _token_piece(self, event: dict) -> list[Piece]:
        """Text of one decoded event of the TGI or LMI token schema, or an OpenAI chat chunk (then its
        error, if any)."""
        pieces: list[Piece] = []
        token = event.get("token")
        outputs = event.get("outputs")
        choices = event.get("choices")
        if isinstance(choices, list):
            # A chat.completion.chunk: the first choice's delta content (the role-only first
            # chunk, the finish chunk and the usage chunk carry none). A chunk is one step of
            # the server's detokenizer: counted as one token.
            self._seen_tokens = True
            first = choices[0] if choices and isinstance(choices[0], dict) else {}
            delta = first.get("delta")
            content = _text(delta.get("content")) if isinstance(delta, dict) else ""
            if content:
                pieces.append(Piece(content, 1))
        elif isinstance(token, dict):
            self._seen_tokens = True
            if not token.get("special"):  # </s> and other control tokens are not text
                pieces.append(Piece(_text(token.get("text")), 1))
        elif isinstance(outputs, list):  # older LMI jsonlines
            self._seen_tokens = True
            pieces.append(Piece("".join(_text(o.get("text") if isinstance(o, dict) else o) for o in outputs), 1))
        elif isinstance(event.get("generated_text"), str) and not self._seen_tokens:
            # A whole answer in one event (no token events): show it once.
            pieces.append(Piece(event["generated_text"], 0))
        try:
            _raise_in_band_error(event)
        except StreamFailed as failure:
            self.error = failure
        return pieces


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _parse_event(text: str) -> dict | None:
    try:
        event = json.loads(text)
    except json.JSONDecodeError as error:
        raise StreamFailed(f"unreadable event in the stream ({error.msg}): {text[:80]!r}") from None
    return event if isinstance(event, dict) else None


def _raise_in_band_error(event: dict) -> None:
    raw_details = event.get("details")
    details: dict = raw_details if isinstance(raw_details, dict) else {}
    error = event.get("error")
    if isinstance(error, dict):  # the OpenAI API's {"error": {"message", "type", "code"}} (vLLM, SGLang)
        kind = error.get("type") or "error"
        code = f" {error['code']}" if error.get("code") is not None else ""
        raise StreamFailed(f"model server reported {kind}{code} mid-stream: {error.get('message') or 'no message'}")
    if error:
        kind = event.get("error_type") or "error"
        raise StreamFailed(f"model server reported {kind} mid-stream: {error}")
    if event.get("finish_reason") == "error" or details.get("finish_reason") == "error":
        raise StreamFailed("model server ended the generation with finish_reason=error")


class SseDecoder(_LineDecoder):
    """Server-sent events: `data:` lines joined until a blank line, each a JSON event."""

    format = StreamFormat.SSE

    def __init__(self) -> None:
        super().__init__()
        self._data: list[str] = []

    def _on_line(self, line: str) -> list[Piece]:
        if not line:
            return self._dispatch()
        if not line.startswith(":"):  # ":" starts a comment / keep-alive
            field, _, value = line.partition(":")
            if field == "data":
                self._data.append(value.removeprefix(" "))
        return []

    def _finish(self) -> list[Piece]:
        return self._dispatch()  # the last event may end without its blank line

    def _dispatch(self) -> list[Piece]:
        if not self._data:
            return []
        payload = "\n".join(self._data)
        self._data = []
        if payload.strip() in {"", "[DONE]"}:
            return []
        event = _parse_event(payload)
        return self._token_piece(event) if event is not None else []


class JsonLinesDecoder(_LineDecoder):
    """One JSON object per line (`token` or `outputs` shapes; a final `generated_text` is not repeated)."""

    format = StreamFormat.JSON_LINES

    def _on_line(self, line: str) -> list[Piece]:
        event = _parse_event(line) if line.strip() else None
        return self._token_piece(event) if event is not None else []


_JSON_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_STRING_STOP = re.compile(r'[\\"]')
_DOCUMENT_START = '{"generated_text":"'


class JsonDocumentDecoder(_Decoder):
    """LMI 0.25: the single document `{"generated_text": "..."}` streamed in fragments.

    The JSON string is unescaped incrementally: `\\n`, `\\"`, `\\\\`, `\\uXXXX` and surrogate
    pairs may be split across parts; a split escape is held until its end arrives. The format has
    no token events: each part that yields text counts as one token (LMI sends a part per token),
    so the count is an estimate (`tokens_exact = False`).
    """

    format = StreamFormat.JSON_DOCUMENT
    tokens_exact = False

    def __init__(self) -> None:
        super().__init__()
        self._utf8 = _utf8()
        self._state = "start"
        self._head = ""
        self._held = ""  # an escape sequence cut by the end of a part

    def feed(self, data: bytes) -> list[Piece]:
        return self._guarded(data, final=False)

    def close(self) -> list[Piece]:
        return self._guarded(b"", final=True)

    def _guarded(self, data: bytes, final: bool) -> list[Piece]:
        if self.error:
            return []
        self._out: list[str] = []  # decoded text, kept when an escape error ends the part
        try:
            self._consume(self._utf8.decode(data, final=final))
            if final:
                self._end()
        except StreamFailed as failure:
            self.error = failure
        text = "".join(self._out)
        return [Piece(text, 1)] if text else []

    def _end(self) -> None:
        if self._state == "start" and self._head.strip():
            raise StreamFailed(f"stream is not an LMI generated_text document: {self._head[:80]!r}")
        if self._state == "string":
            if self._held:
                self._out.append("\ufffd")  # the stream ended inside an escape
                self._held = ""
            raise StreamFailed("the generated_text document ended before its closing quote (stream cut short)")

    def _consume(self, text: str) -> None:
        """Append the text `text` decodes to to `self._out` (after the closing quote: nothing)."""
        if self._state == "start":
            self._head += text
            rest = self._after_document_start()
            if rest is None:
                return
            text = rest
        if self._state == "string":
            self._unescape(text)

    def _after_document_start(self) -> str | None:
        compact = "".join(self._head.split())
        if len(compact) < len(_DOCUMENT_START):
            if _DOCUMENT_START.startswith(compact):
                return None
        elif compact.startswith(_DOCUMENT_START):
            opening_quote = _nth(self._head, '"', 3)
            rest = self._head[opening_quote + 1 :]
            self._head = ""
            self._state = "string"
            return rest
        raise StreamFailed(f"stream is not an LMI generated_text document: {self._head[:80]!r}")

    def _unescape(self, text: str) -> None:
        if self._held:
            text = self._held + text
            self._held = ""
        out = self._out
        i, end = 0, len(text)
        while i < end:
            match = _STRING_STOP.search(text, i)
            if match is None:
                out.append(text[i:])
                break
            j = match.start()
            out.append(text[i:j])
            if text[j] == '"':
                self._state = "done"
                break
            i = self._escape(text, j, out)
            if i < 0:
                self._held = text[j:]
                break

    def _escape(self, text: str, j: int, out: list[str]) -> int:
        """Decode the escape at text[j] into `out`; return the next index, or -1 if it is cut."""
        end = len(text)
        if j + 1 >= end:
            return -1
        kind = text[j + 1]
        if kind != "u":
            out.append(_JSON_ESCAPES.get(kind, kind))
            return j + 2
        code = _hex4(text, j + 2)
        if code is None:
            if j + 6 > end:
                return -1
            raise StreamFailed(f"bad \\u escape in the stream: {text[j : j + 6]!r}")
        nxt = j + 6
        if 0xD800 <= code <= 0xDBFF:  # high surrogate: its low half follows as another \uXXXX
            rest = text[nxt : nxt + 6]
            if len(rest) < 6 and "\\u".startswith(rest[:2]):
                return -1
            low = _hex4(text, nxt + 2) if rest.startswith("\\u") else None
            if low is not None and 0xDC00 <= low <= 0xDFFF:
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                return nxt + 6
            out.append("\ufffd")
            return nxt
        out.append("\ufffd" if 0xDC00 <= code <= 0xDFFF else chr(code))
        return nxt


def _hex4(text: str, start: int) -> int | None:
    digits = text[start : start + 4]
    if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    return None


def _nth(text: str, char: str, n: int) -> int:
    index = -1
    for _ in range(n):
        index = text.index(char, index + 1)
    return index


_DECODERS = {cls.format: cls for cls in (SseDecoder, JsonDocumentDecoder, JsonLinesDecoder)}
_SSE_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")
_FIRST_KEY = re.compile(rb'\{\s*"([^"\\]*)"')
_SNIFF_LIMIT = 1024


def format_from_content_type(content_type: str | None) -> StreamFormat | None:
    """The format a content type names, or None when it does not say (e.g. application/json)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "text/event-stream":
        return StreamFormat.SSE
    if kind in {"application/jsonlines", "application/jsonl", "application/x-ndjson", "application/x-jsonlines"}:
        return StreamFormat.JSON_LINES
    return None


class AutoDecoder:
    """Picks the decoder from the content type, else from the first bytes, then delegates."""

    def __init__(self, content_type: str | None = None) -> None:
        chosen = format_from_content_type(content_type)
        self._decoder = _DECODERS[chosen]() if chosen else None
        self._sniffed = b""

    @property
    def format(self) -> StreamFormat | None:
        return self._decoder.format if self._decoder else None

    @property
    def error(self) -> StreamFailed | None:
        """A failure met after the text returned so far (raise it once that text is shown)."""
        return self._decoder.error if self._decoder else None

    @property
    def tokens_exact(self) -> bool:
        return getattr(self._decoder, "tokens_exact", True)

    def feed(self, data: bytes) -> list[Piece]:
        if self._decoder is not None:
            return self._decoder.feed(data)
        # Leading whitespace (and a UTF-8 BOM) says nothing: drop it as it comes, so sniffing
        # stays linear however long it lasts.
        self._sniffed = (self._sniffed + data).lstrip().removeprefix(b"\xef\xbb\xbf")
        chosen = _sniff(self._sniffed, final=False)
        if chosen is None:
            return []
        return self._start(chosen)

    def close(self) -> list[Piece]:
        if self._decoder is None:
            if not self._sniffed.strip():
                return []
            # A final sniff always names a format (JSON lines when nothing else fits).
            pieces = self._start(_sniff(self._sniffed, final=True) or StreamFormat.JSON_LINES)
            decoder = self._decoder
            assert decoder is not None  # _start set it
            return pieces + decoder.close()
        return self._decoder.close()

    def _start(self, chosen: StreamFormat) -> list[Piece]:
        self._decoder = _DECODERS[chosen]()
        data, self._sniffed = self._sniffed, b""
        return self._decoder.feed(data)


def _sniff(head: bytes, final: bool) -> StreamFormat | None:
    start = head
    if not start:
        return None if not final else StreamFormat.JSON_LINES
    if start.startswith(_SSE_STARTS):
        return StreamFormat.SSE
    if start[:1] == b"{":
        match = _FIRST_KEY.match(start)
        if match:
            return StreamFormat.JSON_DOCUMENT if match.group(1) == b"generated_text" else StreamFormat.JSON_LINES
        if final or len(start) > _SNIFF_LIMIT:
            return StreamFormat.JSON_LINES
        return None
    if any(prefix.startswith(start) for prefix in _SSE_STARTS) and not final:
        return None  # e.g. "da" of "data:"
    raise StreamFailed(f"unrecognized stream format, starting with {start[:40]!r}")
