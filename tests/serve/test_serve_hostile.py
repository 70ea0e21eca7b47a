"""`ragkit serve` attacked as a colleague with a key limited to one collection, or as nobody
(docs/security.md names these tests): symlinks made before indexing and while the watcher runs,
and the last key revoked on a server that listens to the network."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.helpers.cli import ragkit
from tests.helpers.servers import Office, create_keys, free_port, running, serving


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    """Two collections, A and B; A holds a link to B's secret and one out of the share, made
    before the first index run (the collections exist by then)."""
    root = tmp_path_factory.mktemp("hostile")
    home, docs = root / "home", root / "docs"
    (docs / "A").mkdir(parents=True)
    (docs / "B").mkdir()
    (docs / "A" / "memo.txt").write_text("The Kvaløy memo concerns the quarterly budget.\n")
    (docs / "B" / "secret.txt").write_text("The Brattvåg merger is confidential until March.\n")
    (root / "private.txt").write_text("Nobody shares the Ulsteinvik diary.\n")
    for name in ("A", "B"):  # one content at two places, one in each collection
        (docs / name / "circular.txt").write_text("The Vartdal circular reaches every office on Friday.\n")
    (docs / "A" / "to-b.txt").symlink_to(docs / "B" / "secret.txt")
    (docs / "A" / "to-private.txt").symlink_to(root / "private.txt")
    for name in ("A", "B"):
        assert ragkit("collections", "add", name, docs / name, home=home).code == 0
    assert ragkit("index", docs, home=home).code == 0
    ledger = root / "ledger.db"  # A's database, its rows indexed as documents, limited to the admin's key
    with sqlite3.connect(ledger) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes VALUES (1, 'The Fosnavåg payment went to a private account.')")
    db.close()
    added = ragkit("db", "add", "ledger", f"sqlite:///{ledger}", "--text-columns", "notes.body", "--collections", "A",
                   "--keys", "admin", home=home)  # fmt: skip
    assert added.code == 0, added.stderr
    assert ragkit("db", "sync", home=home).code == 0
    keys = create_keys(home, [("admin", []), ("a-only", ["--collections", "A"]), ("b-only", ["--collections", "B"]),
                              ("streamer", []), ("clerk", [])])  # fmt: skip
    with serving(home, root) as url:
        yield Office(url, home, docs, keys)


def test_a_link_into_another_collection_is_never_served(office: Office) -> None:
    a_only, admin = office.keys["a-only"], office.keys["admin"]
    assert office.find("kvaløy", a_only)  # A's own file is there
    for key in (a_only, admin):
        assert office.find("brattvåg", key) == ([] if key == a_only else [str(office.docs / "B" / "secret.txt")])
        assert office.find("ulsteinvik", key) == []
    hits = office.call("POST", "/v1/search", a_only, json={"query": "confidential merger", "k": 20}).json()["hits"]
    assert all("/A/" in h["path"] and "Brattvåg" not in h["text"] for h in hits)
    for link in ("to-b.txt", "to-private.txt"):
        shown = office.call("GET", "/v1/passage", a_only, params={"path": str(office.docs / "A" / link), "start": 0,
                                                                  "end": 20})  # fmt: skip
        assert shown.status_code == 404, shown.text


def test_rows_of_a_database_limited_to_other_keys_are_not_read_as_documents(office: Office) -> None:
    """``db add --keys``: a key refused the database is refused its rows through every door."""
    admin = office.keys["admin"]
    (row,) = office.find("fosnavåg", admin)
    for name in ("a-only", "clerk"):  # one limited to the database's collection, one to nothing
        key = office.keys[name]
        assert office.call("GET", "/v1/databases/ledger/schema", key).status_code == 403
        assert office.find("fosnavåg", key) == []
        hits = office.call("POST", "/v1/search", key, json={"query": "payment to a private account", "k": 20})
        assert hits.status_code == 200 and "Fosnavåg" not in hits.text
        assert office.call("GET", "/v1/passage", key, params={"path": row, "start": 0, "end": 8}).status_code == 404
        mentions = office.call("GET", "/v1/entities/mentions", key, params={"name": "Fosnavåg"})
        assert mentions.status_code == 200 and mentions.json()["mentions"] == [], mentions.text
        chat = office.call(
            "POST",
            "/v1/chat/completions",
            key,
            json={
                "messages": [{"role": "user", "content": "Where did the Fosnavåg payment go?"}],
                "ragkit_mode": "extract",
            },
        )
        assert chat.status_code == 200 and "private account" not in chat.text
        assert office.call("GET", "/v1/searches", key).status_code == 403  # saved searches cover the whole index
    assert office.call("GET", "/v1/passage", admin, params={"path": row, "start": 0, "end": 8}).status_code == 200


def test_one_content_in_two_collections_is_named_only_by_the_keys_own_place(office: Office) -> None:
    """Identical files are stored once; a hit, its ``also`` list, and an answer's sources and
    citations name only the places the key may see."""
    for key, mine, other in (("a-only", "/A/", "/B/"), ("b-only", "/B/", "/A/")):
        token = office.keys[key]
        hits = office.call("POST", "/v1/search", token, json={"query": "Vartdal circular", "k": 5}).json()["hits"]
        assert hits and hits[0]["path"] == str(office.docs / mine.strip("/") / "circular.txt")
        found = office.call("POST", "/v1/find", token, json={"query": "vartdal"}).json()
        chat = office.call("POST", "/v1/chat/completions", token, json={
            "messages": [{"role": "user", "content": "When does the Vartdal circular reach every office?"}],
            "ragkit_mode": "extract"})  # fmt: skip
        assert chat.status_code == 200, chat.text
        answer = chat.json()["ragkit"]
        assert answer["citations"] and all(mine in c["path"] for c in answer["citations"])
        for shown in (hits, found, answer):
            assert str(office.docs) + other not in json.dumps(shown, ensure_ascii=False), (key, shown)
    hits = office.call("POST", "/v1/search", office.keys["admin"], json={"query": "Vartdal circular"}).json()["hits"]
    assert {hits[0]["path"], *hits[0]["also"]} == {str(office.docs / n / "circular.txt") for n in ("A", "B")}


def test_links_made_while_the_watcher_runs_are_never_followed_out(office: Office) -> None:
    a_only, admin = office.keys["a-only"], office.keys["admin"]
    shared_a = office.docs / "A"
    (shared_a / "passwd.txt").symlink_to("/etc/passwd")
    (shared_a / "later-b.txt").symlink_to(office.docs / "B" / "secret.txt")
    (shared_a / "folder").symlink_to(office.docs / "B")
    (shared_a / "marker.txt").write_text("The Sykkylven marker arrives after the links.\n")
    deadline = time.monotonic() + 60
    while not office.find("sykkylven", admin):  # the watcher has taken the links' events (they came first)
        assert time.monotonic() < deadline, "the watcher never indexed the marker"
        time.sleep(0.2)
    for key in (a_only, admin):
        assert office.find("root", key) == []  # /etc/passwd's lines
        assert office.find("brattvåg", key) == ([] if key == a_only else [str(office.docs / "B" / "secret.txt")])
    shown = office.call("GET", "/v1/passage", a_only, params={"path": str(shared_a / "passwd.txt"), "start": 0,
                                                              "end": 4})  # fmt: skip
    assert shown.status_code == 404


def test_a_file_swapped_for_a_link_while_the_watcher_runs_is_never_read_through_it(office: Office) -> None:
    a_only, admin = office.keys["a-only"], office.keys["admin"]
    secret = office.docs / "B" / "secret.txt"
    swapped = office.docs / "A" / "swapped.txt"
    swapped.write_bytes(_sized("The Vanylven swap note waits in the share.", secret.stat().st_size))
    os.utime(swapped, ns=(secret.stat().st_atime_ns, secret.stat().st_mtime_ns))
    _wait_for(office, "vanylven", admin)
    swapped.unlink()
    swapped.symlink_to(secret)  # same size, same mtime: only its kind tells
    (office.docs / "A" / "after-swap.txt").write_text("The Hornindal marker comes after the swap.\n")
    _wait_for(office, "hornindal", admin)
    assert office.find("vanylven", admin) == []
    assert office.find("brattvåg", a_only) == []
    shown = office.call("GET", "/v1/passage", a_only, params={"path": str(swapped), "start": 0, "end": 20})
    assert shown.status_code in (400, 404) and B_SECRET not in shown.text, shown.text


def _wait_for(office: Office, word: str, key: str) -> None:
    deadline = time.monotonic() + 60
    while not office.find(word, key):
        assert time.monotonic() < deadline, f"the watcher never indexed {word!r}"
        time.sleep(0.2)


def test_revoking_the_last_key_closes_the_server_and_says_how_to_open_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.txt").write_text("The Hareid ferry leaves at noon.\n")
    assert ragkit("index", tmp_path / "docs", home=home).code == 0
    made = ragkit("keys", "create", "only", home=home)
    key = made.stdout.strip().splitlines()[-1]
    with serving(home, tmp_path, "--no-watch") as url:
        office = Office(url, home, tmp_path / "docs", {"only": key})
        assert office.find("hareid", key)
        assert ragkit("keys", "revoke", "only", home=home).code == 0
        for k in (None, key, "rk_guess"):
            for method, route, body in (("GET", "/v1/status", None), ("POST", "/v1/find", {"query": "hareid"})):
                response = office.call(method, route, k, json=body)
                assert response.status_code == 401, (k, route, response.text)
                assert "Hareid" not in response.text
        assert "ragkit keys create" in office.call("GET", "/v1/status").json()["error"]["message"]
        (home / "keys.json").unlink()  # even with the key file gone: a server that needed a key keeps needing one
        assert office.call("GET", "/v1/status").status_code == 401


def _sized(text: str, size: int) -> bytes:
    """``text`` cut or padded to ``size`` bytes, ending with a newline."""
    return text.encode()[: size - 1].ljust(size - 1) + b"\n"


def test_a_file_swapped_for_a_symlink_after_indexing_is_never_read_through_it(tmp_path: Path) -> None:
    """The link has the size and mtime the file had (the attacker set them so): the file is still
    not what was indexed, and neither the passage view nor the next index run reads through it."""
    home, docs = tmp_path / "home", tmp_path / "docs"
    docs.mkdir()
    private = tmp_path / "private.txt"
    private.write_text("Nobody shares the Ulsteinvik diary entries.\n")
    decoy = docs / "decoy.txt"
    decoy.write_bytes(_sized("The Herøy decoy has the same size as the diary.", private.stat().st_size))
    inside_new = docs / "inside-new.txt"  # a file in the share that a second decoy is swapped to
    inside_new.write_text("The Sande schedule was moved to the autumn term.\n")
    inside_old = docs / "inside-old.txt"
    inside_old.write_bytes(_sized("The Giske roster is posted in the hall each week.", inside_new.stat().st_size))
    for made, like in ((decoy, private), (inside_old, inside_new)):
        assert made.stat().st_size == like.stat().st_size
        os.utime(made, ns=(like.stat().st_atime_ns, like.stat().st_mtime_ns))
    assert ragkit("index", docs, home=home).code == 0
    key = ragkit("keys", "create", "reader", home=home).stdout.strip().splitlines()[-1]
    with serving(home, tmp_path, "--no-watch") as url:
        office = Office(url, home, docs, {"reader": key})
        params = {"path": str(decoy), "start": 0, "end": 10}
        assert office.call("GET", "/v1/passage", key, params=params).status_code == 200
        for made, like in ((decoy, private), (inside_old, inside_new)):
            made.unlink()
            made.symlink_to(like)
        shown = office.call("GET", "/v1/passage", key, params=params)
        assert shown.status_code == 400 and "Ulsteinvik" not in shown.text, shown.text
        assert "changed since it was indexed" in shown.json()["error"]["message"]
    assert ragkit("index", docs, home=home).code == 0
    for word, places in (("sande", [inside_new, inside_old]), ("giske", []), ("ulsteinvik", []), ("herøy", [])):
        hits = ragkit("find", "--json", word, home=home).json()["hits"]
        assert sorted(p for h in hits for p in (h["path"], *h.get("also", []))) == [str(p) for p in places], word


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "rebind.evil.example"}, 403),  # DNS rebinding: a web page's name for 127.0.0.1
        ({"Host": "rebind.evil.example:8765"}, 403),
        ({"Origin": "http://evil.example"}, 403),  # a page of another site driving the browser
        ({"Origin": "null"}, 403),
        ({"Host": "localhost"}, 200),
        ({"Origin": "http://127.0.0.1:8765"}, 200),
        ({}, 200),
    ],
)
def test_a_loopback_server_answers_only_to_its_own_names(office: Office, headers: dict[str, str], status: int) -> None:
    for key in (office.keys["admin"], None):
        response = office.call("GET", "/v1/status", key, headers=headers)
        assert response.status_code == (status if key or status == 403 else 401), (headers, response.text)
        assert "Kvaløy" not in response.text
        if status == 403:
            assert "serve.allowed_hosts" in response.json()["error"]["message"]


def test_bodies_are_limited_and_the_key_is_checked_before_a_body_is_read(office: Office) -> None:
    admin = office.keys["admin"]
    big = b'{"query": "' + b"x" * (3 << 20) + b'"}'  # 3 MB, over the 1 MB default
    for key, status in ((None, 401), ("rk_wrong", 401), (admin, 413)):
        response = office.call("POST", "/v1/find", key, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == status, response.text[:300]
        assert len(response.content) < 1000  # the input is never echoed back

    def chunked() -> Iterator[bytes]:  # no Content-Length: the size is counted as it arrives
        yield b'{"query": "'
        for _ in range(3):
            yield b"y" * (1 << 20)
        yield b'"}'

    response = office.call("POST", "/v1/find", admin, content=chunked(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    small = office.call("POST", "/v1/find", admin, json={"query": "kvaløy"})
    assert small.status_code == 200 and small.json()["total"] == 1
    for key, status in ((None, 401), (admin, 422)):  # malformed JSON: without a key, 401 first
        bad = office.call("POST", "/v1/find", key, content=b"{not json", headers={"Content-Type": "application/json"})
        assert bad.status_code == status, bad.text


def test_the_audit_log_on_screen_cannot_be_forged_by_a_query(office: Office) -> None:
    forged = "harmless\n2099-01-01T00:00:00  admin  /v1/keys  200  revoked everything\x1b[2J\x1b[31m"
    office.call("POST", "/v1/find", office.keys["a-only"], json={"query": forged})
    shown = ragkit("audit", "tail", "-n", "50", home=office.home).stdout
    assert "\x1b" not in shown
    line = next(line for line in shown.splitlines() if "harmless" in line)
    assert "\\n2099-01-01" in line and "\\x1b[2J" in line  # escaped, on the entry's own line
    assert not any(line.startswith("2099-01-01") for line in shown.splitlines())


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/find", {"query": "kvaløy after:0001-01-01"}),
        ("/v1/find", {"query": "kvaløy before:9999-12-31"}),
        ("/v1/search", {"query": "budget after:0001-01-01 before:9999-12-31"}),
        ("/v1/find", {"query": "(" * 500 + "kvaløy" + ")" * 500}),
        ("/v1/find", {"query": "NOT " * 500 + "kvaløy"}),
        ("/v1/find", {"query": "kval\udcffy"}),
        ("/v1/search", {"query": "budget \ud800"}),
        ("/v1/find", {"query": "kvaløy", "collection": "A\udcff"}),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "budget \udcff?"}], "ragkit_mode": "extract"},
        ),
    ],
)
def test_odd_queries_get_an_answer_or_a_400_never_a_500(office: Office, route: str, body: dict[str, object]) -> None:
    raw = json.dumps(body).encode()  # (\\udcff stays an escape in the JSON, as a client may send it)
    response = office.call(
        "POST", route, office.keys["admin"], content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400, 404, 422), (response.status_code, response.text[:500])
    if response.status_code != 200:
        assert response.json()["error"]["message"]


def test_a_model_is_named_from_the_catalogue_never_by_a_path_on_the_server(office: Office) -> None:
    """A path as the model once told whether a file exists, and whether it is a GGUF, and loaded
    any GGUF found there for good."""
    said = {}
    for name in ("/etc/passwd", "/nonexistent/model.gguf", str(office.home), "../../etc/shadow"):
        body = {"model": name, "messages": [{"role": "user", "content": "When is the budget due?"}]}
        response = office.call("POST", "/v1/chat/completions", office.keys["admin"], json=body)
        assert response.status_code == 400, response.text
        said[name] = response.json()["error"]["message"].replace(repr(name), "NAME")
    assert len(set(said.values())) == 1 and "/v1/models" in next(iter(said.values()))
    listed = office.call("GET", "/v1/models", office.keys["admin"]).json()["data"]
    body = {"model": listed[0]["id"], "messages": [{"role": "user", "content": "budget?"}], "ragkit_mode": "extract"}
    assert office.call("POST", "/v1/chat/completions", office.keys["admin"], json=body).status_code == 200


def test_every_request_is_audited_once_whatever_becomes_of_it(office: Office) -> None:
    """Refused by validation, an unknown collection, a streamed answer the client hangs up on."""
    key = office.keys["streamer"]
    assert office.call("POST", "/v1/search", key, json={"query": ""}).status_code == 422
    assert office.call("POST", "/v1/find", key, json={"query": "x", "collection": "nope"}).status_code == 404
    body = {"messages": [{"role": "user", "content": "Tell me all about the quarterly budget."}], "stream": True,
            "ragkit_mode": "generate"}  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream("POST", office.url + "/v1/chat/completions", json=body, headers=headers, timeout=120) as r:
        assert r.status_code == 200
        next(line for line in r.iter_lines() if line.startswith("data: "))  # the first chunk, then hang up

    def mine() -> list[dict[str, object]]:
        entries = ragkit("audit", "tail", "-n", "500", "--json", home=office.home).json()["entries"]
        return [e for e in entries if e["key"] == "streamer"]

    deadline = time.monotonic() + 60
    while not any(e["endpoint"] == "/v1/chat/completions" for e in mine()):
        assert time.monotonic() < deadline, "the cut-off answer was never audited"
        time.sleep(0.3)
    time.sleep(2)  # (and it stays one entry)
    entries = mine()
    assert [(e["endpoint"], e["status"]) for e in entries[:2]] == [("/v1/search", 422), ("/v1/find", 404)]
    (chat,) = [e for e in entries if e["endpoint"] == "/v1/chat/completions"]
    assert chat["status"] == 200 and len(entries) == 3


def test_an_unexpected_error_is_a_500_the_client_can_read_and_a_stream_still_ends(tmp_path: Path) -> None:
    """A bug's stand-in (``RAGKIT_FAIL_AT``) raised once the answer has begun to stream: the
    client gets an error it can read and the stream's ``[DONE]``, the request is audited once
    as a 500, the operator gets the traceback, and the server goes on answering."""
    home, docs = tmp_path / "home", tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The Hareid ferry leaves at noon from the northern quay.\n")
    assert ragkit("index", docs, home=home).code == 0
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, RAGKIT_HOME=str(home), RAGKIT_FAIL_AT="mid-answer")
    command = [sys.executable, "-m", "ragkit", "serve", "--port", str(port), "--no-watch"]
    question = {"messages": [{"role": "user", "content": "When does the Hareid ferry leave?"}],
                "ragkit_mode": "generate"}  # fmt: skip
    with running(command, lambda: httpx.get(url + "/v1/status").status_code == 200, log, env):
        plain = httpx.post(url + "/v1/chat/completions", json=question, timeout=300)
        assert plain.status_code == 500, plain.text
        assert "internal error" in plain.json()["error"]["message"] and "Traceback" not in plain.text
        with httpx.stream("POST", url + "/v1/chat/completions", json={**question, "stream": True}, timeout=300) as r:
            assert r.status_code == 200
            events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]" and json.loads(events[-2])["error"]["type"] == "internal_error", events[-3:]
        assert httpx.get(url + "/v1/status").status_code == 200
    entries = ragkit("audit", "tail", "-n", "50", "--json", home=home).json()["entries"]
    chats = [(e["status"], e.get("error", "")) for e in entries if e["endpoint"] == "/v1/chat/completions"]
    assert chats == [(500, "internal error (InjectedFault)")] * 2
    assert log.read_text(errors="replace").count("InjectedFault: a fault injected at mid-answer") == 2


def test_status_tells_a_limited_key_only_of_its_own_collections(office: Office) -> None:
    """No global counts, no index path, no other collection's folders or the watcher's roots."""
    states = {
        name: office.call("GET", "/v1/status", office.keys[name]).json() for name in ("admin", "a-only", "b-only")
    }
    for name, other in (("a-only", "B"), ("b-only", "A")):
        shown = json.dumps(states[name], ensure_ascii=False)
        assert "index_path" not in states[name] and str(office.home) not in shown
        assert str(office.docs / other) not in shown and states[name]["collections"] == [name[0].upper()]
    assert str(office.home) in json.dumps(states["admin"])
    rows, shared = 1, 1  # the ledger's row (only the admin's key may read it); the circular kept in A and B
    a, b, admin = (states[name] for name in ("a-only", "b-only", "admin"))
    assert a["files"] + b["files"] + rows == admin["files"]
    assert a["chunks"] + b["chunks"] + rows - shared == admin["chunks"]  # one content, one chunk


def test_an_error_names_only_the_keys_own_collections(office: Office) -> None:
    said = office.call("POST", "/v1/find", office.keys["a-only"], json={"query": "x", "collection": "C"}).json()
    assert "A" in said["error"]["message"] and "B" not in said["error"]["message"].replace("C", "")
    said = office.call("POST", "/v1/find", office.keys["admin"], json={"query": "x", "collection": "C"}).json()
    assert "A, B" in said["error"]["message"]


# --- every endpoint, attacked from a table ------------------------------------------------
# Each row: an endpoint as the OpenAPI document names it, and requests a key limited to A sends
# to reach what is not A's: B's secret, a file outside the share, the ledger's rows (limited to
# the admin's key). The table must cover every endpoint the server serves (checked below).

B_SECRET, OUTSIDE, HIDDEN_ROW = "Brattvåg", "Ulsteinvik", "Fosnavåg"
D = "{docs}"  # the share's folder, filled in per server
ATTACKS: dict[tuple[str, str], list[dict[str, object]]] = {
    ("GET", "/v1/models"): [{}],
    ("GET", "/v1/status"): [{}],
    ("POST", "/v1/search"): [
        {"json": {"query": "Brattvåg merger"}},
        {"json": {"query": "merger path:*/B/*"}},  # a filter typed in the query widens nothing
        {"json": {"query": "merger", "collection": "B"}},
        {"json": {"query": "payment private account", "k": 100}},
    ],
    ("POST", "/v1/find"): [
        {"json": {"query": "brattvåg OR ulsteinvik OR fosnavåg"}},
        {"json": {"query": "path:../B/* brattvåg"}},
        {"json": {"query": f"path:{D}/B/secret.txt"}},
        {"json": {"query": "brattvåg", "collection": "B"}},
        {"json": {"query": "brattv*"}},
        {"json": {"query": "brattvag~1"}},
    ],
    ("GET", "/v1/passage"): [
        {"params": {"path": f"{D}/B/secret.txt", "start": 0, "end": 40}},
        {"params": {"path": f"{D}/A/../B/secret.txt", "start": 0, "end": 40}},
        {"params": {"path": f"{D}/A/to-b.txt", "start": 0, "end": 40}},
        {"params": {"path": f"{D}/A/to-private.txt", "start": 0, "end": 40}},
        {"params": {"path": f"{D}//B/secret.txt", "start": 0, "end": 40}},
        {"params": {"path": f"{D}/A/./../B/secret.txt", "start": 0, "end": 40}},
        {"params": {"path": f"{D}/A/memo.txt\x00/../../B/secret.txt", "start": 0, "end": 40}},
        {"params": {"path": "/etc/passwd", "start": 0, "end": 40}},
        {"params": {"path": f"{D}/A/memo.txt", "start": 0, "end": 10**9}},
    ],
    ("GET", "/v1/entities"): [{"params": {}}, {"params": {"collection": "B"}}, {"params": {"top": 0}}],
    ("GET", "/v1/entities/mentions"): [
        {"params": {"name": B_SECRET}},
        {"params": {"name": HIDDEN_ROW}},
        {"params": {"name": B_SECRET, "collection": "B"}},
    ],
    ("GET", "/v1/duplicates"): [
        {"params": {}},
        {"params": {"near": "true", "threshold": 0.05}},
        {"params": {"near": "true", "collection": "B"}},
        {"params": {"near": "true", "threshold": 7}},
    ],
    ("GET", "/v1/graph"): [
        {"params": {}},
        {"params": {"query": "brattvåg OR ulsteinvik OR fosnavåg"}},
        {"params": {"type": "place", "collection": "B"}},
        {"params": {"min_weight": 0}},
    ],
    ("GET", "/v1/timeline"): [
        {"params": {}},
        {"params": {"query": "brattvåg OR ulsteinvik OR fosnavåg", "by": "day"}},
        {"params": {"entity": B_SECRET}},
        {"params": {"collection": "B"}},
        {"params": {"by": "week"}},
    ],
    ("POST", "/v1/embeddings"): [
        {"json": {"input": B_SECRET}},  # embedding text reads no document: nothing of B comes back
        {"json": {"input": ["x"] * 2049}},
        {"json": {"input": [], "model": f"{D}/B/secret.txt"}},
        {"json": {"input": "x", "model": "../../etc/passwd"}},
        {"json": {"input": [1, 2, 3]}},
    ],
    ("GET", "/v1/marks"): [{"params": {}}, {"params": {"kind": "note"}}, {"params": {"path": f"{D}/B/secret.txt"}}],
    ("POST", "/v1/marks"): [
        {"json": {"kind": "tag", "path": f"{D}/B/secret.txt", "value": "spy"}},
        {"json": {"kind": "note", "path": f"{D}/A/to-b.txt", "value": "through the link"}},
        {"json": {"kind": "tag", "path": f"{D}/A/../B/secret.txt", "value": "spy"}},
        {"json": {"kind": "tag", "path": f"{D}/A/memo.txt\x00/../../B/secret.txt", "value": "spy"}},
        {"json": {"kind": "note", "path": f"{D}/A/memo.txt", "value": "x", "start": 9, "end": 3}},
    ],
    ("DELETE", "/v1/marks"): [{"params": {"kind": "tag", "path": f"{D}/B/secret.txt", "value": "spy"}}],
    ("GET", "/v1/threads/at"): [{"params": {"path": f"{D}/B/secret.txt"}}, {"params": {"path": "/etc/passwd"}}],
    ("GET", "/v1/threads/{ident}"): [{"ident": f"{D}/B/secret.txt"}, {"ident": "../../etc/passwd"}],
    ("GET", "/v1/searches"): [{}],
    ("POST", "/v1/searches"): [{"json": {"name": "spy", "query": "brattvåg"}}],
    ("DELETE", "/v1/searches/{name}"): [{"name": "spy"}],
    ("POST", "/v1/searches/{name}/run"): [{"name": "spy", "json": {}}],
    ("GET", "/v1/databases"): [{}],
    ("GET", "/v1/databases/{name}/schema"): [{"name": "ledger"}, {"name": "../ledger"}],
    ("POST", "/v1/databases/{name}/ask"): [{"name": "ledger", "json": {"question": "What did Fosnavåg pay?"}}],
    ("POST", "/v1/databases/{name}/query"): [{"name": "ledger", "json": {"sql": "SELECT body FROM notes"}}],
    ("POST", "/v1/each"): [
        {"json": {"question": "Who merged?", "query": "brattvåg OR ulsteinvik OR fosnavåg OR merger"}},
        {"json": {"question": "Who merged?", "query": "path:../B/* merger"}},
        {"json": {"question": "Who merged?", "query": "merger", "collection": "B"}},
        {"json": {"question": "Who merged?", "query": "brattvag~1 OR merg*", "mode": "extract"}},
        {"json": {"question": "Who merged?", "query": "brattvåg OR ulsteinvik OR fosnavåg OR merger", "stream": True}},
    ],
    ("POST", "/v1/chat/completions"): [
        {
            "json": {
                "messages": [{"role": "user", "content": "What is confidential about the Brattvåg merger?"}],
                "ragkit_mode": "extract",
            }
        },
        {"json": {"messages": [{"role": "user", "content": "Brattvåg merger?"}], "collection": "B"}},
        {
            "json": {
                "messages": [{"role": "user", "content": "Where did the Fosnavåg payment go?"}],
                "ragkit_route": "auto",
                "ragkit_mode": "extract",
            }
        },
    ],
}


def _sent(office: Office, route: tuple[str, str], attack: dict[str, object]) -> tuple[str, str, dict[str, object]]:
    """The method, the filled-in path and httpx's arguments for one attack."""
    method, template = route
    fill = lambda value: value.replace(D, str(office.docs)) if isinstance(value, str) else value  # noqa: E731
    path = template
    for name in ("ident", "name"):
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", quote(str(attack[name]), safe=""))
    sent = {k: ({n: fill(v) for n, v in val.items()} if isinstance(val, dict) else val)
            for k, val in attack.items() if k in ("json", "params")}  # fmt: skip
    return method, path, sent


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_attack_table_covers_every_endpoint_the_server_serves(office: Office) -> None:
    document = office.call("GET", "/openapi.json").json()
    served = {(m.upper(), p.replace("{ident:path}", "{ident}")) for p, ops in document["paths"].items() for m in ops}
    assert served == set(ATTACKS), served ^ set(ATTACKS)


@pytest.mark.parametrize("route", list(ATTACKS), ids=[f"{m} {p}" for m, p in ATTACKS])
def test_a_key_limited_to_one_collection_reaches_nothing_else_through_any_endpoint(
    office: Office, route: tuple[str, str]
) -> None:
    for attack in ATTACKS[route]:
        method, path, sent = _sent(office, route, attack)
        for key in (None, "rk_guess"):  # no key, a wrong key: 401, whatever was asked
            response = office.call(method, path, key, **sent)
            assert response.status_code == 401, (key, path, sent, response.text[:300])
        response = office.call(method, path, office.keys["a-only"], **sent)
        assert response.status_code in (200, 400, 403, 404, 422), (
            path,
            sent,
            response.status_code,
            response.text[:500],
        )
        told = response.text  # less what the request itself said (a query, a question, is echoed back)
        for said in sorted(_strings(sent), key=len, reverse=True):
            told = told.replace(json.dumps(said, ensure_ascii=False)[1:-1], "")
        for word in (B_SECRET, OUTSIDE, HIDDEN_ROW, "root:x:0"):
            assert word not in told, (path, sent, word, told[:500])
        assert str(office.docs / "B") not in told and str(office.home) not in told, (path, sent, told[:500])
        if response.status_code != 200:
            assert response.json()["error"]["message"], response.text


@pytest.mark.parametrize("route", [r for r in ATTACKS if r[0] in ("POST", "DELETE")], ids=lambda r: f"{r[0]} {r[1]}")
def test_every_endpoint_that_takes_a_body_limits_it_and_reads_none_without_a_key(
    office: Office, route: tuple[str, str]
) -> None:
    method, path, _ = _sent(office, route, ATTACKS[route][0])
    big = b'{"query": "' + b"x" * (2 << 20) + b'"}'
    json_type = {"Content-Type": "application/json"}
    for key, status in ((None, 401), (office.keys["admin"], 413)):
        response = office.call(method, path, key, content=big, headers=json_type)
        assert response.status_code == status and len(response.content) < 1000, (path, response.text[:200])
    if method == "POST":
        for key, status in ((None, 401), (office.keys["admin"], 422)):  # malformed: without a key, 401 first
            response = office.call(method, path, key, content=b'{"query": [', headers=json_type)
            assert response.status_code == status, (path, response.text[:200])


@pytest.mark.parametrize("route", list(ATTACKS), ids=[f"{m} {p}" for m, p in ATTACKS])
def test_every_endpoint_refuses_a_foreign_host_or_origin(office: Office, route: tuple[str, str]) -> None:
    method, path, sent = _sent(office, route, ATTACKS[route][0])
    for headers in ({"Host": "rebind.evil.example"}, {"Origin": "http://evil.example"}):
        response = office.call(method, path, office.keys["admin"], headers=headers, **sent)
        assert response.status_code == 403, (path, headers, response.text[:200])
        assert "Kvaløy" not in response.text and B_SECRET not in response.text
