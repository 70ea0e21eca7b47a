"""DeepSeek-R1 with its real tokenizer and chat template, from the header of a real R1 GGUF
(tests/helpers/r1header.py): reading the header, the profile taken from the file, the prompt ragkit
renders and counts, and hand-written R1-style answers streamed back through the R1 vocabulary."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ragkit.answer.conversation import Conversation
from ragkit.assistant.local import Answer, Ragkit, open_ragkit
from ragkit.core.errors import ModelError
from ragkit.llm import GenerationParams, StreamEvent
from ragkit.llm.backend import BUDGET_CLOSE
from ragkit.llm.catalog import Catalog, ModelRef, packaged_chat_model
from ragkit.llm.gguf import read_header
from tests.conftest import README_QUESTION as QUESTION
from tests.helpers.cli import ragkit
from tests.helpers.r1header import R1Replay, r1_part, vocab_only_gguf
from tests.helpers.scripted import stream_parts

STREAMS = json.loads((Path(__file__).parent.parent / "data" / "r1_streams.json").read_text("utf-8"))["streams"]
BOS, USER, ASSISTANT = "<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"  # R1's special tokens
THINK, END_THINK = "<think>", "</think>"


@pytest.fixture(scope="module")
def r1_vocab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vocab_only_gguf(tmp_path_factory.mktemp("r1") / "r1-vocab.gguf")


def special(llm: R1Replay, text: str) -> int:
    [token] = llm.tokens(text)
    return token


def test_the_header_of_a_real_r1_file_is_read_without_its_weights() -> None:
    part = r1_part()
    header = read_header(part)
    assert (header.architecture, header.quantization, header.context_length) == ("qwen2", "Q4_K_M", 131072)
    assert header.name == "DeepSeek R1 Distill Qwen 7B" and header.vocab_size == 152064
    assert header.reasons and header.chat_template is not None and ASSISTANT in header.chat_template
    assert header.size < part.stat().st_size  # the start of the file is enough
    packaged = packaged_chat_model()
    assert packaged is not None and not read_header(packaged.path).reasons


def test_a_file_cut_inside_its_header_is_refused_naming_the_fix(tmp_path: Path) -> None:
    cut = tmp_path / "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf"
    with r1_part().open("rb") as source:
        cut.write_bytes(source.read(1_000_000))  # inside the vocabulary
    with pytest.raises(ModelError, match="cut short") as error:
        read_header(cut)
    assert "fetch it again" in str(error.value)
    result = ragkit("model", "add", cut, home=tmp_path / "home")
    assert result.code == 1 and "cut short" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "models" / "models.json").exists()


def test_a_file_whose_weights_are_cut_short_is_refused(tmp_path: Path) -> None:
    part = r1_part()  # a whole header, then 95 MB of the 4.6 GB of weights it lists
    header = read_header(part)
    assert not header.complete and header.weights_end > 4_000_000_000
    result = ragkit("model", "add", part, "--name", "r1-qwen-7b", home=tmp_path / "home")
    assert result.code == 1 and "Traceback" not in result.stderr
    assert "cut short" in result.stderr and f"ends at byte {part.stat().st_size:,}" in result.stderr
    assert not (tmp_path / "home" / "models" / "models.json").exists()
    # a model file cut after it was added is refused the same way when answers load it
    Catalog(Path(os.environ["RAGKIT_HOME"])).record(ModelRef("r1-qwen-7b", part, profile="r1", source="add"))
    rk = open_ragkit()
    try:
        with pytest.raises(ModelError, match="cut short"):
            rk.llm("r1-qwen-7b")
    finally:
        rk.close()


def test_model_add_takes_the_profile_from_the_file_not_its_name(r1_vocab: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "assistant.gguf"  # nothing in the name says R1
    shutil.copy(r1_vocab, renamed)
    catalog = Catalog(tmp_path / "home")
    assert catalog.add(renamed).profile == "r1"
    assert catalog.resolve(str(renamed)).profile == "r1"  # a bare path too
    packaged = packaged_chat_model()
    assert packaged is not None and catalog.add(packaged.path, name="assistant-2").profile == "chat"
    listed = ragkit("model", "info", "assistant", "--json", home=tmp_path / "home").json()
    assert (listed["profile"], listed["temperature"], listed["starts_in_think"]) == ("r1", 0.6, True)
    assert (listed["architecture"], listed["chat_template"]) == ("qwen2", "with think blocks")


def test_a_base_model_without_a_chat_template_is_refused(tmp_path: Path) -> None:
    base = vocab_only_gguf(tmp_path / "base.gguf", drop=("tokenizer.chat_template",))
    with pytest.raises(ModelError, match="no chat template: it is a base model") as error:
        Catalog(tmp_path / "home").add(base)
    assert "smollm2-135m" in str(error.value)


@pytest.mark.parametrize("record", STREAMS, ids=[s["name"] for s in STREAMS])
def test_hand_written_r1_streams_split_on_real_r1_tokens(r1_vocab: Path, record: dict) -> None:
    llm = R1Replay(r1_vocab, record["raw"])
    tokens = llm.tokens(record["raw"])
    if END_THINK in record["raw"]:
        assert special(llm, END_THINK) in tokens  # the closing tag is one token of R1's own
    reasoning, answer, usage = stream_parts(llm, GenerationParams(start_in_think=True, reasoning_budget=500), QUESTION)
    assert answer.strip() == record["answer"]
    for piece in record["reasoning_has"]:
        assert piece in reasoning
    assert THINK not in answer + reasoning and END_THINK not in answer + reasoning
    assert usage["completion_tokens"] == len(tokens)


def test_the_reasoning_budget_counts_r1_tokens_and_continues_the_same_prompt(r1_vocab: Path) -> None:
    endless = "Let me check the sources again, the packages directory seems right. " * 40
    llm = R1Replay(r1_vocab, endless, continuation="They go into the packages directory [1].")
    reasoning, answer, usage = stream_parts(llm, GenerationParams(start_in_think=True, reasoning_budget=24), QUESTION)
    assert usage["reasoning_tokens"] == 24 and usage["reasoning_budget_hit"] == 1
    assert answer == "They go into the packages directory [1]."
    first, second = llm.prompts
    # the continuation is the same prompt, the 24 reasoning tokens and the closing tag
    thought = llm.llama.detokenize(llm.tokens(endless)[:24]).decode()
    assert reasoning.strip() == thought.strip()  # (the closing newline is reasoning too)
    assert second[: len(first)] == first
    assert llm.llama.detokenize(second[len(first) :]).decode() == thought + BUDGET_CLOSE
    assert second.count(special(llm, END_THINK)) == 1


def ask(rk: Ragkit, question: str, conversation: Conversation) -> tuple[list[StreamEvent], Answer]:
    events: list[StreamEvent] = []
    for item in rk.ask_stream(question, conversation=conversation):
        if isinstance(item, Answer):
            return events, item
        events.append(item)
    raise AssertionError("no answer")


@pytest.mark.usefixtures("samples_indexed")
def test_an_r1_conversation_in_the_models_own_template(rk: Ragkit, r1_vocab: Path) -> None:
    record = STREAMS[0]  # cites [1], the passage the README question finds first
    llm = R1Replay(r1_vocab, record["raw"])
    rk.set_llm(llm)
    assert rk.profile(llm).name == "r1"  # from the template, not the file name
    conversation = Conversation()
    events, first = ask(rk, QUESTION, conversation)
    assert events[0].type == "reasoning" and first.answer == record["answer"]
    assert first.reasoning.startswith("Okay, so the user") and first.attribution.by == "model"
    assert first.attribution.any_verified
    [prompt] = llm.prompts
    text = llm.llama.detokenize(prompt, special=True).decode()
    # the model card: no system prompt, instructions in the user turn, the reply opens <think>
    assert prompt[0] == special(llm, BOS) and prompt.count(special(llm, BOS)) == 1
    assert text.startswith(BOS + USER + "Answer the question using only the numbered sources")
    assert prompt[-3:] == [special(llm, ASSISTANT), special(llm, THINK), llm.tokens("\n")[0]]
    # ragkit's count, with R1's tokenizer, bounds the prompt R1 really gets
    assert len(prompt) <= first.usage["prompt_tokens"] <= llm.n_ctx

    ask(rk, "What is each of those XML files named after?", conversation)
    follow_up = llm.prompts[1]
    # the first turn is sent again token for token up to the answer (so llama.cpp reuses
    # its cache); the answer follows, the reasoning never does
    assert follow_up[: len(prompt) - 2] == prompt[:-2]
    again = llm.llama.detokenize(follow_up, special=True).decode()
    assert record["answer"] in again and "Okay, so the user" not in again
    assert again.count(THINK) == 1 and again.endswith(ASSISTANT + THINK + "\n")
