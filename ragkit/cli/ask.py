"""Questions: ask, over the documents (verified, cited) or a database (guarded SQL)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ragkit.cli.common import is_remote, json_option, open_assistant
from ragkit.cli.output import emit_json, index_with_progress, place, print_report, print_table, shown_path
from ragkit.core.errors import RagkitError

if TYPE_CHECKING:
    from ragkit.answer.answerer import Answer, Mode
    from ragkit.answer.conversation import Conversation
    from ragkit.assistant.protocol import Assistant
    from ragkit.db.ask import SqlAnswer, SqlMode
    from ragkit.index.library import SearchMode


@click.command()
@click.argument("question", required=False)
@click.option(
    "--docs",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="index this file or folder first (repeat for more)",
)
@click.option("--model", default=None, help="GGUF path or model name")
@click.option(
    "--chat", default=None, metavar="ID", help="continue a saved conversation ('last': the newest; 'new': start one)"
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "generate", "extract"]),
    default=None,
    help="auto (default): the model answers, quoted sentences replace what does not verify; "
    "generate: the model only; extract: quoted sentences, no model",
)
@click.option(
    "--search-mode",
    type=click.Choice(["dense", "keyword", "hybrid"]),
    default=None,
    help="how passages are ranked (default: retrieve.mode)",
)
@click.option(
    "--db",
    default=None,
    metavar="NAME",
    help="answer from this database (ragkit db add): SQL, rows, a checked sentence",
)
@json_option()
@click.option(
    "--show-draft",
    is_flag=True,
    help="also print the model's own draft, after the checked answer (labelled as unchecked)",
)
@click.option(
    "--docs-only",
    is_flag=True,
    help="answer from the documents even when a database added seems closer (answer.route = docs in config)",
)
@click.option("--csv", "as_csv", is_flag=True, help="a database answer's rows as CSV (with --each: a row per file)")
@click.option(
    "--each",
    default=None,
    metavar="QUERY",
    help="ask the question of every file QUERY (the find language) matches, one row each, as they are answered;"
    " --json gives JSON lines, --csv CSV, --md a Markdown report (default --mode: extract)",
)
@click.option("--md", "as_md", is_flag=True, help="with --each: a Markdown report")
@click.option(
    "--sql-mode",
    type=click.Choice(["auto", "rules", "model"]),
    default=None,
    help="who writes a database question's SQL: the rules (no model), the model, or auto: the rules first, the model"
    " when they are not sure (default: [db] sql_mode, auto)",
)
def ask(question: str | None, docs: tuple[Path, ...], model: str | None, chat: str | None, mode: Mode | None,
        search_mode: SearchMode | None, db: str | None, as_json: bool, show_draft: bool, docs_only: bool,
        as_csv: bool, each: str | None, as_md: bool, sql_mode: SqlMode | None) -> int:  # fmt: skip
    """Answer a question from your documents, with citations."""
    from ragkit.assistant.local import Answer
    from ragkit.db.ask import SqlAnswer

    if question is None:
        raise RagkitError('ask needs a question: ragkit ask "QUESTION" [--docs PATH]')
    if each is not None or as_md:
        return ask_each(question, each, mode, as_json, as_csv, as_md, bool(docs or chat or db or docs_only))
    if db:
        if docs or chat or mode or search_mode or docs_only:
            raise RagkitError(
                "--db answers from a database: --docs, --docs-only, --chat, --mode and --search-mode do not apply"
            )
        return print_sql_answer(open_assistant().ask_database(question, db, model, sql_mode), as_json, as_csv)
    rk = open_assistant(warm_queries=True)
    set_modes(rk, sql_mode, search_mode, as_csv, docs_only)
    if docs:
        report = index_with_progress(rk, docs, rebuild=False, quiet=as_json)
        if not as_json:
            print_report(report)
    conversation = conversation_for(rk, chat)
    result: Answer | SqlAnswer | None = None
    databases: list[str] | None = [] if docs_only else None
    live = LiveDraft(enabled=not as_json and sys.stdout.isatty())
    for item in rk.ask_stream(question, model, conversation, mode, databases=databases):
        if isinstance(item, Answer | SqlAnswer):
            result = item
        elif item.type == "route":
            print(f"({item.chunk})", file=sys.stderr)
        elif item.type in ("reasoning", "text"):
            live.write(item.type, item.chunk)
    live.clear()
    assert result is not None
    if isinstance(result, SqlAnswer):
        return print_sql_answer(result, as_json, as_csv)
    if as_csv:
        raise RagkitError("--csv gives a database answer's rows, and this question was answered from the documents")
    if conversation is not None:
        rk.conversations.save(conversation)
    if as_json:
        emit_json(result.as_dict())
        return 0
    print(highlighted(result))  # the checked answer first (its notice, below, says how it was made)
    print_sources(result)
    if show_draft and result.draft:
        print("\nThe model's draft (unchecked; the answer above is what your documents support):")
        print("  " + "\n  ".join(result.draft.strip().splitlines()))
    if conversation is not None:
        print(f"Conversation: {conversation.id} (follow up with: ragkit ask --chat {conversation.id} QUESTION)")
    return 0


def set_modes(rk: Assistant, sql_mode: SqlMode | None, search_mode: SearchMode | None, as_csv: bool,
              docs_only: bool) -> None:  # fmt: skip
    """This question's SQL and search modes, where this ragkit (not a server) decides them."""
    if sql_mode and is_remote(rk):
        raise RagkitError(f"the server ({rk.url}) routes questions with its own [db] sql_mode: ask with --db NAME")
    if sql_mode:
        rk.settings.db.sql_mode = sql_mode
    if as_csv and (docs_only or not (is_remote(rk) or rk.settings.databases)):
        raise RagkitError("--csv gives a database answer's rows: use it with --db NAME (or without --docs-only)")
    if search_mode and is_remote(rk):
        raise RagkitError(f"the server ({rk.url}) ranks passages its own way (its retrieve.mode): drop --search-mode")
    if search_mode:
        rk.settings.retrieve.mode = search_mode


def ask_each(question: str, each: str | None, mode: Mode | None, as_json: bool, as_csv: bool, as_md: bool,
             other: bool) -> int:  # fmt: skip
    from ragkit.cli.each import run_each

    if each is None:
        raise RagkitError("--md writes the report of --each QUERY: give the query whose files to ask")
    if other:
        raise RagkitError("--each asks every file the query matches: --docs, --chat, --db and --docs-only do not apply")
    if as_json + as_csv + as_md > 1:
        raise RagkitError("--each prints one of --json, --csv or --md")
    return run_each(each, question, mode, "json" if as_json else "csv" if as_csv else "md" if as_md else "table")


def highlighted(result: Answer) -> str:
    """The answer, its leading short answer ("Maren Tolsvik, 1887 — …") in bold on a terminal."""
    short = (result.short_answer or {}).get("text", "")
    if not short or not result.answer.startswith(short) or not sys.stdout.isatty():
        return result.answer
    return f"\033[1;33m{short}\033[0m{result.answer[len(short) :]}"


class LiveDraft:
    """In a terminal, the model's reasoning and draft as it writes them, marked as unchecked, then
    erased once the checked answer is ready (what a person reads first is what was verified).
    Piped or redirected output never carries them."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.kind = ""
        self.lines = 0  # terminal lines written, wrapped ones counted
        self.column = 0
        self.width = shutil.get_terminal_size().columns or 80

    def write(self, kind: str, chunk: str) -> None:
        if not self.enabled:
            return
        if kind != self.kind:
            label = "Thinking: " if kind == "reasoning" else "Draft (unchecked, being verified): "
            self._put(("\n" if self.kind else "") + label)
            self.kind = kind
        self._put(chunk)

    def _put(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
        for ch in text:
            if ch == "\n" or self.column >= self.width:
                self.lines += 1
                self.column = 0 if ch == "\n" else 1
            else:
                self.column += 1

    def clear(self) -> None:
        if self.enabled and (self.lines or self.column):
            # to the first column of the first line written, then erase to the end of the screen
            sys.stdout.write(f"\r\x1b[{self.lines}A\x1b[J" if self.lines else "\r\x1b[J")
            sys.stdout.flush()


def print_sql_answer(answer: SqlAnswer, as_json: bool, as_csv: bool) -> int:
    if as_json:
        emit_json(answer.as_dict())
        return 0 if answer.result is not None else 1
    if as_csv:
        if answer.result is None:
            raise RagkitError(answer.answer)
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(answer.result.columns)
        writer.writerows(answer.result.rows)
        return 0
    print(answer.answer)
    for n, attempt in enumerate(answer.attempts, start=1):
        if attempt.error:
            print(f"\nattempt {n} failed: {attempt.error}\n  {attempt.sql}")
    if answer.result is None:
        return 1
    by = f"the rules, read as {answer.shape!r}" if answer.sql_by == "rules" else f"the model, {answer.model}"
    print(f"\nSQL ({answer.source}, written by {by}): {answer.result.sql}")
    print(f"{len(answer.result.rows)} row(s){' (the first ones)' if answer.result.truncated else ''}:\n")
    print_table(answer.result.columns, answer.result.rows[:50])
    if len(answer.result.rows) > 50:
        print(f"… and {len(answer.result.rows) - 50} more (--json for all)")
    how = "the model's, its numbers checked against the rows" if answer.by == "model" else "written from the rows"
    print(f"\nModel: {answer.model}; the sentence is {how}" if answer.sql_by == "model" else f"\nThe sentence is {how}")
    if answer.route:
        print("Asked of the database because its schema is closer to the question than your documents; --docs-only"
              " asks the documents")  # fmt: skip
    return 0


def conversation_for(rk: Assistant, chat: str | None) -> Conversation | None:
    from ragkit.answer.conversation import Conversation

    if chat is None:
        return None
    if chat == "new":
        return Conversation()
    if chat == "last":
        saved = rk.conversations.list()
        return rk.conversations.load(saved[0]["id"]) if saved else Conversation()
    try:
        return rk.conversations.load(chat)
    except FileNotFoundError:
        raise RagkitError(f"no saved conversation {chat!r}; 'ragkit ask --chat new ...' starts one") from None


def print_sources(result: Answer) -> None:
    if result.notice:
        print(f"\nNote: {result.notice}")
    citations = result.attribution.citations
    if citations:
        how = (
            "the passages quoted"
            if result.mode == "extract"
            else "cited by the model"
            if result.attribution.by == "model"
            else "matched to the answer"
        )
        print(f"\nCitations ({how}):")
        for c in citations:
            source = next((h for h in result.sources if h.path == c.path and h.start <= c.start < h.end), None)
            where = place(c.path, c.page, source.member if source else "")
            where += f" (also at {', '.join(shown_path(p) for p in source.also)})" if source and source.also else ""
            mark = "verified" if c.verified else "NOT verified"
            quote = " ".join(c.quote.split())
            quote = quote if len(quote) <= 160 else quote[:157] + "..."
            print(f"  [{c.n}] {where}, chars {c.start}-{c.end} ({mark})\n      \u201c{quote}\u201d")
    elif result.sources:
        searched = (result.retrieval or {}).get("queries") or [result.question]
        print("\nSearched for: " + "; ".join(f"\u201c{q}\u201d" for q in searched))
        print("Closest sources:")
        for n, hit in enumerate(result.sources, start=1):
            where = place(hit.path, hit.page, hit.member)
            print(f"  [{n}] {where} (score {hit.score:.3f})")
    unsupported = [" ".join(s.text.split()) for s in result.attribution.unsupported]
    if not result.declined and unsupported:
        print("\nNot verified against your documents (treat with care):")
        for sentence in unsupported:
            print(f"  ✗ {sentence}")
    print(f"\nModel: {result.model_note or result.model}")


COMMANDS = [ask]
