"""Conversation prompts: numbering kept across turns, condensing when the history grows."""

from __future__ import annotations

from ragkit.answer.conversation import Conversation, ConversationStore, Turn
from ragkit.answer.prompt import build_prompt, with_sources
from ragkit.search.retrieve import Hit


def hit(n: int, text: str) -> Hit:
    return Hit(id=f"c{n}", doc=f"d{n}", path=f"/docs/f{n}.txt", page=n, start=0, end=len(text), score=0.9, text=text)


def words(text: str) -> int:
    return len(text.split())


def add_turn(conversation: Conversation, question: str, hits: list[Hit], answer: str, budget: int = 10_000) -> None:
    prompt = build_prompt(question, hits, words, budget, conversation)
    if prompt.condensed is not None:
        conversation.condensed, conversation.context_start = prompt.condensed, len(conversation.turns)
    conversation.sources = prompt.sources
    conversation.turns.append(Turn(question, answer, prompt.new_sources or [], prompt.reused_sources or []))


def test_a_passage_seen_before_keeps_its_number() -> None:
    conversation = Conversation()
    a, b = hit(1, "Alpha facts here."), hit(2, "Beta facts here.")
    add_turn(conversation, "first?", [a], "Alpha [1].")
    prompt = build_prompt("second?", [a, b], words, 10_000, conversation)
    assert prompt.reused_sources == [1] and prompt.new_sources == [2]
    last = prompt.messages[-1]["content"]
    assert last.count("<source") == 1 and "Sources [1] given earlier also apply." in last
    assert [h.text for h in prompt.sources] == ["Alpha facts here.", "Beta facts here."]


def test_a_long_history_is_condensed_and_sources_renumbered() -> None:
    conversation = Conversation()
    long_text = "word " * 300
    for i in range(4):
        add_turn(conversation, f"question number {i}?", [hit(i, long_text)], f"answer number {i}.")
    assert conversation.condensed == ""  # everything still fits in 10,000
    prompt = build_prompt("the newest question?", [hit(9, "Fresh passage.")], words, 1200, conversation)
    assert prompt.condensed is not None
    assert len(prompt.messages) == 1
    content = prompt.messages[0]["content"]
    assert "Earlier in this conversation (condensed)" in content
    assert "Q: question number 3?" in content and "A: answer number 3." in content
    assert prompt.new_sources == [1] and len(prompt.sources) == 1  # numbered afresh
    assert words(content) <= 1200


def test_conversations_round_trip_through_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ConversationStore(tmp_path)
    conversation = Conversation(title="t")
    add_turn(conversation, "first?", [hit(1, "Alpha.")], "Alpha [1].")
    store.save(conversation)
    (tmp_path / "broken.json").write_text("{not json")
    listed = store.list()
    assert [c["id"] for c in listed] == [conversation.id] and listed[0]["turns"] == 1
    again = store.load(conversation.id)
    assert again.as_dict() == conversation.as_dict()


def test_passages_quoted_beyond_the_prompt_are_numbered_after_its_own() -> None:
    conversation = Conversation()
    a, b, c = hit(1, "Alpha facts here."), hit(2, "Beta facts here."), hit(3, "Gamma facts here.")
    add_turn(conversation, "first?", [a], "Alpha [1].")
    prompt = build_prompt("second?", [b], words, 10_000, conversation)
    widened = with_sources(prompt, [c, a, c, b])  # a and b are numbered already; c once
    assert [h.text for h in widened.sources] == ["Alpha facts here.", "Beta facts here.", "Gamma facts here."]
    assert widened.new_sources == [2] and widened.messages == prompt.messages  # [3] was not shown
    assert with_sources(widened, [a, b, c]) == widened
    # the next turn shows [3] under its number, and sends the earlier turns exactly as they
    # were sent (so the model's cache of them holds)
    conversation.sources = widened.sources
    conversation.turns.append(Turn("second?", "Gamma [3].", widened.new_sources or [], []))
    third = build_prompt("third?", [a], words, 10_000, conversation)
    assert third.messages[: len(prompt.messages)] == prompt.messages
    assert third.new_sources == [3] and '<source n="3"' in third.messages[-1]["content"]
    assert third.reused_sources == [1] and len(third.sources) == 3
    conversation.turns.append(Turn("third?", "Gamma again [3].", third.new_sources or [], [1]))
    fourth = build_prompt("fourth?", [], words, 10_000, conversation)
    assert fourth.messages[: len(third.messages)] == third.messages and fourth.new_sources == []
