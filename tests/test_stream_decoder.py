"""Every stream format of SPEC Part 2, cut at every byte boundary, with multi-byte text."""

from __future__ import annotations

import json

import pytest

from streaming_client.errors import StreamFailed
from streaming_client.stream_decoder import AutoDecoder, JsonDocumentDecoder, LineSplitter, SseDecoder, StreamFormat
from tools.loopback.samples import FORMATS, TEXT, TOKENS, lmi_json_document, lmi_jsonlines, tgi_sse

EXPECTED_FORMAT = {
    "tgi-sse": StreamFormat.SSE,
    "lmi-sse": StreamFormat.SSE,
    "lmi-json-document": StreamFormat.JSON_DOCUMENT,
    "lmi-jsonlines": StreamFormat.JSON_LINES,
    "lmi-outputs-jsonlines": StreamFormat.JSON_LINES,
    "vllm-chat-sse": StreamFormat.SSE,
    "sglang-chat-sse": StreamFormat.SSE,
    "lmi-chat-jsonlines": StreamFormat.JSON_LINES,
}


def decode(parts: list[bytes], content_type: str | None) -> tuple[str, int, AutoDecoder]:
    decoder = AutoDecoder(content_type)
    pieces = [p for part in parts for p in decoder.feed(part)] + decoder.close()
    if decoder.error:
        raise decoder.error
    return "".join(p.text for p in pieces), sum(p.tokens for p in pieces), decoder


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("use_content_type", [True, False], ids=["content-type", "sniffed"])
def test_each_format_decodes_to_the_text(name, use_content_type):
    build, content_type = FORMATS[name]
    text, tokens, decoder = decode(build(), content_type if use_content_type else None)
    assert text == TEXT
    assert tokens == len(TOKENS)
    assert decoder.format == EXPECTED_FORMAT[name]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_byte_boundary_gives_the_same_text(name):
    build, content_type = FORMATS[name]
    stream = b"".join(build())
    for cut in range(1, len(stream)):
        text, _, _ = decode([stream[:cut], stream[cut:]], None)
        assert text == TEXT, f"cut at byte {cut}"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_one_byte_per_part_gives_the_same_text(name):
    build, content_type = FORMATS[name]
    stream = b"".join(build())
    text, _, _ = decode([stream[i : i + 1] for i in range(len(stream))], content_type)
    assert text == TEXT


def test_json_document_with_raw_utf8_and_every_escape():
    tokens = ["tab\there", " nl\n", ' q"', " bs\\", " sl/", " ctl\b\f\r", " 中文", " 😀"]
    stream = b"".join(lmi_json_document(tokens, ensure_ascii=False))
    for cut in range(1, len(stream)):
        decoder = JsonDocumentDecoder()
        pieces = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) + decoder.close()
        assert "".join(p.text for p in pieces) == "".join(tokens), cut


def test_json_document_surrogate_pair_split_inside_either_half():
    stream = b'{"generated_text": "a\\ud83d\\ude00b"}'
    for cut in range(1, len(stream)):
        decoder = JsonDocumentDecoder()
        text = "".join(p.text for p in decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) + decoder.close())
        assert text == "a😀b", cut


def test_json_document_lone_surrogate_becomes_replacement_character():
    decoder = JsonDocumentDecoder()
    pieces = decoder.feed(b'{"generated_text": "x\\ud83dy"}') + decoder.close()
    assert "".join(p.text for p in pieces) == "x\ufffdy"


def test_json_document_ignores_what_follows_the_string():
    decoder = JsonDocumentDecoder()
    pieces = decoder.feed(b'{"generated_text": "done", "details": {"x": "\\"y"}}') + decoder.close()
    assert "".join(p.text for p in pieces) == "done"


def test_tgi_special_token_is_not_printed():
    text, tokens, _ = decode(tgi_sse(["Hi", "!"]), "text/event-stream")
    assert text == "Hi!"
    assert "</s>" not in text
    assert tokens == 2


def test_tgi_in_band_error_comes_after_the_text_before_it_in_the_same_part():
    decoder = SseDecoder()
    error = b'data:{"error": "Request failed during generation: CUDA out of memory", "error_type": "generation"}\n\n'
    pieces = decoder.feed(b"".join(tgi_sse(["Hello", " world"])[:2]) + error + b"".join(tgi_sse(["never"])[:1]))
    assert "".join(p.text for p in pieces) == "Hello world"
    assert "generation mid-stream: Request failed during generation: CUDA out of memory" in str(decoder.error)
    assert decoder.feed(b"".join(tgi_sse(["more"]))) == [] and decoder.close() == []


def test_jsonlines_final_generated_text_is_not_repeated():
    text, _, _ = decode(lmi_jsonlines(["a", "b"]), "application/jsonlines")
    assert text == "ab"


def test_jsonlines_error_line_keeps_its_own_token_text():
    decoder = AutoDecoder("application/jsonlines")
    pieces = decoder.feed(b'{"token": {"id": 1, "text": "x"}}\n{"token": {"id": 2, "text": "y"}, "details": {"finish_reason": "error"}}\n')
    assert "".join(p.text for p in pieces) == "xy"
    assert "finish_reason=error" in str(decoder.error)


def test_empty_data_event_and_null_fields_are_skipped():
    stream = b'data:\n\ndata: \n\ndata:{"token": {"text": null, "special": false}, "error": null}\n\ndata:{"generated_text": null, "details": {}}\n\n'
    stream += b'data:{"token": {"text": "ok", "special": false}}\n\n'
    text, _, _ = decode([stream], "text/event-stream")
    assert text == "ok"


def test_empty_part_between_cr_and_lf_does_not_split_an_event():
    parts = [b'data: {"token":\r', b"", b'\ndata: {"text": "x", "special": false}}\r\n\r\n']
    text, _, _ = decode(parts, "text/event-stream")
    assert text == "x"


def test_outputs_of_text_objects():
    text, _, _ = decode([b'{"outputs": [{"text": "a"}]}\n{"outputs": ["b"]}\n'], "application/jsonlines")
    assert text == "ab"


def test_truncated_json_document_is_a_stream_failure_after_its_text():
    decoder = AutoDecoder(None)
    pieces = decoder.feed(b'{"generated_text": "ab') + decoder.close()
    assert "".join(p.text for p in pieces) == "ab"
    assert "ended before its closing quote" in str(decoder.error)
    assert decoder.tokens_exact is False


def test_leading_whitespace_and_bom_before_sniffing():
    text, _, decoder = decode([b"\xef\xbb\xbf", b"  \n", b"\n" * 5000, b"".join(tgi_sse(["a"]))], None)
    assert (text, decoder.format) == ("a", StreamFormat.SSE)


def test_final_event_without_terminator_is_flushed_at_end_of_stream():
    for content_type, stream in (
        ("text/event-stream", b'data:{"token": {"text": "last", "special": false}}'),
        ("application/jsonlines", b'{"token": {"text": "last"}}'),
    ):
        text, _, _ = decode([stream], content_type)
        assert text == "last"


def test_sse_comments_other_fields_and_multiline_data():
    stream = b': keep-alive\nevent: message\nid: 7\ndata: {"token":\ndata: {"text": "x", "special": false}}\n\n'
    text, _, _ = decode([stream], "text/event-stream")
    assert text == "x"


def test_sse_data_value_keeps_its_text_beyond_one_leading_space():
    # Prefix removal, not character stripping: a token of spaces and "data" letters survives.
    event = {"token": {"text": "  data: ada", "special": False}}
    text, _, _ = decode([f"data:  {json.dumps(event)}\n\n".encode()], "text/event-stream")
    assert text == "  data: ada"


def test_line_splitter_handles_crlf_split_between_slices():
    splitter = LineSplitter()
    assert splitter.feed("a\r") == ["a"]
    assert splitter.feed("\nb\r\n\rc") == ["b", ""]
    assert splitter.close() == "c"


def test_unrecognized_stream_is_a_stream_failure():
    with pytest.raises(StreamFailed, match="unrecognized stream format"):
        AutoDecoder(None).feed(b"<html>502 Bad Gateway</html>")


def test_truncated_multibyte_character_at_end_becomes_replacement():
    stream = b'data:{"token": {"text": "ok", "special": false}}\n\n' + "😀".encode()[:2]
    text, _, _ = decode([stream], "text/event-stream")
    assert text == "ok"


# The OpenAI chat API (vLLM, SGLang, LMI's Messages API): chat.completion.chunk events.

VLLM_ERROR = {"error": {"message": "Request exceeds max_model_len", "type": "BadRequestError", "param": None, "code": 400}}
SGLANG_ERROR = {"error": {"object": "error", "message": "out of KV cache", "type": "InternalServerError", "param": None, "code": 500}}


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (VLLM_ERROR, "model server reported BadRequestError 400 mid-stream: Request exceeds max_model_len"),
        (SGLANG_ERROR, "model server reported InternalServerError 500 mid-stream: out of KV cache"),
        ({"error": {"code": None}}, "model server reported error mid-stream: no message"),
    ],
)
def test_chat_error_event_comes_after_the_text_before_it_and_ends_the_stream(error, message):
    from tools.loopback.samples import vllm_chat_sse

    decoder = SseDecoder()
    before = b"".join(vllm_chat_sse(["Hello", " world"])[:3])  # the role chunk and two tokens
    pieces = decoder.feed(before + f"data: {json.dumps(error)}\n\n".encode() + b"data: [DONE]\n\n")
    assert "".join(p.text for p in pieces) == "Hello world"
    assert str(decoder.error) == message
    assert decoder.feed(b"".join(vllm_chat_sse(["more"]))) == [] and decoder.close() == []


def test_chat_error_line_in_lmi_jsonlines_ends_the_stream():
    from tools.loopback.samples import lmi_chat_jsonlines

    lines = lmi_chat_jsonlines(["Hi", "!"])[:3] + [json.dumps(VLLM_ERROR).encode() + b"\n"] + lmi_chat_jsonlines(["never"])[1:2]
    decoder = AutoDecoder("application/jsonlines")
    pieces = [p for line in lines for p in decoder.feed(line)] + decoder.close()
    assert "".join(p.text for p in pieces) == "Hi!"
    assert str(decoder.error) == "model server reported BadRequestError 400 mid-stream: Request exceeds max_model_len"


@pytest.mark.parametrize(
    "choices",
    [
        [],  # the usage chunk
        [{"index": 0, "delta": {"role": "assistant", "content": ""}}],  # the role chunk
        [{"index": 0, "delta": {"content": None}, "finish_reason": "stop"}],  # SGLang's finish chunk
        [{"index": 0, "delta": {"reasoning_content": "let me think"}}],  # thinking is not the answer
        [{"index": 0, "delta": None}],
        [{"index": 0}],
        ["not an object"],
    ],
)
def test_chat_chunks_without_content_add_no_text_and_no_token(choices):
    event = {"object": "chat.completion.chunk", "choices": choices}
    text, tokens, decoder = decode([f"data: {json.dumps(event)}\n\n".encode()], "text/event-stream")
    assert (text, tokens, decoder.error) == ("", 0, None)


def test_chat_content_of_the_first_choice_only_counts_as_one_token_per_chunk():
    event = {"choices": [{"index": 0, "delta": {"content": "two words"}}, {"index": 1, "delta": {"content": "other"}}]}
    text, tokens, _ = decode([f"data: {json.dumps(event)}\n\n".encode()], "text/event-stream")
    assert (text, tokens) == ("two words", 1)


def test_chat_stream_after_a_whole_answer_event_is_not_repeated():
    # A generated_text event after chat chunks (a server that sends both) is not shown twice.
    from tools.loopback.samples import vllm_chat_sse

    whole = b'data: {"generated_text": "Hi"}\n\n'
    text, _, _ = decode(vllm_chat_sse(["H", "i"])[:3] + [whole], "text/event-stream")
    assert text == "Hi"
