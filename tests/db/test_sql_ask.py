"""Questions to the real Chinook database: the pipeline from question to checked answer, with
scripted SQL writers at the model seam (one that knows the gold SQL, one that only writes
broken SQL, one that fixes its error when told) and the packaged model for real."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ragkit.db.ask import RETRIES, SqlAsker, extract_sql, numbers_of
from ragkit.db.connections import SqliteDatabase
from ragkit.llm import GenerationParams, Message
from tests.conftest import ROOT, shared_data
from tests.helpers.cli import ragkit
from tests.helpers.scripted import FunctionLLM

QUESTIONS = [
    json.loads(line) for line in (ROOT / "tests" / "data" / "chinook_questions.jsonl").read_text().splitlines()
]


def same_rows(got: list[list[Any]], gold: list[list[Any]]) -> bool:
    """Execution accuracy: the same rows, in any order, numbers to the cent."""

    def norm(row: list[Any]) -> tuple[Any, ...]:
        return tuple(round(float(v), 2) if isinstance(v, int | float | Decimal) else v for v in row)

    return sorted(map(norm, got), key=repr) == sorted(map(norm, gold), key=repr)


def question_of(messages: list[Message]) -> str:
    return re.findall(r"Question: (.*)", messages[1]["content"])[0].strip()


def test_the_questions_file_has_every_kind_and_its_gold_results_hold(chinook: SqliteDatabase) -> None:
    assert len(QUESTIONS) >= 40
    assert {q["kind"] for q in QUESTIONS} >= {"count", "sum", "join", "join3", "top", "date", "none"}
    for q in QUESTIONS:  # the gold SQL passes the guard and gives the gold result
        assert same_rows([list(r) for r in chinook.run(q["sql"]).rows], q["result"]), q["question"]


def test_a_writer_that_knows_the_gold_sql_scores_every_question(chinook: SqliteDatabase) -> None:
    gold = {q["question"]: q["sql"] for q in QUESTIONS}

    def reply(messages: list[Message]) -> str:
        if messages[0]["content"].startswith("Answer the question"):
            return "Here is the answer."  # the sentence: no number, no value, so written from the rows
        return f"```sql\n{gold[question_of(messages)]}\n```"

    asker = SqlAsker(FunctionLLM(reply, "gold"), GenerationParams())
    for q in QUESTIONS:
        answer = asker.ask(q["question"], chinook)
        assert answer.result is not None and same_rows([list(r) for r in answer.result.rows], q["result"]), q
        assert len(answer.attempts) == 1 and answer.answer.endswith("[db:chinook].")
        assert answer.by == "rows"  # "Here is the answer." names nothing from the rows


def test_a_writer_of_broken_sql_fails_cleanly_after_its_retries(chinook: SqliteDatabase) -> None:
    broken = ["SELEC count(*) FROM Invoice", "DELETE FROM Invoice", "SELECT Nope FROM Invoice"]
    llm = FunctionLLM(lambda messages: broken[(len(messages) - 2) // 2], "broken")
    answer = SqlAsker(llm, GenerationParams()).ask("How many invoices are there?", chinook)
    assert answer.result is None and len(answer.attempts) == 1 + RETRIES
    assert [a.sql for a in answer.attempts] == broken
    assert "does not parse" in answer.attempts[0].error and "only queries" in answer.attempts[1].error
    assert "no such column" in answer.attempts[2].error and "could not be answered" in answer.answer
    assert answer.as_dict()["retries"] == RETRIES
    # each retry was told why the last statement failed
    assert answer.attempts[0].error in llm.calls[1][-1]["content"]
    assert answer.attempts[1].error in llm.calls[2][-1]["content"]


def test_a_writer_that_fixes_its_error_when_told(chinook: SqliteDatabase) -> None:
    def reply(messages: list[Message]) -> str:
        if messages[0]["content"].startswith("Answer the question"):
            return "Brazil paid 35 invoices."
        if len(messages) == 2:
            return "```sql\nSELECT count(*) FROM Invoices WHERE Country = 'Brazil'\n```"
        return "```sql\nSELECT count(*) FROM Invoice WHERE BillingCountry = 'Brazil'\n```"

    answer = SqlAsker(FunctionLLM(reply), GenerationParams()).ask("How many invoices did Brazil pay?", chinook)
    assert answer.result is not None and answer.result.rows == [(35,)]
    assert len(answer.attempts) == 2 and "Invoices" in answer.attempts[0].error
    assert answer.answer == "Brazil paid 35 invoices [db:chinook]." and answer.by == "model"


def test_a_sentence_with_a_number_not_in_the_rows_is_replaced(chinook: SqliteDatabase) -> None:
    def reply(messages: list[Message]) -> str:
        if messages[0]["content"].startswith("Answer the question"):
            return "Brazil paid 53 invoices."  # the rows say 35
        return "SELECT count(*) AS invoices FROM Invoice WHERE BillingCountry = 'Brazil'"  # no block: found anyway

    answer = SqlAsker(FunctionLLM(reply), GenerationParams()).ask("How many invoices did Brazil pay?", chinook)
    assert answer.by == "rows" and answer.answer == "invoices: 35 [db:chinook]."
    assert "53" not in answer.answer


def test_sql_is_found_in_a_reply_and_numbers_are_compared_as_numbers() -> None:
    assert extract_sql("Sure!\n```sql\nSELECT 1\n```\nDone") == "SELECT 1"
    assert extract_sql("The query is: select a from t") == "select a from t"
    assert numbers_of("It was 2,328.60 in 2022, up 5.0%") == {"2328.6", "2022", "5"}


def test_the_packaged_model_through_the_command_line(tmp_path: Path) -> None:
    """The tiny model rarely writes SQL that runs; whatever it writes, the command ends with
    an answer or a clean failure that lists its attempts."""
    home = tmp_path / "home"
    assert (
        ragkit("db", "add", "chinook", f"sqlite:///{shared_data('chinook', 'Chinook_Sqlite.sqlite')}", home=home).code
        == 0
    )
    asked = ragkit("ask", "--db", "chinook", "How many tracks are there?", "--sql-mode", "model", "--json", home=home)
    assert "Traceback" not in asked.stderr and asked.code in (0, 1)
    answer = json.loads(asked.stdout)
    assert answer["database"] == "chinook" and 1 <= len(answer["attempts"]) <= 1 + RETRIES
    assert (answer["sql"] is None) == (asked.code == 1)
    mixed = ragkit("ask", "--db", "chinook", "anything", "--docs", tmp_path, home=home)
    assert mixed.code == 1 and "do not apply" in mixed.stderr
    lonely = ragkit("ask", "anything", "--csv", "--docs-only", home=home)  # no database answer can come
    assert lonely.code == 1 and "--db" in lonely.stderr
    bare = ragkit("ask", "anything", "--csv", home=tmp_path / "no-databases")
    assert bare.code == 1 and "--db" in bare.stderr


def test_ask_db_on_the_command_line_shows_the_sql_and_rows_and_exports_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragkit.cli.main import main
    from ragkit.llm.loader import ChatModels

    monkeypatch.setenv("RAGKIT_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{shared_data('chinook', 'Chinook_Sqlite.sqlite')}"
    assert main(["db", "add", "chinook", url]) == 0

    def writer(messages: list[Message]) -> str:
        if messages[0]["content"].startswith("Answer the question"):
            return "The three countries are USA, Canada and France."
        sql = "SELECT BillingCountry, round(sum(Total), 2) AS total FROM Invoice GROUP BY 1 ORDER BY 2 DESC LIMIT 3"
        return f"```sql\n{sql}\n```"

    monkeypatch.setattr(ChatModels, "load", lambda self, model=None: FunctionLLM(writer, "writer"))
    capsys.readouterr()
    assert main(["ask", "--db", "chinook", "Which 3 countries paid the most?", "--sql-mode", "model"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("The three countries are USA, Canada and France [db:chinook].")
    assert "SQL (db:chinook, written by the model, writer): SELECT BillingCountry" in shown
    assert "3 row(s)" in shown and "523.06" in shown
    assert main(["ask", "--db", "chinook", "Which 3 countries paid the most?", "--csv", "--sql-mode", "model"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "BillingCountry,total",
        "USA,523.06",
        "Canada,303.96",
        "France,195.1",
    ]
