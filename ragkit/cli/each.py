"""``ragkit ask --each QUERY QUESTION``: the question asked of every file the query matches, a
row per file as it is answered: a table on the terminal, JSON lines, CSV, or a Markdown report."""

from __future__ import annotations

import csv
import json
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

from ragkit.answer.answerer import Mode
from ragkit.cli.common import open_assistant
from ragkit.cli.output import shown_path
from ragkit.core.faults import kill_point

Form = Literal["table", "json", "csv", "md"]
CSV_FIELDS = ["path", "answered", "answer", "short_answer", "page", "start", "end", "quote"]


def run_each(query: str, question: str, mode: Mode | None, form: Form) -> int:
    """Rows written as they come (each whole, then flushed); Ctrl-C stops with those kept."""
    rk = open_assistant(warm_queries=True)
    done = answered = 0
    ctrl_c = CtrlC()
    try:
        files, rows = rk.ask_each(question, query, mode)
        head(form, query, question, files)
        tty = sys.stderr.isatty()
        for row in rows:
            if tty:
                print(f"\r[{done + 1}/{files}] ", end="", file=sys.stderr, flush=True)
            first = row.quotes[0] if row.quotes else {}
            if form == "json":
                line = json.dumps(row.as_dict(), ensure_ascii=False)
            elif form == "csv":
                line = _csv_line([row.path, row.answered, row.answer, row.short_answer, first.get("page"),
                                  first.get("start"), first.get("end"), first.get("quote", "")])  # fmt: skip
            elif form == "md":
                where = f"{row.path}" + (f", page {first['page']}" if first.get("page") else "")
                span = f" ({first['start']}–{first['end']})" if first else ""
                line = f"| {_md(where)}{span} | {_md(row.answer) if row.answered else '*nothing answers*'} |"
            else:
                mark = "✓" if row.answered else "–"
                line = f"{mark} {shown_path(row.path)}\n    {row.answer}"
            kill_point("each-row")
            with ctrl_c.deferred():  # written whole and counted, or neither: Ctrl-C says what is above
                sys.stdout.write(line + "\n")  # at once: a run killed here leaves no half row
                sys.stdout.flush()
                done, answered = done + 1, answered + row.answered
    except KeyboardInterrupt:
        print(f"\nstopped: {done} file(s) answered of those matched; their rows are above", file=sys.stderr)
        return 130
    finally:
        ctrl_c.restore()
        rk.close()
    print(f"\n{answered} of {done} file(s) answer the question; {done - answered} do not", file=sys.stderr)
    return 0


class CtrlC:
    """Ctrl-C as a KeyboardInterrupt, except inside ``deferred()``, where it lands at the end."""

    def __init__(self) -> None:
        self.inside = self.pending = False
        self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if not self.inside:
            raise KeyboardInterrupt
        self.pending = True

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self.inside = True
        try:
            yield
        finally:
            self.inside = False
        if self.pending:
            raise KeyboardInterrupt

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self.previous)


def head(form: Form, query: str, question: str, files: int) -> None:
    print(f"{files} file(s) match {query!r}; asking each: {question}", file=sys.stderr)
    if form == "csv":
        sys.stdout.write(_csv_line(CSV_FIELDS) + "\n")
    elif form == "md":
        print(f"# {_md(question)}\n\nQuery: `{query}` · {time.strftime('%Y-%m-%d')} · {files} file(s)\n")
        print("| file | answer (quoted from the file) |\n|---|---|")
    sys.stdout.flush()


def _csv_line(values: Sequence[object]) -> str:
    out: list[str] = []

    class Sink:
        def write(self, text: str) -> int:
            out.append(text)
            return len(text)

    csv.writer(Sink(), lineterminator="").writerow(values)
    return "".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
