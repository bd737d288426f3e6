"""Properties of the stream decoders: any token texts, any cuts of the stream, the same text out.

Hypothesis draws the token texts (any Unicode, with the characters JSON escapes and the line ends
SSE splits on) and where the stream is cut into parts; each example checks every format.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming_client.errors import StreamFailed
from streaming_client.stream_decoder import (
    AutoDecoder,
    JsonDocumentDecoder,
    JsonLinesDecoder,
    LineSplitter,
    Piece,
    SseDecoder,
    StreamFormat,
    format_from_content_type,
)
from tests.test_stream_decoder import EXPECTED_FORMAT
from tools.loopback.samples import (
    FORMATS,
    TEXT,
    TOKENS,
    lmi_chat_jsonlines,
    lmi_json_document,
    lmi_jsonlines,
    lmi_outputs_jsonlines,
    lmi_sse,
    sglang_chat_sse,
    tgi_sse,
    vllm_chat_sse,
)

# Deterministic and bounded: the mutation benchmark reruns these files for every mutant.
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])

BUILDERS = {
    "tgi-sse": tgi_sse,
    "lmi-sse": lmi_sse,
    "lmi-jsonlines": lmi_jsonlines,
    "lmi-outputs-jsonlines": lmi_outputs_jsonlines,
    "vllm-chat-sse": vllm_chat_sse,
    "sglang-chat-sse": sglang_chat_sse,
    "lmi-chat-jsonlines": lmi_chat_jsonlines,
}

# Token texts: JSON's escaped characters, line ends, multi-byte and astral characters among any text.
token_text = st.text(
    alphabet=st.one_of(st.sampled_from('"\\/\b\f\n\r\t\x00\x1f é中😀\u2028'), st.characters(exclude_categories=("Cs",))),
    min_size=1,
    max_size=6,
)
tokens_strategy = st.lists(token_text, min_size=1, max_size=8)


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def run(decoder, parts: list[bytes]) -> tuple[str, list[Piece]]:
    pieces = [p for part in parts for p in decoder.feed(part)] + decoder.close()
    if decoder.error:
        raise decoder.error
    return "".join(p.text for p in pieces), pieces


@pytest.mark.parametrize("name", sorted(FORMATS))
@PROPERTY
@given(cuts=st.lists(st.integers(min_value=0), max_size=12), use_content_type=st.booleans())
def test_every_split_of_every_format_gives_the_text_and_token_count(name, cuts, use_content_type):
    build, content_type = FORMATS[name]
    decoder = AutoDecoder(content_type if use_content_type else None)
    text, pieces = run(decoder, split(b"".join(build()), cuts))
    assert text == TEXT
    assert decoder.format == EXPECTED_FORMAT[name]
    if name != "lmi-json-document":  # the document format estimates its count (one per part)
        assert sum(p.tokens for p in pieces) == len(TOKENS)
        assert decoder.tokens_exact is True


@pytest.mark.parametrize("name", sorted(BUILDERS))
@PROPERTY
@given(tokens=tokens_strategy, cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_any_tokens_cut_anywhere_decode_to_their_text_in_the_token_formats(name, tokens, cuts):
    build, content_type = FORMATS[name]
    for chosen in (content_type, None):
        decoder = AutoDecoder(chosen)
        text, pieces = run(decoder, split(b"".join(BUILDERS[name](tokens)), cuts))
        assert text == "".join(tokens)
        assert sum(p.tokens for p in pieces) == len(tokens)
        assert decoder.format == EXPECTED_FORMAT[name]


@PROPERTY
@given(tokens=tokens_strategy, ensure_ascii=st.booleans(), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_any_text_cut_anywhere_decodes_from_the_json_document(tokens, ensure_ascii, cuts):
    stream = b"".join(lmi_json_document(tokens, ensure_ascii=ensure_ascii))
    for decoder in (AutoDecoder(None), JsonDocumentDecoder()):
        text, pieces = run(decoder, split(stream, cuts))
        assert text == "".join(tokens)
        assert all(p.tokens == 1 and p.text for p in pieces)  # one estimated token per part that has text
    assert decoder.format == StreamFormat.JSON_DOCUMENT


@PROPERTY
@given(text=st.text(alphabet=st.sampled_from("ab\r\n"), max_size=30), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_line_splitter_ends_lines_at_lf_crlf_and_cr_wherever_the_text_is_cut(text, cuts):
    splitter = LineSplitter()
    lines: list[str] = []
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        lines += splitter.feed(text[a:b])
    rest = splitter.close()
    # The reference: \r\n, \r and \n each end one line; what follows the last end is the rest.
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    *expected, tail = normalized.split("\n")
    assert lines == expected
    assert rest == (tail or None)
    assert splitter.close() is None  # the rest is handed out once


SURROGATE_EDGES = [0xD7FF, 0xD800, 0xD801, 0xDBFF, 0xDC00, 0xDC01, 0xDFFE, 0xDFFF, 0xE000, 0x0000, 0xFFFF]


@PROPERTY
@given(code=st.sampled_from(SURROGATE_EDGES) | st.integers(min_value=0, max_value=0xFFFF), cut=st.integers(min_value=1, max_value=30))
def test_json_document_unicode_escapes_of_any_code_unit(code, cut):
    stream = b'{"generated_text": "<\\u' + f"{code:04x}".encode() + b'>"}'
    decoder = JsonDocumentDecoder()
    text, _ = run(decoder, [stream[:cut], stream[cut:]])
    expected = "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    assert text == f"<{expected}>"


@pytest.mark.parametrize(
    ("escape", "char"),
    [("\\n", "\n"), ('\\"', '"'), ("\\\\", "\\"), ("\\/", "/"), ("\\b", "\b"), ("\\f", "\f"), ("\\r", "\r"), ("\\t", "\t")],
)
def test_json_document_short_escapes(escape, char):
    stream = ('{"generated_text": "a' + escape + 'b"}').encode()
    for cut in range(1, len(stream)):
        text, _ = run(JsonDocumentDecoder(), [stream[:cut], stream[cut:]])
        assert text == f"a{char}b", cut


def test_json_document_upper_case_hex_and_surrogate_pairs():
    text, _ = run(JsonDocumentDecoder(), [b'{"generated_text": "\\u00E9\\uD83D\\uDE00\\uDBFF\\uDFFF"}'])
    assert text == "é😀\U0010ffff"


def test_json_document_high_surrogate_followed_by_something_else():
    # Not a low surrogate after the high one: a replacement, and what follows is kept.
    for body, expected in (
        (b"\\ud83d\\u0041", "\ufffdA"),
        (b"\\ud83dx", "\ufffdx"),
        (b"\\ud83d\\n", "\ufffd\n"),
        (b"\\udbff\\udc00", "\U0010fc00"),
        (b"\\ud800\\udfff", "\U000103ff"),
        (b"\\ud800\\ue000", "\ufffd\ue000"),
        (b"\\ud7ff", "\ud7ff"),
        (b"\\udc00\\udc00", "\ufffd\ufffd"),  # two low halves are not a pair
        (b"\\udfff\\ud83d\\ude00", "\ufffd\U0001f600"),
        (b"\\ud83dabdc00", "\ufffdabdc00"),  # hex digits that do not follow a \\u are text
    ):
        stream = b'{"generated_text": "' + body + b'"}'
        for cut in range(1, len(stream)):
            text, _ = run(JsonDocumentDecoder(), [stream[:cut], stream[cut:]])
            assert text == expected, (body, cut)


def test_json_document_text_is_returned_as_soon_as_its_escape_is_complete():
    decoder = JsonDocumentDecoder()
    assert [p.text for p in decoder.feed(b'{"generated_text": "a\\n')] == ["a\n"]
    assert [p.text for p in decoder.feed(b"b\\")] == ["b"]  # the backslash waits for its escape
    assert [p.text for p in decoder.feed(b't\\u00e9"}')] == ["\té"]
    assert decoder.close() == [] and decoder.error is None


def test_json_document_unknown_escape_keeps_its_character():
    text, _ = run(JsonDocumentDecoder(), [b'{"generated_text": "a\\qb\\\'c"}'])
    assert text == "aqb'c"


def test_json_document_bad_unicode_escape_fails_as_soon_as_it_is_complete():
    for bad in (b"\\u12x4", b"\\uXX12", b"\\u-123", b"\\u 123"):
        decoder = JsonDocumentDecoder()
        assert [p.text for p in decoder.feed(b'{"generated_text": "ok' + bad)] == ["ok"]
        assert isinstance(decoder.error, StreamFailed), bad
        assert str(decoder.error).endswith(repr(bad.decode())), str(decoder.error)
    decoder = JsonDocumentDecoder()
    decoder.feed(b'{"generated_text": "\\u12x4 more"}')
    assert str(decoder.error) == "bad \\u escape in the stream: '\\\\u12x4'"


def test_json_document_bad_unicode_escape_fails_after_the_text_before_it():
    decoder = JsonDocumentDecoder()
    pieces = decoder.feed(b'{"generated_text": "ok\\u12x4 more"}')
    assert [p.text for p in pieces] == ["ok"]
    assert isinstance(decoder.error, StreamFailed)
    assert "\\u12x4" in str(decoder.error)
    assert decoder.feed(b"more") == [] and decoder.close() == []


def test_json_document_cut_inside_an_escape_at_the_end_is_a_failure_with_a_replacement():
    for tail in (b"\\", b"\\u00", b"\\ud83d", b"\\ud83d\\u"):
        decoder = JsonDocumentDecoder()
        pieces = decoder.feed(b'{"generated_text": "ab' + tail) + decoder.close()
        assert "".join(p.text for p in pieces) == "ab\ufffd", tail
        assert "closing quote" in str(decoder.error)


def test_json_document_whitespace_in_the_head_is_allowed_and_other_heads_fail():
    for head in (b'{"generated_text":"', b' { "generated_text" :\n "', b'{\n  "generated_text": "'):
        text, _ = run(JsonDocumentDecoder(), [head + b'x"}'])
        assert text == "x", head
    for bad in (b'{"text": "x"}', b'["x"]', b'{"generated_text": 5}'):
        decoder = JsonDocumentDecoder()
        assert decoder.feed(bad) + decoder.close() == []
        assert "not an LMI generated_text document" in str(decoder.error), bad


def test_json_document_incomplete_head_at_the_end_fails_and_empty_stream_does_not():
    decoder = JsonDocumentDecoder()
    assert decoder.feed(b'{"generated') == []
    assert decoder.error is None
    assert decoder.close() == []
    assert "not an LMI generated_text document" in str(decoder.error)
    assert "generated" in str(decoder.error)
    long_head = b'{"text": "' + b"x" * 100
    decoder = JsonDocumentDecoder()
    decoder.feed(long_head)
    assert str(decoder.error).endswith(repr(long_head.decode()[:80]))  # the head, shortened
    blank = JsonDocumentDecoder()
    assert blank.feed(b" \n") + blank.close() == []
    assert blank.error is None


def test_json_document_head_alone_then_the_end_is_a_cut_document():
    decoder = JsonDocumentDecoder()
    assert decoder.feed(b'{"generated_text":"') == []
    assert decoder.close() == []
    assert "ended before its closing quote" in str(decoder.error)


def test_json_document_long_incomplete_head_is_named_shortened():
    head = b"{" + b" " * 100 + b'"gen'
    decoder = JsonDocumentDecoder()
    assert decoder.feed(head) == []
    decoder.close()
    assert str(decoder.error) == f"stream is not an LMI generated_text document: {head.decode()[:80]!r}"


def test_json_document_cut_multibyte_character_at_the_end_becomes_a_replacement():
    decoder = JsonDocumentDecoder()
    pieces = decoder.feed(b'{"generated_text": "a' + "\u00e9".encode()[:1]) + decoder.close()
    assert "".join(p.text for p in pieces) == "a\ufffd"
    assert "closing quote" in str(decoder.error)


def test_json_document_empty_text_gives_no_piece():
    decoder = JsonDocumentDecoder()
    assert decoder.feed(b'{"generated_text": "') == []
    assert decoder.feed(b'"}') == []
    assert decoder.close() == []
    assert decoder.error is None


def test_sse_ignores_other_fields_comments_and_done():
    stream = (
        b'event: x\nid: 1\nretry: 10\n: comment\ndata:{"token": {"text": "a", "special": false}}\n\n'
        b'datax: {"token": {"text": "NO"}}\n\n'
        b"data: [DONE]\n\n"
        b"data:   \n\n"
        b"data: 5\n\n"
        b'data:{"token": {"text": "b"}}\n\n'
    )
    text, pieces = run(SseDecoder(), [stream])
    assert text == "ab"
    assert [p.tokens for p in pieces] == [1, 1]


def test_sse_joins_data_lines_with_newlines():
    # The two data lines form one JSON text only when joined by a newline (a string cannot hold one).
    text, _ = run(SseDecoder(), [b'data: {"token": {"text": "a",\ndata: "special": false}}\n\n'])
    assert text == "a"
    decoder = SseDecoder()
    decoder.feed(b'data: "a\ndata: b"\n\n')
    assert "unreadable event" in str(decoder.error)


def test_unreadable_event_is_a_failure_naming_the_event():
    for decoder, stream in ((SseDecoder(), b"data: {nope\n\n"), (JsonLinesDecoder(), b'{"token": \n')):
        assert decoder.feed(stream) + decoder.close() == []
        assert "unreadable event" in str(decoder.error)
        assert "nope" in str(decoder.error) or "token" in str(decoder.error)


def test_in_band_errors_with_and_without_a_type():
    for event, expected in (
        ({"error": "boom", "error_type": "validation"}, "model server reported validation mid-stream: boom"),
        ({"error": "boom"}, "model server reported error mid-stream: boom"),
        ({"error": "boom", "error_type": None}, "model server reported error mid-stream: boom"),
        ({"finish_reason": "error"}, "finish_reason=error"),
        ({"details": {"finish_reason": "error"}}, "finish_reason=error"),
    ):
        decoder = JsonLinesDecoder()
        lines = b'{"token": {"text": "a"}}\n' + json.dumps({"token": {"text": "b"}, **event}).encode() + b'\n{"token": {"text": "c"}}\n'
        pieces = decoder.feed(lines) + decoder.close()
        assert "".join(p.text for p in pieces) == "ab", event
        assert expected in str(decoder.error), event


def test_events_that_are_not_errors():
    stream = (
        b'{"token": {"text": "a"}, "error": "", "finish_reason": "length", "details": {"finish_reason": "eos_token"}}\n'
        b'{"token": {"text": "b"}, "details": "error"}\n'
        b'{"token": {"text": "c"}, "details": null, "error": null}\n'
    )
    text, _ = run(JsonLinesDecoder(), [stream])
    assert text == "abc"


def test_special_tokens_missing_texts_and_non_objects():
    stream = (
        b'{"token": {"text": "<s>", "special": true}}\n'
        b'{"token": {"text": 7}}\n'
        b'{"token": {}}\n'
        b'{"outputs": [{"text": "a"}, "b", 3, {"text": null}]}\n'
        b"[1, 2]\n"
        b'"just a string"\n'
        b"   \n"
        b'{"other": 1}\n'
        b'{"token": "not an object", "generated_text": "G"}\n'
    )
    decoder = JsonLinesDecoder()
    text, pieces = run(decoder, [stream])
    # A token without text still counts; generated_text after token events is not repeated.
    assert text == "ab"
    assert [(p.text, p.tokens) for p in pieces] == [("", 1), ("", 1), ("ab", 1)]


def test_generated_text_alone_is_shown_once_and_not_after_tokens():
    text, pieces = run(JsonLinesDecoder(), [b'{"generated_text": "whole answer"}\n'])
    assert (text, [p.tokens for p in pieces]) == ("whole answer", [0])
    text, _ = run(JsonLinesDecoder(), [b'{"outputs": ["a"]}\n{"generated_text": "a"}\n'])
    assert text == "a"
    text, _ = run(SseDecoder(), [b'data: {"token": {"text": "a", "special": true}}\n\ndata: {"generated_text": "a"}\n\n'])
    assert text == ""


def test_nothing_is_decoded_after_a_failure_in_the_same_part():
    decoder = JsonLinesDecoder()
    pieces = decoder.feed(b'{"token": {"text": "a"}}\n{bad\n{"token": {"text": "b"}}\n')
    assert [p.text for p in pieces] == ["a"]
    assert decoder.feed(b'{"token": {"text": "c"}}\n') == []
    assert decoder.close() == []
    sse = SseDecoder()
    assert sse.feed(b'data: {"error": "x"}\n\ndata: {"token": {"text": "b"}}\n\n') == []
    assert "mid-stream: x" in str(sse.error)


def test_content_types():
    assert format_from_content_type("text/event-stream") == StreamFormat.SSE
    assert format_from_content_type(" Text/Event-Stream ; charset=utf-8") == StreamFormat.SSE
    for kind in (
        "application/jsonlines",
        "application/jsonl",
        "application/x-ndjson",
        "application/x-jsonlines",
        "APPLICATION/JSONLINES; x=y",
    ):
        assert format_from_content_type(kind) == StreamFormat.JSON_LINES, kind
    for kind in (None, "", "application/json", "text/plain", "application/json; jsonlines"):
        assert format_from_content_type(kind) is None, kind


def test_auto_decoder_properties_before_and_after_choosing():
    decoder = AutoDecoder(None)
    assert (decoder.format, decoder.error, decoder.tokens_exact) == (None, None, True)
    assert decoder.feed(b"da") == []  # could still be "data:"
    assert decoder.format is None
    decoder.feed(b'ta: {"token": {"text": "x"}}\n\n')
    assert decoder.format == StreamFormat.SSE
    chosen = AutoDecoder("application/x-ndjson")
    assert chosen.format == StreamFormat.JSON_LINES and chosen.tokens_exact is True


def test_sniffing_each_format_from_its_first_bytes():
    for head, expected in (
        (b"data:", StreamFormat.SSE),
        (b"event: x\n", StreamFormat.SSE),
        (b"id: 1\n", StreamFormat.SSE),
        (b"retry: 5\n", StreamFormat.SSE),
        (b": hi\n", StreamFormat.SSE),
        (b'{"generated_text": ', StreamFormat.JSON_DOCUMENT),
        (b'{ \n "generated_text"', StreamFormat.JSON_DOCUMENT),
        (b'{"token": {', StreamFormat.JSON_LINES),
        (b'{"generated_textual": 1', StreamFormat.JSON_LINES),
    ):
        decoder = AutoDecoder(None)
        decoder.feed(head)
        assert decoder.format == expected, head


def test_an_object_without_a_readable_first_key_waits_up_to_the_sniff_limit():
    decoder = AutoDecoder(None)
    assert decoder.feed(b"{" + b" " * 1023) == []
    assert decoder.format is None
    decoder.feed(b" ")
    assert decoder.format == StreamFormat.JSON_LINES
    closing = AutoDecoder(None)
    assert closing.feed(b"{") == []
    assert closing.close() == []
    assert closing.format == StreamFormat.JSON_LINES
    assert "unreadable event" in str(closing.error)


def test_end_of_stream_while_sniffing():
    empty = AutoDecoder(None)
    assert empty.feed(b"  \xef\xbb\xbf") == [] and empty.close() == []
    assert empty.format is None and empty.error is None
    partial = AutoDecoder(None)
    partial.feed(b"dat")
    with pytest.raises(StreamFailed, match="unrecognized stream format, starting with b'dat'"):
        partial.close()
    lone = AutoDecoder(None)
    lone.feed(b'{"token": {"text": "z"}}')
    assert lone.format == StreamFormat.JSON_LINES
    assert [p.text for p in lone.close()] == ["z"]


def test_unrecognized_start_is_named_in_the_failure():
    with pytest.raises(StreamFailed, match=r"starting with b'<html>") as failure:
        AutoDecoder(None).feed(b"  <html>" + b"x" * 100)
    assert len(str(failure.value)) < 100  # the head is shortened
    with pytest.raises(StreamFailed):
        AutoDecoder(None).feed(b"dx")
