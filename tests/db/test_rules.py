"""Questions to SQL without a model: the rules answer the office shapes on three databases
(Chinook, and two built here: Harbour Supplies, on which they were built too, and Westshore
Lettings, written after them), decline what they cannot map rather than guess, and are
what `ask --db` uses first (or alone, with --sql-mode rules, no model loaded)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ragkit.db.ask import answer_question
from ragkit.db.connections import SqliteDatabase
from ragkit.db.rules import Rules, SchemaMap, Unsure
from ragkit.db.rules.links import split_name, stems
from ragkit.llm import GenerationParams, Message
from tests.conftest import shared_data
from tests.data.sql import SETS, database_file, questions, same_answer
from tests.db.test_legacy_text import legacy_db
from tests.helpers.cli import ragkit
from tests.helpers.scripted import FunctionLLM


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SqliteDatabase]:
    folder = tmp_path_factory.mktemp("sets")
    chinook = shared_data("chinook", "Chinook_Sqlite.sqlite")
    return {name: SqliteDatabase(name, f"sqlite:///{database_file(name, folder, chinook)}") for name in SETS}


def score(database: SqliteDatabase, name: str) -> tuple[int, int, int, list[str]]:
    """Right, wrong and declined answers of the rules on set ``name``, and the wrong ones."""
    rules = Rules(SchemaMap.build(database))
    right = wrong = declined = 0
    shown_wrong = []
    for q in questions(name):
        today = date.fromisoformat(q.get("today", "2026-12-03"))
        try:
            built = rules.build(q["question"], today)
        except Unsure:
            declined += 1
            continue
        if same_answer(database.run(built.sql).rows, q["result"]):
            right += 1
        else:
            wrong += 1
            shown_wrong.append(f"{q['question']} -> {built.sql}")
    return right, wrong, declined, shown_wrong


@pytest.mark.parametrize("name", list(SETS))
def test_the_rules_answer_three_in_four_and_show_almost_nothing_wrong(
    databases: dict[str, SqliteDatabase], name: str
) -> None:
    """The issue's bar on each database: at least 75 % right, at most 3 % wrong shown as an answer."""
    right, wrong, declined, shown_wrong = score(databases[name], name)
    total = right + wrong + declined
    assert right / total >= 0.75, (right, wrong, declined)
    assert wrong / total <= 0.03, shown_wrong


def test_the_gold_results_hold(databases: dict[str, SqliteDatabase]) -> None:
    for name in SETS:
        for q in questions(name):
            assert same_answer(databases[name].run(q["sql"]).rows, q["result"]), q["question"]


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("List the albums by Queen.", "'queen' is a value of Artist.Name, Track.Composer"),  # an artist, a composer
        ("How many customers live in Japan?", "no value 'Japan'"),  # not in the data: never a guess
        ("In which year was the total invoiced the highest?", "not one of the shapes"),
        ("How many employees were born in 1960?", None),  # a date of its own table, named by "born"
    ],
)
def test_what_the_rules_cannot_map_they_decline_and_say_why(
    databases: dict[str, SqliteDatabase], question: str, why: str | None
) -> None:
    rules = Rules(SchemaMap.build(databases["chinook"]))
    if why is None:
        assert "BirthDate" in rules.build(question).sql
        return
    with pytest.raises(Unsure, match=why):
        rules.build(question)


def test_relative_dates_count_from_today(databases: dict[str, SqliteDatabase]) -> None:
    rules = Rules(SchemaMap.build(databases["chinook"]))
    last_year = rules.build("How many invoices were issued last year?", date(2024, 2, 1)).sql
    assert "'2023-01-01'" in last_year and "'2024-01-01'" in last_year
    last_march = rules.build("How many invoices were issued last March?", date(2024, 2, 1)).sql
    assert "'2023-03-01'" in last_march and "'2023-04-01'" in last_march
    between = rules.build("How many invoices were issued between May 2022 and July 2022?").sql
    assert "'2022-05-01'" in between and "'2022-08-01'" in between


def test_names_are_read_as_words() -> None:
    assert split_name("BillingCountry") == ["billing", "country"]
    assert split_name("Product Lines") == ["product", "lines"]
    assert split_name("order_lines") == ["order", "lines"]
    assert split_name("HTTPStatus") == ["http", "status"]
    assert split_name("billingcountry") == ["billing", "country"] and split_name("milliseconds") == ["milliseconds"]
    assert split_name("surname") == ["surname"] and split_name("lastname") == ["last", "name"]
    assert {"ship"} <= stems("shipped") and {"country"} <= stems("countries") and {"hire"} <= stems("hired")


def test_a_legacy_database_with_awkward_names_is_answered_by_the_rules(tmp_path: Path) -> None:
    """cp1252 text, a table named with a space, one named with a reserved word: the value is
    found in the decoded text and compared as the bytes the database holds."""
    database = SqliteDatabase("office", f"sqlite:///{legacy_db(tmp_path / 'office.db')}")
    rules = Rules(SchemaMap.build(database))
    built = rules.build("How many order details have the ship city Kraków?")
    assert 'FROM "Order Details"' in built.sql and "CAST(x'" in built.sql  # Kraków as cp1252 bytes
    assert database.run(built.sql).rows == [(1,)]
    listed = rules.build("Which order details were shipped to Göteborg?")
    assert database.run(listed.sql).rows == [(3,)]  # its key: the table has no name column
    assert database.run(rules.build("How many groups are there?").sql).rows == [(1,)]  # "Group", quoted


def test_rules_mode_never_loads_a_model_and_auto_asks_the_model_when_unsure(tmp_path: Path) -> None:
    database = SqliteDatabase("chinook", f"sqlite:///{shared_data('chinook', 'Chinook_Sqlite.sqlite')}")
    asked: list[str] = []

    def model() -> Any:
        from ragkit.db.ask import SqlAsker

        asked.append("loaded")

        def writer(messages: list[Message]) -> str:
            if messages[0]["content"].startswith("Answer the question"):
                return "There are 3 albums by Queen."
            sql = "SELECT count(*) FROM Album JOIN Artist USING (ArtistId) WHERE Artist.Name = 'Queen'"
            return f"```sql\n{sql}\n```"

        return SqlAsker(FunctionLLM(writer, "writer"), GenerationParams())

    counted = answer_question("How many tracks are there?", database, "auto", model)
    assert counted.sql_by == "rules" and counted.result is not None and counted.result.rows == [(3503,)]
    assert counted.answer == "number of tracks: 3503 [db:chinook]." and not asked
    declined = answer_question("How many albums did Queen make?", database, "rules", model)
    assert declined.result is None and not asked and "'queen' is a value of" in declined.answer
    assert "The tables closest to it:" in declined.answer and declined.tables
    by_model = answer_question("How many albums did Queen make?", database, "auto", model)
    assert asked == ["loaded"] and by_model.sql_by == "model" and by_model.result is not None
    assert by_model.result.rows == [(3,)] and by_model.answer.startswith("There are 3 albums by Queen")
    with_model = answer_question("How many tracks are there?", database, "model", model)
    assert with_model.sql_by == "model" and asked == ["loaded", "loaded"]


def test_the_command_line_and_the_config_choose_the_sql_mode(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{shared_data('chinook', 'Chinook_Sqlite.sqlite')}"
    assert ragkit("db", "add", "chinook", url, home=home).code == 0
    ruled = ragkit("ask", "--db", "chinook", "Which 2 countries have the most customers?", "--sql-mode", "rules",
                   "--json", home=home)  # fmt: skip
    answer = json.loads(ruled.stdout)
    assert ruled.code == 0 and answer["sql_by"] == "rules" and answer["shape"] == "most"
    assert [row[0] for row in answer["rows"]] == ["USA", "Canada"] and answer["model"] == "rules (no model)"
    shown = ragkit("ask", "--db", "chinook", "How many customers live in Japan?", "--sql-mode", "rules", home=home)
    assert shown.code == 1 and "no value 'Japan' in the database" in shown.stdout and "Traceback" not in shown.stderr
    (home / "config.toml").write_text((home / "config.toml").read_text() + '\n[db]\nsql_mode = "rules"\n')
    configured = ragkit("ask", "--db", "chinook", "How many customers live in Japan?", "--json", home=home)
    assert configured.code == 1 and json.loads(configured.stdout)["model"] == "rules (no model)"
    wrong = ragkit("ask", "--db", "chinook", "anything", "--sql-mode", "guess", home=home)
    assert wrong.code != 0 and "guess" in wrong.stderr


def test_a_question_is_never_spliced_into_sql(databases: dict[str, SqliteDatabase]) -> None:
    """The rules write only names of the schema and values found in the data (or numbers and
    dates they read), as sqlglot literals: a question carrying SQL gets a declined answer or a
    statement that reads, never its text run."""
    from ragkit.db import guard as sqlguard
    from tests.helpers.sql import HOSTILE

    database = databases["chinook"]
    rules = Rules(SchemaMap.build(database))
    for hostile in [h for h in HOSTILE if len(h.strip()) > 8]:
        for question in (f"How many customers live in '{hostile}'?", f"Which invoices were billed to {hostile}?",
                         f"How many tracks are in the Rock genre; {hostile}",
                         f"How many tracks are in the Rock genre; {hostile.lower()}"):  # fmt: skip
            try:
                built = rules.build(question)
            except Unsure:
                continue
            assert hostile not in built.sql
            sqlguard.check(built.sql, "sqlite", database.tables, 1001, database.all_tables)  # reads only
            database.run(built.sql)


def test_any_question_gets_a_statement_or_a_reason_never_a_crash(databases: dict[str, SqliteDatabase]) -> None:
    """Questions of the sets cut, shuffled and mixed (a fixed seed): each ends as a statement
    that runs or as Unsure, never as another exception ("the 0.99" once raised ValueError)."""
    import random

    rng = random.Random(30)
    for name in SETS:
        rules = Rules(SchemaMap.build(databases[name]))
        asked = [q["question"] for q in questions(name)]
        words = [w for q in asked for w in q.split()]
        cases = ["how many", "which", "the 0.99 tracks", "top 0 tracks", "between 2020 and 2019", "'", '""']
        for _ in range(80):
            cut = rng.choice(asked).split()
            cut.insert(rng.randrange(len(cut) + 1), rng.choice(words))
            cases += [" ".join(cut), " ".join(rng.sample(words, rng.randint(1, 8)))]
        for question in cases:
            try:
                databases[name].run(rules.build(question).sql)
            except Unsure:
                pass


def test_a_defect_in_the_rules_is_not_a_crash(
    databases: dict[str, SqliteDatabase], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Rules, question: str, today: date | None = None) -> None:
        raise KeyError("a defect")

    monkeypatch.setattr(Rules, "build", broken)
    answer = answer_question("How many tracks are there?", databases["chinook"], "rules", None)
    assert answer.result is None and "an error in ragkit: KeyError" in answer.answer
