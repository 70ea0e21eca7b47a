"""Every CLI command for real: real Chroma, real embedder, real llama.cpp on the packaged model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import load
from ragkit.answer.answerer import BACKED_ONLY, NOT_FOUND
from tests.conftest import README_QUESTION, SAMPLES
from tests.helpers.cli import ragkit


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One home with samples/ indexed, shared by the read-only tests of this module."""
    home = tmp_path_factory.mktemp("home")
    result = ragkit("index", SAMPLES, "--json", home=home)
    assert result.code == 0, result.stderr
    return home, result.json()


def test_index_reports_the_contract_shape(indexed: tuple[Path, dict]) -> None:
    _, report = indexed
    assert set(report) >= {"added", "updated", "removed", "unchanged", "failed", "files", "chunks"}
    assert report["added"] == 5 and report["failed"] == [] and report["files"] == 5
    assert report["chunks"] > 20


def test_second_index_run_changes_nothing(indexed: tuple[Path, dict]) -> None:
    home, first = indexed
    again = ragkit("index", SAMPLES, "--json", home=home).json()
    assert (again["added"], again["updated"], again["removed"], again["unchanged"]) == (0, 0, 0, 5)
    assert again["embedded"] == 0
    assert again["chunks"] == first["chunks"]


def test_search_json_shape_and_relevance(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    result = ragkit("search", "which user id does root have", "-k", "3", "--json", home=home)
    assert result.code == 0, result.stderr
    hits = result.json()["hits"]
    assert len(hits) == 3
    assert set(hits[0]) >= {"path", "page", "start", "end", "score", "text"}
    assert hits[0]["filetype"] == "txt" and hits[0]["mtime"] > 0
    assert Path(hits[0]["path"]).name == "users-and-groups.txt"
    # the score is the cosine to the query; ranked by it alone in dense mode
    dense = ragkit("search", "which user id does root have", "-k", "3", "--mode", "dense", "--json", home=home)
    scores = [hit["score"] for hit in dense.json()["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_search_hit_on_pdf_has_page_and_exact_span(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    hits = ragkit("search", "shared MIME database XML file format glob patterns", "--json", home=home).json()["hits"]
    pdf_hits = [h for h in hits if h["path"].endswith(".pdf")]
    assert pdf_hits, hits
    hit = pdf_hits[0]
    pages = {s.page: s.text for s in load(Path(hit["path"]))}
    assert pages[hit["page"]][hit["start"] : hit["end"]] == hit["text"]


def test_status_json_shape(indexed: tuple[Path, dict]) -> None:
    home, report = indexed
    status = ragkit("status", "--json", home=home).json()
    assert {k: status[k] for k in ("files", "chunks", "failed")} == {
        "files": 5,
        "chunks": report["chunks"],
        "failed": 0,
    }
    assert status["embedder"] == "all-MiniLM-L6-v2"
    assert Path(status["index_path"]).is_relative_to(home)


def test_ask_json_gives_answer_with_citations_to_real_spans(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    result = ragkit(
        "ask", "What does inflate() return when it reaches the end of the compressed data?", "--json", home=home
    )
    assert result.code == 0, result.stderr
    answer = result.json()
    assert set(answer) >= {"answer", "reasoning", "citations", "model"}
    assert answer["model"] == "smollm2-135m"
    assert answer["answer"].strip()
    assert answer["citations"], answer
    for citation in answer["citations"]:
        assert set(citation) >= {"n", "path", "page", "start", "end", "quote"}
        path = Path(citation["path"])
        assert path.parent == SAMPLES
        texts = {s.page: s.text for s in load(path)} if path.suffix == ".pdf" else {None: load(path)[0].text}
        if path.suffix == ".md":
            texts = {None: path.read_text()}
        assert texts[citation["page"]][citation["start"] : citation["end"]] == citation["quote"]


def test_ask_human_output_streams_answer_then_citations(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    result = ragkit("ask", "What is the uid of the root user?", home=home)
    assert result.code == 0, result.stderr
    assert "Model: smollm2-135m" in result.stdout
    assert "Citations" in result.stdout or "Closest sources" in result.stdout


def test_ask_with_docs_indexes_first(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLES / "repeatable-installs.md", docs)
    result = ragkit("ask", "How can I make pip installs repeatable?", "--docs", docs, "--json", home=tmp_path / "h")
    assert result.code == 0, result.stderr
    answer = result.json()
    assert answer["sources"] and all(s["path"].endswith("repeatable-installs.md") for s in answer["sources"])
    assert all(c["path"].endswith("repeatable-installs.md") for c in answer["citations"])
    if answer["grounded"]:  # shown as an answer: backed by a verified citation, saying how it was made
        assert any(c["verified"] for c in answer["citations"])
        if answer["mode"] == "extract":
            assert answer["notice"].startswith("Quoted from your documents") and answer["draft"]
        else:  # the model's answer, whole or only its verified sentences
            assert answer["notice"] in ("", BACKED_ONLY)
    else:  # not shown as an answer: said plainly, with the reason
        assert answer["answer"] == NOT_FOUND and answer["notice"]


def test_readme_question_gets_a_verified_citation_to_a_pdf_page(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    answer = ragkit("ask", README_QUESTION, "--json", home=home).json()
    verified = [c for c in answer["citations"] if c["verified"]]
    assert verified, answer
    assert any(c["path"].endswith("shared-mime-info-spec.pdf") and c["page"] >= 1 for c in verified)
    assert answer["grounded"] is True


def test_python_m_ragkit_cli_runs_every_command(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    env = dict(os.environ, RAGKIT_HOME=str(home))
    for args in (["status", "--json"], ["model", "list", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ragkit.cli.main", *args], capture_output=True, text=True, env=env, check=False
        )
        assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["name"] == "smollm2-135m"


def test_ask_before_indexing_names_the_fix(tmp_path: Path) -> None:
    result = ragkit("ask", "anything?", home=tmp_path / "empty")
    assert result.code == 1
    assert "ragkit index" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_path_is_one_clear_line(tmp_path: Path) -> None:
    result = ragkit("index", tmp_path / "nope", home=tmp_path / "h")
    assert result.code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "path not found" in result.stderr and "Traceback" not in result.stderr


def test_empty_folder_indexes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = ragkit("index", tmp_path / "empty", "--json", home=tmp_path / "h")
    assert result.code == 0, result.stderr
    report = result.json()
    assert (report["added"], report["files"], report["chunks"], report["failed"]) == (0, 0, 0, [])


def test_bad_file_is_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLES / "repeatable-installs.md", docs)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj garbage")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 20)
    home = tmp_path / "h"
    report = ragkit("index", docs, "--json", home=home).json()
    assert report["files"] == 1 and report["added"] == 1
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    assert set(failed) == {"broken.pdf", "binary.txt"}
    assert "PDF" in failed["broken.pdf"] and "binary" in failed["binary.txt"]
    status = ragkit("status", "--json", home=home).json()
    assert status["failed"] == 2
    human = ragkit("status", home=home).stdout
    assert "broken.pdf" in human


def test_an_index_cut_otherwise_is_rebuilt_by_the_next_run_which_says_so_once(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "h"
    docs.mkdir()
    shutil.copy(SAMPLES / "repeatable-installs.md", docs)
    assert ragkit("index", docs, home=home).code == 0
    smaller = {"RAGKIT_CHUNK__MAX_TOKENS": "64"}
    found = ragkit("search", "repeatable installs", "--json", home=home, env=smaller)
    assert found.code == 0 and found.json()["hits"], found.stderr  # searched as it is meanwhile
    due = ragkit("status", home=home, env=smaller).stdout
    assert "chunk_tokens: 254 -> 64): the next index run rebuilds it" in due, due
    first = ragkit("index", docs, home=home, env=smaller)
    assert first.code == 0, first.stderr
    assert "chunk_tokens: 254 -> 64): rebuilt, every file read again" in first.stdout, first.stdout
    second = ragkit("index", docs, "--json", home=home, env=smaller)
    assert second.json()["rebuilt"] == "" and second.json()["unchanged"] == 1
    assert ragkit("status", "--json", home=home, env=smaller).json()["rebuild_due"] == ""


def test_ask_chat_continues_a_saved_conversation(indexed: tuple[Path, dict]) -> None:
    home, _ = indexed
    first = ragkit("ask", README_QUESTION, "--chat", "new", "--json", home=home)
    assert first.code == 0, first.stderr
    conversation = first.json()["conversation"]
    assert conversation and (home / "conversations" / f"{conversation}.json").exists()
    again = ragkit("ask", "What is that XML file named after?", "--chat", "last", "--json", home=home)
    assert again.code == 0, again.stderr
    assert again.json()["conversation"] == conversation
    saved = json.loads((home / "conversations" / f"{conversation}.json").read_text())
    assert [t["question"] for t in saved["turns"]] == [README_QUESTION, "What is that XML file named after?"]
    assert all("reasoning" in t for t in saved["turns"])
    missing = ragkit("ask", "x", "--chat", "nope", home=home)
    assert missing.code == 1 and "--chat new" in missing.stderr


def test_the_checked_answer_comes_first_and_piped_output_never_carries_the_draft(indexed: tuple[Path, dict]) -> None:
    """README command 1: what a person reads first is the verified answer, then its citations;
    the packaged model's draft (fluent and often wrong) is shown only when asked for, labelled."""
    home, _ = indexed
    env = {"RAGKIT_LLM__TEMPERATURE": "0"}  # the same draft in each run below
    data = ragkit("ask", README_QUESTION, "--json", home=home, env=env).json()
    assert data["draft"], "the packaged model's draft did not verify here: no draft to keep out of sight"
    piped = ragkit("ask", README_QUESTION, home=home, env=env)
    assert piped.code == 0, piped.stderr
    first_line = data["answer"].strip().splitlines()[0]
    assert piped.stdout.lstrip().startswith(first_line), piped.stdout[:400]
    assert piped.stdout.index("Citations") > piped.stdout.index(first_line)
    draft_lines = [line.strip() for line in data["draft"].splitlines() if len(line.strip()) > 20]
    assert draft_lines and not any(line in piped.stdout for line in draft_lines if line not in data["answer"])
    assert "Draft" not in piped.stdout and "Thinking" not in piped.stdout and "\x1b" not in piped.stdout


def test_in_a_terminal_the_draft_streams_marked_and_is_erased_for_the_checked_answer(
    indexed: tuple[Path, dict],
) -> None:
    import pty

    home, _ = indexed
    controller, terminal = pty.openpty()
    env = dict(os.environ, RAGKIT_HOME=str(home), RAGKIT_LLM__TEMPERATURE="0", COLUMNS="100", LINES="40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragkit", "ask", README_QUESTION, "--show-draft"], stdin=terminal, stdout=terminal,
        stderr=terminal,
        env=env, close_fds=True,
    )  # fmt: skip
    os.close(terminal)
    out = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(600) == 0, out.decode(errors="replace")[-2000:]
    os.close(controller)
    text = out.decode(errors="replace")
    marked = text.index("Draft (unchecked, being verified): ")
    erased = text.index("\x1b[J", marked)  # the draft is wiped from the screen ...
    citations = text.index("Citations", erased)  # ... before the checked answer and its citations;
    assert text.index("The model's draft (unchecked", citations) > citations  # --show-draft: after them, labelled


def test_ask_takes_the_question_before_or_after_docs(tmp_path: Path) -> None:
    """A newcomer's first try, ``ragkit ask --docs notes "what is due?"``, failed: --docs took the
    question as one more path."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("The Hellesylt invoice is due on the ninth of May.\n")
    home = tmp_path / "home"
    for args in (["--docs", notes, "When is the Hellesylt invoice due?"],
                 ["When is the Hellesylt invoice due?", "--docs", notes]):  # fmt: skip
        result = ragkit("ask", *args, "--mode", "extract", "--json", home=home)
        assert result.code == 0, result.stderr
        answer = result.json()
        assert answer["question"] == "When is the Hellesylt invoice due?"
        assert "ninth of May" in answer["answer"] and answer["citations"][0]["path"].endswith("todo.txt")
    missing = ragkit("ask", "--docs", notes, home=home)
    assert missing.code != 0 and 'ragkit ask "QUESTION"' in missing.stderr
