"""Auto routing: a question goes to the database when its schema is closer to it than any
passage is, else to the documents. Real Chinook, real SQuAD articles indexed as documents,
the real query model; the SQL writer is scripted at the model seam (the packaged model
cannot write this SQL), and its broken SQL makes the answer fall back to the documents."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from ragkit.answer.answerer import Answer
from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.core.config import DatabaseSettings, load_settings
from ragkit.db.ask import SqlAnswer
from ragkit.llm import Message
from tests.conftest import ROOT, shared_data
from tests.helpers.cli import ragkit
from tests.helpers.scripted import FunctionLLM

QUESTIONS = [
    json.loads(line) for line in (ROOT / "tests" / "data" / "chinook_questions.jsonl").read_text().splitlines()
]


def squad() -> tuple[dict[str, str], list[str]]:
    """SQuAD's articles (title → text) and a sample of their questions, answerable or not."""
    data = json.loads(shared_data("squad2-dev", "squad2-dev-5articles.json").read_text())
    articles, questions = {}, []
    for article in data["data"]:
        articles[article["title"]] = "\n\n".join(p["context"] for p in article["paragraphs"])
        questions += [qa["question"] for p in article["paragraphs"] for qa in p["qas"]]
    return articles, random.Random(7).sample(questions, 200)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ragkit, list[str]]]:
    root = tmp_path_factory.mktemp("routing")
    articles, questions = squad()
    docs = root / "docs"
    docs.mkdir()
    for title, text in articles.items():
        (docs / f"{title}.txt").write_text(text, encoding="utf-8")
    chinook = shared_data("chinook", "Chinook_Sqlite.sqlite")
    settings = load_settings(home=root / "home", databases={"chinook": DatabaseSettings(url=f"sqlite:///{chinook}")})
    rk = open_ragkit(settings)
    rk.index([docs])
    yield rk, questions
    rk.close()


def gold_writer(messages: list[Message]) -> str:
    gold = {q["question"]: q["sql"] for q in QUESTIONS}
    if messages[0]["content"].startswith("Answer the question"):
        return "Here it is."
    asked = messages[1]["content"].rsplit("Question: ", 1)[1].strip()
    return f"```sql\n{gold[asked]}\n```"


def test_database_questions_go_to_the_database_and_document_questions_to_the_documents(
    office: tuple[Ragkit, list[str]],
) -> None:
    rk, questions = office
    to_db = [q["question"] for q in QUESTIONS if rk.route(q["question"]).database == "chinook"]
    to_docs = [q for q in questions if rk.route(q).database is None]
    assert len(to_db) >= 0.9 * len(QUESTIONS), sorted({q["question"] for q in QUESTIONS} - set(to_db))
    assert len(to_docs) >= 0.97 * len(questions), sorted(set(questions) - set(to_docs))
    # with nothing indexed, a question must still be close to a table to go to the database
    unrelated = [
        "hello, how are you?",
        "What will the weather be tomorrow?",
        "Explain the theory of relativity",
        "Summarise the meeting notes from Tuesday",
        "What does the contract say about termination?",
    ]
    assert [q for q in unrelated if rk.router.route(q, ["chinook"], 0.0).database] == []
    assert rk.router.route("list the customers from Canada", ["chinook"], 0.0).database == "chinook"
    # a database that cannot be opened is passed over: the documents still answer
    assert rk.route(QUESTIONS[0]["question"], databases=["missing"]).database is None
    # with no database offered, or with answer.route = "docs", every question stays with the documents
    assert rk.route(QUESTIONS[0]["question"], databases=[]).database is None
    rk.settings.answer.route = "docs"
    try:
        assert rk.route(QUESTIONS[0]["question"]).database is None
    finally:
        rk.settings.answer.route = "auto"


def streamed(rk: Ragkit, question: str, **options: Any) -> tuple[list[Any], Any]:
    items = list(rk.ask_stream(question, **options))
    return items[:-1], items[-1]


def test_a_routed_question_gets_the_database_answer_with_the_route_and_a_broken_writer_falls_back(
    office: tuple[Ragkit, list[str]],
) -> None:
    rk, _ = office
    question = next(q for q in QUESTIONS if q["kind"] == "count")
    rk.set_llm(FunctionLLM(gold_writer, "gold"))
    events, answer = streamed(rk, question["question"])
    assert isinstance(answer, SqlAnswer) and answer.result is not None and answer.sql_by == "rules"
    assert [list(r) for r in answer.result.rows] == question["result"]
    assert events[0].type == "route" and "chinook" in events[0].chunk
    shown = answer.as_dict()
    assert shown["route"]["target"] == "db:chinook" and shown["route"]["schema_score"] > shown["route"]["docs_score"]
    # asked for the documents only, the same question gets a documents answer
    _, answer = streamed(rk, question["question"], databases=[])
    assert isinstance(answer, Answer)
    # a writer that only writes broken SQL (the model's SQL asked for): the documents answer, and the
    # answer says what failed
    rk.set_llm(FunctionLLM(lambda messages: "SELEC nothing", "broken"))
    rk.settings.db.sql_mode = "model"
    events, answer = streamed(rk, question["question"], mode="extract")
    assert isinstance(answer, Answer)
    assert [e.type for e in events[:2]] == ["route", "route"] and "answering from the documents" in events[1].chunk
    assert "Asked of database chinook first" in answer.notice and "only queries may run" in answer.notice
    rk.settings.db.sql_mode = "auto"
    rk.set_llm(None)


def test_the_cli_routes_and_docs_only_overrides(office: tuple[Ragkit, list[str]]) -> None:
    """The packaged model: its SQL may fail, and then the documents answer; either way the
    route is shown, and --docs-only keeps the question with the documents."""
    rk, _ = office
    home = rk.settings.home
    chinook = shared_data("chinook", "Chinook_Sqlite.sqlite")
    assert ragkit("db", "add", "chinook", f"sqlite:///{chinook}", home=home).code == 0
    question = "How many customers live in Brazil?"
    routed = ragkit("ask", question, "--mode", "extract", "--json", home=home)
    assert "asked of database chinook" in routed.stderr, routed.stderr
    shown = routed.json()
    if shown["mode"] == "sql":
        assert shown["route"]["database"] == "chinook" and shown["sql"]
    else:
        assert "Asked of database chinook first" in shown["notice"]
    kept = ragkit("ask", question, "--mode", "extract", "--docs-only", "--json", home=home)
    assert "chinook" not in kept.stderr and kept.json()["mode"] == "extract"
    assert "chinook" not in kept.json()["notice"]
