"""R1-style reasoning through the real stream path: hand-written R1-style streams, the budget, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit.answer.conversation import Conversation, Turn
from ragkit.answer.prompt import build_prompt
from ragkit.llm import GenerationParams
from ragkit.llm.backend import BUDGET_CLOSE
from ragkit.llm.catalog import PROFILES, guess_profile
from ragkit.search.retrieve import Hit
from tests.helpers.scripted import ScriptedLLM, stream_parts, tokens

STREAMS = json.loads((Path(__file__).parent.parent / "data" / "r1_streams.json").read_text("utf-8"))["streams"]
R1 = PROFILES["r1"]
R1_PARAMS = GenerationParams(
    max_tokens=200, temperature=R1.temperature, top_p=R1.top_p, start_in_think=True, reasoning_budget=500
)


@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 7, 1000], ids=lambda c: f"chunk={c}")
@pytest.mark.parametrize("record", STREAMS, ids=[s["name"] for s in STREAMS])
def test_hand_written_r1_streams_split_into_reasoning_and_answer(record: dict, chunk: int | None) -> None:
    reasoning, answer, usage = stream_parts(ScriptedLLM(record["raw"], chunk=chunk), R1_PARAMS)
    assert answer.strip() == record["answer"]
    for piece in record["reasoning_has"]:
        assert piece in reasoning
    assert "<think>" not in answer + reasoning and "</think>" not in answer + reasoning
    assert usage["reasoning_budget_hit"] == 0


def test_r1_profile_follows_the_model_card() -> None:
    assert (R1.temperature, R1.top_p, R1.start_in_think) == (0.6, 0.95, True)
    for name in ("DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf", "r1-llama-8b", "deepseek-r1:7b"):
        assert guess_profile(name) == "r1", name
    for name in ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m", "mistral-7b-instruct"):
        assert guess_profile(name) == "chat", name


def test_a_thought_past_its_budget_is_closed_and_the_model_answers() -> None:
    endless = "Let me think about this some more. " * 200  # never closes its block
    llm = ScriptedLLM(endless, continuation="The files go into the packages directory [1].")
    params = GenerationParams(max_tokens=50, start_in_think=True, reasoning_budget=40)
    reasoning, answer, usage = stream_parts(llm, params)
    assert answer == "The files go into the packages directory [1]."
    assert usage["reasoning_budget_hit"] == 1 and usage["reasoning_tokens"] == 40
    assert len(tokens(reasoning.rstrip())) == 40
    (_, first_prefix, first_max), (_, prefix, max_tokens) = [c for c in llm.calls]
    assert first_prefix == "" and first_max == 90  # answer budget on top of the reasoning budget
    # the model continues its own turn: everything it thought, then the closed block
    assert prefix.endswith(BUDGET_CLOSE) and prefix.startswith("Let me think")
    assert max_tokens == 50  # the whole answer budget is still there


def test_a_thought_within_budget_is_not_cut() -> None:
    record = STREAMS[0]
    llm = ScriptedLLM(record["raw"], continuation="SHOULD NOT APPEAR")
    _, answer, usage = stream_parts(llm, GenerationParams(max_tokens=100, start_in_think=True, reasoning_budget=1000))
    assert len(llm.calls) == 1 and "SHOULD NOT APPEAR" not in answer and usage["reasoning_budget_hit"] == 0


def _hit(n: int, text: str) -> Hit:
    return Hit(id=f"c{n}", doc=f"d{n}", path=f"/docs/f{n}.txt", page=None, start=0, end=len(text), score=0.9, text=text)


def test_history_carries_answers_but_never_reasoning() -> None:
    conversation = Conversation()
    first = build_prompt("Where do the files go?", [_hit(1, "Files go into packages.")], len, 10_000, conversation)
    conversation.sources = first.sources
    conversation.turns.append(
        Turn("Where do the files go?", "Into packages [1].", first.new_sources or [], reasoning="SECRET-THOUGHT")
    )
    follow = build_prompt("Named after what?", [_hit(2, "Named after the application.")], len, 10_000, conversation)
    sent = json.dumps(follow.messages)
    assert "SECRET-THOUGHT" not in sent
    assert [m["role"] for m in follow.messages] == ["user", "assistant", "user"]
    assert follow.messages[1]["content"] == "Into packages [1]."
    # the earlier turn is sent exactly as it was: the backend can reuse its cached prefix
    assert follow.messages[0] == first.messages[0]
    assert follow.new_sources == [2] and '<source n="2"' in follow.messages[2]["content"]
