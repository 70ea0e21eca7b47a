"""Quoted answers on documents written for these tests (``tests/data/invented``: Markdown,
text, HTML, PDF, DOCX), through the real index and embedder: the sentence that answers, the
short answer in it, every part of a compound question, and no heading or footer as an answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.answer_quality import normal
from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.index.onnxembed import OnnxEmbedder
from tests.data.invented.build import build
from tests.helpers.cli import ragkit

QUESTIONS = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "data" / "invented" / "questions.jsonl").read_text("utf-8").splitlines()
]


@pytest.fixture(scope="module")
def invented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("invented"))[0].parent


@pytest.fixture(scope="module")
def rk(
    invented: Path,
    embedder: SentenceTransformerEmbedder,
    onnx_embedder: OnnxEmbedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Ragkit]:
    """One home with the invented documents indexed, for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAGKIT_HOME", str(tmp_path_factory.mktemp("home")))
        instance = open_ragkit(embedder=embedder, query_embedder=onnx_embedder)
        instance.index([invented])
        yield instance
        instance.close()


def test_a_compound_question_gets_each_answer_first_then_the_sentence_cited(rk: Ragkit, invented: Path) -> None:
    answer = rk.ask("Who had the ferry quay shifted to the east cove, and in which year?", mode="extract")
    assert answer.short_answer is not None and answer.short_answer["text"] == "Tarjei Lund, 1931"
    assert answer.answer.startswith("Tarjei Lund, 1931 — ") and answer.grounded
    assert "engineer Tarjei Lund had the ferry quay shifted to the east cove in 1931" in answer.answer
    # the short answer's span is where the name is in the file, as a citation's is
    part = answer.short_answer["parts"][0]
    source = answer.sources[part["source"] - 1]
    start, end = part["span"]
    assert Path(source.path).read_text("utf-8")[start:end] == "Tarjei Lund"
    assert [p["kind"] for p in answer.short_answer["parts"]] == ["who", "when"]
    assert not answer.short_answer["missing"]
    counted = rk.ask("When was the Brannvik Fruit Cooperative founded, and by how many farmers?", mode="extract")
    assert counted.short_answer is not None and counted.short_answer["text"] == "1919, fourteen farmers"


def test_a_heading_is_never_quoted_as_the_answer(rk: Ragkit) -> None:
    for question in (
        "Where does the Skarv lighthouse stand?",
        "Since when has the ferry run between Vesterby and Hald?",
    ):
        answer = rk.ask(question, mode="extract")
        assert not answer.declined
        assert "# The Skarv Light" not in answer.answer and "The Hald ferry The ferry" not in answer.answer
        assert not answer.answer.startswith(("#", "The Skarv Light", "The Hald ferry")), answer.answer


def test_a_page_footer_is_never_quoted(rk: Ragkit) -> None:
    answer = rk.ask("When was the Kleppa School Annual Report last updated?", mode="extract")
    assert "Page 3 of 12" not in answer.answer


def test_the_invented_set_is_mostly_answered_and_seldom_wrong(rk: Ragkit) -> None:
    right = wrong = declined = unanswerable = 0
    misses = []
    for item in QUESTIONS:
        answer = rk.ask(item["q"], mode="extract")
        shown = normal(answer.answer)
        verified = answer.grounded and any(c.verified for c in answer.attribution.citations)
        if not item["facts"]:
            unanswerable += 1
            declined += answer.declined
            continue
        if verified and all(normal(f) in shown for f in item["facts"]):
            right += 1
        else:
            misses.append((item["q"], answer.answer[:120]))
            wrong += verified
    answerable = len(QUESTIONS) - unanswerable
    # (#28 asks for 90 % and 5 %; benchmarks/answer_quality.py reports the held-out figures)
    assert right / answerable >= 0.7, misses
    assert wrong / answerable <= 0.1, misses
    assert declined >= 1  # (the share declined is the benchmark's to report)


def test_piped_ask_prints_the_short_answer_plainly_first(invented: Path, tmp_path: Path) -> None:
    result = ragkit("ask", "--docs", invented, "How much is an adult ferry ticket?", "--mode", "extract", home=tmp_path)
    assert result.code == 0, result.stderr
    report, answer = result.stdout.split("\n", 1)  # the index run's report, then the answer
    assert "in the index" in report and answer.startswith("62 kroner — An adult ticket costs 62 kroner"), answer
    assert "\x1b[" not in result.stdout
