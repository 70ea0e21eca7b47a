from __future__ import annotations

import pytest

from ragkit.llm.events import StreamEvent, ThinkParser


def run(chunks: list[str], start_in_think: bool = False) -> tuple[str, str]:
    parser = ThinkParser(start_in_think=start_in_think)
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.flush())
    reasoning = "".join(e.chunk for e in events if e.type == "reasoning")
    text = "".join(e.chunk for e in events if e.type == "text")
    return reasoning, text


def split_every(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


R1_STREAM = (
    "<think>\nThe user asks about zlib. Source 1 says inflate() returns Z_STREAM_END.\n</think>\n\n"
    "Inflate returns Z_STREAM_END [1]."
)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 1000])
def test_tags_split_across_chunks(size: int) -> None:
    reasoning, text = run(split_every(R1_STREAM, size))
    assert reasoning.strip() == "The user asks about zlib. Source 1 says inflate() returns Z_STREAM_END."
    assert text == "Inflate returns Z_STREAM_END [1]."


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_template_opened_the_block(size: int) -> None:
    stream = R1_STREAM.removeprefix("<think>")
    reasoning, text = run(split_every(stream, size), start_in_think=True)
    assert "Z_STREAM_END." in reasoning
    assert text == "Inflate returns Z_STREAM_END [1]."


def test_missing_opening_tag_without_hint_drops_stray_close_tag() -> None:
    reasoning, text = run(["thinking hard", "</thi", "nk>The answer."])
    assert "</think>" not in text
    assert text.endswith("The answer.")
    assert reasoning == ""


def test_no_tags_is_all_text() -> None:
    assert run(["Plain ", "answer <b>bold</b>."]) == ("", "Plain answer <b>bold</b>.")


def test_angle_bracket_that_is_not_a_tag_is_kept() -> None:
    assert run(["a <", "thin", "g> b"]) == ("", "a <thing> b")


def test_unclosed_think_is_all_reasoning() -> None:
    reasoning, text = run(["<think>never ", "closes"])
    assert (reasoning, text) == ("never closes", "")


def test_two_blocks() -> None:
    reasoning, text = run(["<think>a</think>X <think>b</think>Y"])
    assert reasoning == "ab"
    assert text == "X Y"
