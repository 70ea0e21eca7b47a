"""Questions to a database: the rules (:mod:`ragkit.db.rules`) or the model write SQL, the
guard and the read-only connection run it, and the answer shows the statement, the rows and
a sentence checked against them.

Which writes the SQL is the SQL mode (``ask --sql-mode``, ``[db] sql_mode``): ``rules``
(no model is loaded; a question the rules cannot map is answered with what they could not
map and the closest tables), ``model``, or ``auto``: the rules first, the model when the
rules are not sure.

The model sees the schema of the tables the question seems to need (all of them for a
small database; else those closest to the question by meaning, with the tables their
foreign keys join to): columns, types, keys and a few sample values. When the statement
fails (it does not parse, the guard refuses it, the database reports an error) the model
gets the message and tries again, at most twice. The answer's sentence is the model's when
every number in it appears in the rows; else one written from the rows themselves. Either
way it cites ``[db:NAME]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from ragkit.core.errors import RagkitError
from ragkit.db.base import DatabaseError, QueryResult, Table
from ragkit.llm import LLM, GenerationParams, Message

log = logging.getLogger(__name__)
SqlMode = Literal["auto", "rules", "model"]
RULES = "rules (no model)"  # the SqlAnswer.model of an answer the rules wrote
RETRIES = 2  # after a failed statement, the model may try again this many times
ALL_TABLES = 12  # up to this many tables, the model sees every one
CLOSEST_TABLES = 6  # else the closest ones (and those their keys join to)
_BLOCK = re.compile(r"```(?:sql)?\s*(.*?)```", re.S | re.I)
_START = re.compile(r"\b(SELECT|WITH|VALUES)\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")

SYSTEM = (
    "You write one {dialect} SQL query that answers the question from the database described. "
    "Use only the tables and columns listed, exactly as they are spelled. Read only: one SELECT "
    "(WITH is allowed). Reply with the query alone in a ```sql block."
)
SENTENCE = (
    "Answer the question in one short sentence using only these result rows of the query. "
    "Copy numbers exactly as they appear in the rows."
)


@dataclass
class Attempt:
    sql: str
    error: str = ""


@dataclass
class SqlAnswer:
    question: str
    database: str
    answer: str
    model: str
    result: QueryResult | None
    attempts: list[Attempt] = field(default_factory=list)
    grounded: bool = False  # the sentence's numbers all appear in the rows
    by: str = "rows"  # who wrote the sentence: "model" (checked) or "rows" (written from them)
    notice: str = ""
    tables: list[str] = field(default_factory=list)  # the tables whose schema the model saw
    route: dict[str, Any] | None = None  # why the question came here, when it was routed (ragkit.answer.routing)
    sql_by: str = "model"  # who wrote the SQL: "rules" or "model"
    shape: str = ""  # the question's shape, as the rules read it
    unmapped: str = ""  # what the rules could not map, when they declined

    @property
    def source(self) -> str:
        return f"db:{self.database}"

    def as_dict(self) -> dict[str, Any]:
        result = self.result.as_dict() if self.result else {"sql": None, "columns": [], "rows": [], "row_count": 0}
        return {
            "question": self.question,
            "database": self.database,
            "answer": self.answer,
            "model": self.model,
            "mode": "sql",
            **result,
            "rows": [[_plain(v) for v in row] for row in result["rows"]],
            "attempts": [{"sql": a.sql, "error": a.error or None} for a in self.attempts],
            "retries": max(0, len(self.attempts) - 1),
            "grounded": self.grounded,
            "by": self.by,
            "notice": self.notice,
            "schema_tables": self.tables,
            "route": self.route,
            "sql_by": self.sql_by,
            "shape": self.shape or None,
            "unmapped": self.unmapped or None,
            "citations": [{"source": self.source, "sql": self.result.sql}] if self.result else [],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SqlAnswer:
        """As :meth:`as_dict` wrote it (a server's answer, read by a client)."""
        result = QueryResult.from_dict(data) if data.get("sql") else None
        return cls(
            data["question"], data["database"], data["answer"], data.get("model", ""), result,
            [Attempt(a["sql"], a.get("error") or "") for a in data.get("attempts", [])],
            bool(data.get("grounded")), data.get("by", "rows"), data.get("notice", ""),
            list(data.get("schema_tables", [])), data.get("route"), data.get("sql_by", "model"),
            data.get("shape") or "", data.get("unmapped") or "",
        )  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, int | float | str) or value is None:
        return value
    return str(value)


def schema_text(tables: Sequence[Table]) -> str:
    """The tables as the model reads them: one line each."""
    lines = []
    for t in tables:
        columns = []
        for c in t.columns:
            text = f"{c.name} {c.type}".strip()
            text += " primary key" if c.primary_key else ""
            text += f" -> {c.references}" if c.references else ""
            if t.samples.get(c.name):
                text += " e.g. " + ", ".join(repr(v) for v in t.samples[c.name][:3])
            columns.append(text)
        rows = f" ({t.rows} rows)" if t.rows is not None else ""
        lines.append(f"Table {t.name}{rows}: " + "; ".join(columns))
    return "\n".join(lines)


def closest_tables(question: str, tables: Sequence[Table], embed: Callable[[Sequence[str]], Any] | None) -> list[Table]:
    """Every table of a small database; else those closest to the question (by meaning when
    ``embed`` is given, else by shared words), with the tables their foreign keys name."""
    if len(tables) <= ALL_TABLES:
        return list(tables)
    order = ranked_tables(question, tables, embed)[:CLOSEST_TABLES]
    chosen = {t.name for t in order}
    for t in order:
        chosen |= {c.references.split(".")[0] for c in t.columns if c.references}
    return [t for t in tables if t.name in chosen]


def ranked_tables(question: str, tables: Sequence[Table], embed: Callable[[Sequence[str]], Any] | None) -> list[Table]:
    """The tables, closest to the question first (by meaning when ``embed`` is given, else by
    shared words)."""
    described = [f"{t.name}: " + ", ".join(c.name for c in t.columns) for t in tables]
    if embed is not None:
        import numpy as np

        vectors = np.asarray(embed([question, *described]), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        scores = list(vectors[1:] @ vectors[0])
    else:
        words = set(re.findall(r"\w+", question.lower()))
        scores = [len(words & set(re.findall(r"\w+", d.lower().replace("_", " ")))) for d in described]
    return [tables[i] for i in sorted(range(len(tables)), key=lambda i: -scores[i])]


def extract_sql(text: str) -> str:
    """The statement in a model's reply: its ```sql block, else from the first SELECT/WITH."""
    block = _BLOCK.search(text)
    if block:
        return block.group(1).strip()
    start = _START.search(text)
    return text[start.start() :].strip() if start else text.strip()


def numbers_of(text: str) -> set[str]:
    """The numbers written in ``text``, normalised (no thousands separators, no trailing zeros)."""
    return {_norm(n) for n in _NUMBER.findall(text)}


def _norm(number: str) -> str:
    plain = number.replace(",", "")
    try:
        value = Decimal(plain)
    except ArithmeticError:
        return plain
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rows_numbers(result: QueryResult) -> set[str]:
    found: set[str] = set()
    for row in result.rows:
        for value in row:
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int | float | Decimal):
                found.add(_norm(str(value)))
                if isinstance(value, float | Decimal):
                    found.add(_norm(str(round(float(value), 2))))
            found |= numbers_of(str(value))
    found.add(str(len(result.rows)))
    return found


def from_rows(result: QueryResult, database: str) -> str:
    """A sentence written from the rows themselves (no model)."""
    cite = f" [db:{database}]"
    if not result.rows:
        return f"No rows match in {database}{cite}."
    if len(result.rows) == 1 and len(result.columns) <= 4:
        said = "; ".join(f"{c}: {_plain(v)}" for c, v in zip(result.columns, result.rows[0], strict=True))
        return f"{said}{cite}."
    more = " (the first ones)" if result.truncated else ""
    if len(result.columns) == 1:
        shown = ", ".join(str(_plain(r[0])) for r in result.rows[:10])
        extra = f" and {len(result.rows) - 10} more" if len(result.rows) > 10 else ""
        return f"{len(result.rows)} rows{more}: {shown}{extra}{cite}."
    return f"{len(result.rows)} rows{more}, shown below{cite}."


class SqlAsker:
    """Asks a model for SQL, runs it through the guard, and checks the answer's sentence.
    ``llm``: the chat model; ``params``: its sampling (made deterministic here)."""

    def __init__(self, llm: LLM, params: GenerationParams, embed: Callable[[Sequence[str]], Any] | None = None) -> None:
        self.llm = llm
        self.params = replace(
            params, temperature=0.0, max_tokens=min(params.max_tokens, 200), stop=(*params.stop, "```\n\n")
        )
        self.embed = embed

    def _generate(self, messages: list[Message]) -> str:
        text = []
        for event in self.llm.stream(messages, self.params):
            if event.type == "text":
                text.append(event.chunk)
        return "".join(text).strip()

    def ask(self, question: str, database: Any) -> SqlAnswer:
        """Answer ``question`` from ``database`` (a :mod:`ragkit.db.connections` database)."""
        tables = closest_tables(question, database.schema(), self.embed)
        dialect = "PostgreSQL" if database.kind == "postgresql" else "SQLite"
        messages: list[Message] = [
            {"role": "system", "content": SYSTEM.format(dialect=dialect)},
            {"role": "user", "content": f"Database {database.name}:\n{schema_text(tables)}\n\nQuestion: {question}"},
        ]
        answer = SqlAnswer(question, database.name, "", self.llm.name, None, tables=[t.name for t in tables])
        for _ in range(1 + RETRIES):
            reply = self._generate(messages)
            sql = extract_sql(reply)
            attempt = Attempt(sql)
            answer.attempts.append(attempt)
            try:
                answer.result = database.run(sql)
                break
            except (DatabaseError, RagkitError) as exc:
                attempt.error = str(exc)
                messages += [
                    {"role": "assistant", "content": reply},
                    {"role": "user", "content": f"That query failed: {exc}\nWrite a corrected query."},
                ]
        if answer.result is None:
            answer.answer = (
                f"The question could not be answered from {database.name}: the model's SQL failed"
                f" {len(answer.attempts)} times (last error: {answer.attempts[-1].error})."
            )
            answer.notice = "no query ran; see attempts"
            return answer
        answer.answer, answer.by, answer.grounded = self._sentence(question, answer.result, database.name)
        return answer

    def _sentence(self, question: str, result: QueryResult, database: str) -> tuple[str, str, bool]:
        """The model's sentence when its numbers are all in the rows; else one from the rows."""
        if not result.rows or len(result.rows) > 20:
            return from_rows(result, database), "rows", True
        table = "\n".join([" | ".join(result.columns)] + [" | ".join(str(_plain(v)) for v in r) for r in result.rows])
        messages: list[Message] = [
            {"role": "system", "content": SENTENCE},
            {"role": "user", "content": f"Question: {question}\nResult rows:\n{table}"},
        ]
        sentence = self._generate(messages).split("\n")[0].strip()
        said = numbers_of(sentence)
        values = {str(_plain(v)).lower() for r in result.rows for v in r if v is not None}
        mentions = bool(said) or any(v in sentence.lower() for v in values if len(v) > 1)
        if sentence and mentions and said <= rows_numbers(result):  # every number it writes is in the rows
            return f"{sentence.rstrip('.')} [db:{database}].", "model", True
        return from_rows(result, database), "rows", True


def answer_question(
    question: str,
    database: Any,
    mode: SqlMode,
    model: Callable[[], SqlAsker] | None,
    embed: Callable[[Sequence[str]], Any] | None = None,
    today: date | None = None,
) -> SqlAnswer:
    """Answer ``question`` from ``database`` in SQL ``mode``. ``model`` makes the model's asker
    (called only when the model is needed, so that ``rules`` never loads one)."""
    from ragkit.db.rules import Rules, Unsure, schema_map

    unmapped = ""
    if mode in ("auto", "rules"):
        dialect = "postgres" if database.kind == "postgresql" else "sqlite"
        try:
            built = Rules(schema_map(database), dialect).build(question, today)
        except Unsure as exc:
            unmapped = str(exc)
        except (DatabaseError, RagkitError):
            raise  # the database's own error (it cannot be read): said as it is
        except Exception as exc:  # a defect of the rules: never a crash, and the model may still answer
            log.exception("the rules failed on %r", question)
            unmapped = f"the rules could not read the question (an error in ragkit: {type(exc).__name__}: {exc})"
        else:
            attempt = Attempt(built.sql)
            try:
                result = database.run(built.sql)
            except (DatabaseError, RagkitError) as exc:  # the database refused it: say so, then ask the model
                attempt.error = unmapped = f"the rules' SQL failed: {exc}"
            else:
                return SqlAnswer(question, database.name, from_rows(result, database.name), RULES, result, [attempt],
                                 True, "rows", tables=built.tables, sql_by="rules", shape=built.shape)  # fmt: skip
    if mode == "rules" or model is None:
        return _declined(question, database, unmapped, embed)
    answer = model().ask(question, database)
    if answer.result is None and unmapped:
        answer.unmapped = unmapped
        answer.answer = (
            f"The question could not be answered from {database.name}: {unmapped}; the model's SQL failed"
            f" {len(answer.attempts)} times too (last error: {answer.attempts[-1].error})."
        )
    return answer


def _declined(question: str, database: Any, unmapped: str, embed: Callable[[Sequence[str]], Any] | None) -> SqlAnswer:
    """What the rules could not map, and the tables closest to the question, to ask again by."""
    closest = ranked_tables(question, database.schema(samples=0), embed)[:3]
    names = ", ".join(t.name for t in closest)
    text = (
        f"The question could not be answered from {database.name} without a model: {unmapped}. The tables closest to"
        f" it: {names}. Name a table, a column or a value as the database writes it, or ask with a model"
        " (--sql-mode model)."
    )
    return SqlAnswer(question, database.name, text, RULES, None, [], notice="the rules could not map the question",
                     tables=[t.name for t in closest], sql_by="rules", unmapped=unmapped)  # fmt: skip
