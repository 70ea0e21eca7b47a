"""``ragkit ask --each QUERY QUESTION`` over 50 generated contracts: every matching file gets a
row, each answer quotes its own file, the files that do not answer are listed as such; the
CSV and Markdown reports say the same; a run killed mid-way leaves only whole rows, and Ctrl-C
keeps the rows already written."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import ragkit

QUESTION = "How much notice is needed to terminate the contract?"
SILENT = {10, 20, 30, 40, 50}  # the contracts that say nothing of ending them


def contract(n: int) -> str:
    text = (
        f"Service contract {n:02d}\n\nThis contract is made between Harbour Supplies and client number {n}."
        " The supplier delivers office goods every month.\n\n"
    )
    if n in SILENT:
        return text + "The contract is governed by the laws of Norway. Disputes go to the Bergen court.\n"
    return text + f"Either party may terminate this contract by giving {10 + n} days of written notice.\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("each")
    docs = root / "docs"
    docs.mkdir()
    for n in range(1, 51):
        (docs / f"contract-{n:02d}.txt").write_text(contract(n))
    (docs / "unrelated.txt").write_text("The canteen menu changes on Mondays.\n")
    assert ragkit("index", docs, home=root / "home").code == 0
    return root / "home"


def number(path: str) -> int:
    return int(Path(path).stem.split("-")[1])


def test_every_matching_file_is_answered_or_listed(home: Path) -> None:
    done = ragkit("ask", QUESTION, "--each", "contract", "--json", home=home)
    assert done.code == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(number(r["path"]) for r in rows) == list(range(1, 51))  # the canteen file did not match
    for row in rows:
        n = number(row["path"])
        if n in SILENT:
            assert not row["answered"] and not row["quotes"], row
        else:
            assert row["answered"] and f"{10 + n} days" in row["quotes"][0]["quote"], row
            text = Path(row["path"]).read_text()
            first = row["quotes"][0]
            assert text[first["start"] : first["end"]] == first["quote"]  # the span, in its own file
    assert "45 of 50 file(s) answer the question; 5 do not" in done.stderr


def test_the_csv_and_markdown_reports_say_the_same(home: Path) -> None:
    table = ragkit("ask", QUESTION, "--each", "contract type:txt", "--csv", home=home)
    rows = list(csv.DictReader(table.stdout.splitlines()))
    assert len(rows) == 50 and sum(r["answered"] == "True" for r in rows) == 45
    report = ragkit("ask", QUESTION, "--each", "contract", "--md", home=home).stdout.splitlines()
    assert report[0] == f"# {QUESTION}"
    body = [line for line in report if line.startswith("| /")]
    assert len(body) == 50 and sum("*nothing answers*" in line for line in body) == 5
    wrong = ragkit("ask", QUESTION, "--each", "contract", "--csv", "--md", home=home)
    assert wrong.code != 0 and "one of --json, --csv or --md" in wrong.stderr
    unchecked = ragkit("ask", QUESTION, "--each", "contract", "--mode", "generate", home=home)
    assert unchecked.code == 1 and "not generate" in unchecked.stderr  # a row holds what its file says


def test_a_killed_run_leaves_whole_rows_and_ctrl_c_keeps_what_is_done(home: Path) -> None:
    killed = ragkit("ask", QUESTION, "--each", "contract", "--json", home=home, env={"RAGKIT_KILL_AT": "each-row:3"})
    assert killed.code == -signal.SIGKILL
    assert len([json.loads(line) for line in killed.stdout.splitlines()]) == 2  # two whole rows, no part of a third

    # Ctrl-C while the third file's row waits to be written (held there, so a busy machine
    # cannot finish the run before the signal lands: seen once under load)
    held = dict(os.environ, RAGKIT_HOME=str(home), RAGKIT_HOLD_AT="each-row:3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragkit", "ask", QUESTION, "--each", "contract", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=held,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline() + proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    rest, errors = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "stopped: 2 file(s) answered" in errors, errors
    kept = [json.loads(line) for line in (first + rest).splitlines()]
    assert len(kept) == 2  # what was done, whole, and nothing after the signal
