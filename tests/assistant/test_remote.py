"""The whole office path on real servers on loopback: vectors in a `chroma run` server, the
model behind `python -m llama_cpp.server` (the packaged model), `ragkit serve` over both, and
colleagues' machines using it through `ragkit --server URL`: the CLI's ask, search, find and
status, and the terminal UI (Pilot). Keys missing, wrong, revoked and out of scope."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from textual.widgets import ListView, Static

from ragkit.answer.conversation import ConversationStore
from ragkit.assistant.remote import RemoteAssistant
from ragkit.core.config import load_settings
from ragkit.llm.catalog import packaged_chat_model
from ragkit.search.found import MARK_END, MARK_START, marked_spans
from tests.conftest import README_QUESTION, SAMPLES, shared_data
from tests.helpers.cli import Result, ragkit
from tests.helpers.servers import create_keys, free_port, running, serving
from tests.helpers.tui import ask, until
from tui.app import RagkitApp, remote_factory
from tui.messages import Done, FacadeReady, Failed, PassageLoaded
from tui.widgets import TurnView


@dataclass
class Office:
    url: str
    home: Path  # the server's
    docs: Path
    keys: dict[str, str]
    llm_url: str
    chroma_url: str


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("office")
    home, docs = root / "server-home", root / "docs"
    (docs / "public").mkdir(parents=True)
    (docs / "accounts").mkdir()
    for name in ("shared-mime-info-spec.pdf", "users-and-groups.txt"):
        shutil.copy(SAMPLES / name, docs / "public")
    (docs / "accounts" / "ledger.txt").write_text("The Tolsvik account paid 2,500 kroner to Acme on 3 May.\n")
    packaged = packaged_chat_model()
    assert packaged is not None
    chroma_port, llm_port = free_port(), free_port()
    chroma_url, llm_url = (f"http://127.0.0.1:{p}" for p in (chroma_port, llm_port))
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(root / "chroma"),
              "--host", "127.0.0.1", "--port", str(chroma_port)]  # fmt: skip
    llm = [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged.path), "--model_alias", "smollm2",
           "--host", "127.0.0.1", "--port", str(llm_port), "--n_ctx", "4096", "--verbose", "false"]  # fmt: skip
    server_env = {
        "RAGKIT_STORE__URL": chroma_url, "RAGKIT_LLM__BACKEND": "openai", "RAGKIT_LLM__URL": llm_url,
    }  # fmt: skip
    with (
        running(chroma, lambda: httpx.get(chroma_url + "/api/v2/heartbeat", timeout=1).status_code == 200,
                root / "chroma.log"),
        running(llm, lambda: httpx.get(llm_url + "/v1/models", timeout=1).status_code == 200, root / "llm.log"),
    ):  # fmt: skip
        for name in ("public", "accounts"):
            assert ragkit("collections", "add", name, docs / name, home=home).code == 0
        chinook = shared_data("chinook", "Chinook_Sqlite.sqlite")
        assert ragkit("db", "add", "music", f"sqlite:///{chinook}", home=home).code == 0
        keys = create_keys(home, [("admin", []), ("press", ["--collections", "public"]), ("gone", []),
                                  ("reader", ["--read-only"])])  # fmt: skip
        assert ragkit("keys", "revoke", "gone", home=home).code == 0
        admin = {"Authorization": f"Bearer {keys['admin']}"}

        def ready(url: str) -> bool:  # up, and its first sync of the collections' folders done
            state = httpx.get(url + "/v1/status", headers=admin, timeout=5)
            return state.status_code == 200 and state.json()["files"] == 3

        with serving(home, root, ready=ready, env=server_env, deadline_s=600) as url:
            yield Office(url, home, docs, keys, llm_url, chroma_url)


def client(office: Office, *args: str | Path, key: str | None = "admin", home: Path, **env: str) -> Result:
    """``ragkit`` on a colleague's machine: its own empty home, the server in RAGKIT_SERVER."""
    variables = {"RAGKIT_SERVER": office.url, **env}
    if key:
        variables["RAGKIT_API_KEY"] = office.keys.get(key, key)
    return ragkit(*args, home=home, env=variables)


def test_the_vectors_live_in_the_chroma_server_and_the_model_behind_llama_cpp(office: Office, tmp_path: Path) -> None:
    state = client(office, "status", "--json", home=tmp_path).json()
    assert state["server"] == office.url and state["files"] == 3 and state["failed"] == 0
    assert f"served by {office.llm_url}" in state["model"]
    collections = httpx.get(office.chroma_url + "/api/v2/tenants/default_tenant/databases/default_database/collections")
    counts = [
        httpx.get(office.chroma_url + f"/api/v2/tenants/default_tenant/databases/default_database/collections/"
                  f"{c['id']}/count").json()
        for c in collections.json()
    ]  # fmt: skip
    assert sum(counts) == state["chunks"] > 0  # every chunk's vector is in the Chroma server


def test_the_remote_cli_searches_finds_and_reports_status(office: Office, tmp_path: Path) -> None:
    hits = client(office, "search", "which user id does root have", "-k", "3", "--json", home=tmp_path).json()["hits"]
    assert Path(hits[0]["path"]).name == "users-and-groups.txt"
    assert hits[0]["path"].startswith(str(office.docs))  # the server's files, named as it knows them
    found = client(office, "find", "tolsvik", "--json", home=tmp_path).json()
    assert found["total"] == 1 and Path(found["files"][0]["path"]).name == "ledger.txt"
    shown = client(office, "find", '"shared MIME-info"', "--all", home=tmp_path)
    assert shown.code == 0 and "passages in 1 file(s)" in shown.stdout
    listed = [line for line in shown.stdout.splitlines() if line[:1].isdigit() and ". " in line]
    total = client(office, "find", '"shared MIME-info"', "--json", "--all", home=tmp_path).json()["total"]
    assert len(listed) == total > 10
    status = client(office, "status", home=tmp_path)
    assert status.code == 0 and f"server:   {office.url} (key admin" in status.stdout
    assert "public, accounts" in status.stdout or "accounts, public" in status.stdout
    assert not (tmp_path / "index").exists()  # nothing was indexed on this side


def test_a_remote_question_goes_to_the_servers_database_by_route_or_by_name(office: Office, tmp_path: Path) -> None:
    asked = client(office, "ask", "--db", "music", "How many tracks are there?", "--json", home=tmp_path)
    shown = asked.json()
    assert shown["mode"] == "sql" and shown["database"] == "music" and shown["attempts"], asked.stderr
    assert shown["sql_by"] == "rules"  # the server's default: the rules first
    by_model = client(office, "ask", "--db", "music", "How many tracks?", "--sql-mode", "model", "--json",
                      home=tmp_path)  # fmt: skip
    assert by_model.json()["sql_by"] == "model" and by_model.json()["model"] != "rules (no model)", by_model.stderr
    question = "How many tracks does each music genre have?"
    routed = client(office, "ask", question, "--mode", "extract", "--json", home=tmp_path)
    assert "asked of database music" in routed.stderr  # the route, streamed from the server
    kept = client(office, "ask", question, "--mode", "extract", "--docs-only", "--json", home=tmp_path)
    assert "music" not in kept.stderr and kept.json()["mode"] == "extract"
    refused = client(office, "ask", "--db", "music", "How many tracks?", key="press", home=tmp_path)
    assert refused.code == 1 and "may not use the database 'music'" in refused.stderr


def test_all_hits_come_page_by_page_with_their_marks(office: Office, tmp_path: Path) -> None:
    remote = RemoteAssistant(load_settings(home=tmp_path), office.url, office.keys["admin"])
    remote.find_page = 4  # the server sends at most this many at once
    try:
        everything = remote.find('"shared MIME-info"', 0, None)
        assert len(everything.hits) == everything.total > 8
        assert len({(h.path, h.page, h.start) for h in everything.hits}) == everything.total  # none twice
        assert len(remote.find('"shared MIME-info"', 2, 6).hits) == 6
        for hit in everything.hits[:3]:  # the matched words marked as the server marked them
            plain = hit.snippet.replace(MARK_START, "").replace(MARK_END, "")
            assert next(plain[a:b] for a, b in marked_spans(hit.snippet)).lower().startswith("shared")
    finally:
        remote.close()


def test_a_remote_answer_streams_with_verified_citations_and_follow_ups_are_kept_here(
    office: Office, tmp_path: Path
) -> None:
    asked = client(office, "ask", README_QUESTION, "--chat", "new", home=tmp_path)
    assert asked.code == 0, asked.stderr
    assert "Citations" in asked.stdout and "(verified)" in asked.stdout and "NOT verified" not in asked.stdout
    assert f"served by {office.llm_url}" in asked.stdout  # the model that answered, behind the server
    follow = client(office, "ask", "And which file describes them?", "--chat", "last", "--json", home=tmp_path)
    assert follow.code == 0, follow.stderr
    answer = follow.json()
    conversations = ConversationStore(tmp_path / "conversations")
    saved = conversations.load(conversations.list()[0]["id"])
    assert [t.question for t in saved.turns] == [README_QUESTION, "And which file describes them?"]
    assert answer["conversation"] == saved.id
    for citation in answer["citations"]:
        assert citation["verified"] and citation["path"].startswith(str(office.docs))
    # the server's audit log names the key and both questions
    entries = ragkit("audit", "tail", "-n", "200", "--json", home=office.home).json()["entries"]
    questions = [e.get("question") for e in entries if e["endpoint"] == "/v1/chat/completions" and e["key"] == "admin"]
    assert README_QUESTION in questions and "And which file describes them?" in questions


def test_remote_keys_missing_wrong_revoked_and_out_of_scope_get_clear_errors(office: Office, tmp_path: Path) -> None:
    for key in (None, "rk_wrong", "gone"):
        refused = client(office, "search", "root", key=key, home=tmp_path)
        assert refused.code == 1 and "RAGKIT_API_KEY" in refused.stderr and "Traceback" not in refused.stderr
    press = client(office, "find", "tolsvik", "--json", key="press", home=tmp_path).json()
    assert press["total"] == 0  # the ledger is in a collection the key may not read
    denied = ragkit(
        "--server", office.url, "--collection", "accounts", "find", "tolsvik", home=tmp_path,
        env={"RAGKIT_API_KEY": office.keys["press"]},
    )  # fmt: skip
    assert denied.code == 1 and "may not read the collection 'accounts'" in denied.stderr
    scoped = client(office, "--collection", "public", "search", "tolsvik acme", "--json", home=tmp_path).json()
    assert all("/public/" in h["path"] for h in scoped["hits"])


def test_ask_each_over_the_server_asks_the_keys_own_files(office: Office, tmp_path: Path) -> None:
    question = "How much did the Tolsvik account pay?"
    rows = client(office, "ask", question, "--each", "tolsvik OR acme", "--json", home=tmp_path)
    assert rows.code == 0, rows.stderr
    ledger = [json.loads(line) for line in rows.stdout.splitlines() if "ledger.txt" in line]
    assert ledger and ledger[0]["answered"] and "2,500 kroner" in ledger[0]["quotes"][0]["quote"]
    # the client reads the rows as JSON lines while the server asks the files: a count, rows, an end
    asked = {"question": question, "query": "tolsvik OR acme", "stream": True}
    bearer = {"Authorization": f"Bearer {office.keys['admin']}"}
    with httpx.stream("POST", office.url + "/v1/each", json=asked, headers=bearer, timeout=300) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        said = [json.loads(line) for line in response.iter_lines()]
    assert said[0] == {"files": len(said) - 2} and said[-1] == {"done": True}
    assert [s["row"]["path"] for s in said[1:-1]] == [json.loads(line)["path"] for line in rows.stdout.splitlines()]
    press = client(office, "ask", question, "--each", "tolsvik OR acme", "--json", key="press", home=tmp_path)
    assert press.code == 0 and "ledger.txt" not in press.stdout  # not a file the key may read
    entries = ragkit("audit", "tail", "-n", "50", "--json", home=office.home).json()["entries"]
    assert any(e["endpoint"] == "/v1/each" and e["key"] == "press" and e.get("query") for e in entries)


def test_what_only_the_server_can_do_is_refused_with_the_reason(office: Office, tmp_path: Path) -> None:
    indexing = ragkit("--server", office.url, "index", SAMPLES, home=tmp_path)
    assert indexing.code == 1 and "works on this machine" in indexing.stderr
    docs = client(office, "ask", "anything", "--docs", SAMPLES, home=tmp_path)
    assert docs.code == 1 and "indexing is done on the server's machine" in docs.stderr
    merge = client(office, "entities", "merge", "ACME", "Acme Corp", home=tmp_path)
    assert merge.code == 1 and "entities merge is done on the server's machine" in merge.stderr
    nowhere = ragkit("--server", f"http://127.0.0.1:{free_port()}", "status", home=tmp_path)
    assert nowhere.code == 1 and "cannot reach the ragkit server" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    bad = ragkit("--server", "127.0.0.1:8765", "status", home=tmp_path)
    assert bad.code == 1 and "not an http:// or https:// URL" in bad.stderr


def test_saved_searches_on_the_server_and_what_a_read_only_key_may_do(office: Office, tmp_path: Path) -> None:
    saved = client(office, "find", "--save", "acme-watch", "acme", home=tmp_path)
    assert saved.code == 0, saved.stderr
    listed = client(office, "searches", "list", "--json", key="reader", home=tmp_path).json()["searches"]
    assert [(s["name"], s["new"]) for s in listed] == [("acme-watch", 0)]  # a read-only key may look
    # a read-only key may search and ask, but not change anything
    for args in (("find", "--save", "mine", "acme"), ("searches", "run", "acme-watch"),
                 ("searches", "remove", "acme-watch")):  # fmt: skip
        refused = client(office, *args, key="reader", home=tmp_path)
        assert refused.code == 1 and "read-only" in refused.stderr, args
    assert client(office, "find", "acme", "--count", key="reader", home=tmp_path).code == 0
    limited = client(office, "searches", "list", key="press", home=tmp_path)
    assert limited.code == 1 and "limited" in limited.stderr  # saved searches span every collection
    # the server's watcher finds a new match; the remote status and run report it
    (office.docs / "accounts" / "memo.txt").write_text("Acme asked for the second payment in June.\n")
    deadline = time.monotonic() + 60
    while client(office, "searches", "list", "--json", home=tmp_path).json()["searches"][0]["new"] != 1:
        assert time.monotonic() < deadline, "the server never reported the new match"
        time.sleep(0.5)
    ran = client(office, "searches", "run", "acme-watch", "--json", home=tmp_path).json()
    assert [Path(m["path"]).name for m in ran["new"]] == ["memo.txt"] and ran["result"]["total"] == 2
    assert "second payment" in ran["new"][0]["snippet_text"]
    assert client(office, "searches", "run", "acme-watch", "--json", home=tmp_path).json()["new"] == []
    missing = client(office, "searches", "run", "no-such-search", home=tmp_path)
    assert missing.code == 1 and "no-such-search" in missing.stderr
    assert client(office, "searches", "remove", "acme-watch", home=tmp_path).code == 0
    assert client(office, "searches", "list", "--json", home=tmp_path).json()["searches"] == []


# --- the terminal UI over the server ---------------------------------------------------


@pytest.mark.anyio
async def test_the_terminal_ui_works_over_the_server(
    office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGKIT_HOME", str(tmp_path / "client"))
    monkeypatch.setenv("RAGKIT_API_KEY", office.keys["admin"])
    app = RagkitApp(factory=remote_factory(office.url), watch=True)
    async with app.run_test(size=(150, 45)) as pilot:
        await until(pilot, lambda: any(isinstance(e, FacadeReady) for e in app.events), what="the server")
        index = app.query_one("#index", Static)
        await until(pilot, lambda: f"on {office.url}" in str(index.render()), what="the server's index state")
        admin = {"Authorization": f"Bearer {office.keys['admin']}"}
        files = httpx.get(office.url + "/v1/status", headers=admin).json()["files"]
        assert f"{files} files" in str(index.render())
        await ask(pilot, README_QUESTION)
        await until(pilot, lambda: any(isinstance(e, Done) for e in app.events), timeout=300, what="the answer")
        done = next(e for e in app.events if isinstance(e, Done))
        assert done.result["citations"] and all(c["verified"] for c in done.result["citations"])
        assert app.query_one(TurnView).answer_text  # streamed as the server sent it
        assert len(app.query_one("#sources", ListView).children) == len(done.result["citations"])
        # the cited span, read on the server
        await until(pilot, lambda: any(isinstance(e, PassageLoaded) for e in app.events), what="the passage")
        passage = next(e for e in app.events if isinstance(e, PassageLoaded)).passage
        assert passage["span"].split() == done.result["citations"][0]["quote"].split()
        # search mode: exact hits counted by the server
        await pilot.press("ctrl+s")
        await ask(pilot, "tolsvik")
        await until(pilot, lambda: sum(isinstance(e, Done) for e in app.events) == 2, what="the search")
        found = [e for e in app.events if isinstance(e, Done)][-1].result
        assert found["retrieval"]["exact"]["total"] == 1 and Path(found["sources"][0]["path"]).name == "ledger.txt"
        # opening a file is for files on this machine: a warning says why, no crash
        await pilot.press("ctrl+o")
        await until(pilot, lambda: any(isinstance(e, Failed) for e in app.events), what="the refusal")
        refusal = next(e for e in app.events if isinstance(e, Failed))
        assert "is on the server" in refusal.error
    assert app.facade is not None
    app.facade.close()
    assert not (tmp_path / "client" / "index").exists()
