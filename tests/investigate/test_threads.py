"""E-mail threads rebuilt from a generated mailbox: replies out of order, a parent the
archive lacks, a reply with no headers but its subject, the same message saved twice, and
a hit in an attachment that names its message."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.helpers.cli import ragkit


def message(ident: str | None, subject: str, sender: str, day: int, reply_to: str = "", refs: str = "",
            attachment: str = "") -> EmailMessage:  # fmt: skip
    m = EmailMessage()
    if ident:
        m["Message-ID"] = f"<{ident}>"
    m["Subject"], m["From"], m["To"] = subject, sender, "team@acme.org"
    m["Date"] = f"{day:02d} May 2024 10:00:00 +0000"
    if reply_to:
        m["In-Reply-To"] = f"<{reply_to}>"
    if refs:
        m["References"] = " ".join(f"<{r}>" for r in refs.split())
    m.set_content(f"{sender} writes about {subject}.")
    if attachment:
        m.add_attachment(attachment.encode(), maintype="text", subtype="plain", filename="notes.txt")
    return m


def tree(node: dict[str, Any]) -> list[Any]:
    """A thread as nested (sender or gap, [replies]) pairs, for comparing shapes."""
    who = node["from"].split("@")[0] if node["in_archive"] else f"gap {node['id']}"
    return [who, [tree(r) for r in node["replies"]]]


def test_threads_are_rebuilt_from_their_headers(tmp_path: Path) -> None:
    docs, home = tmp_path / "mail", tmp_path / "home"
    docs.mkdir()
    box = mailbox.mbox(docs / "team.mbox")
    for m in (
        message("c@x", "Re: Budget 2024", "carol@acme.org", 3, "b@x", "a@x b@x"),  # before its parents
        message("a@x", "Budget 2024", "alice@acme.org", 1),
        message("b@x", "Re: Budget 2024", "bob@acme.org", 2, "a@x", "a@x", attachment="Zanzibar depot costs."),
        message("d@x", "Re: Audit", "dave@acme.org", 5, "lost@x", "lost@x"),  # its parent is not in the archive
        message("e@x", "Re: Audit", "eve@acme.org", 6, "", "lost@x"),
        message(None, "RE: Budget 2024", "frank@acme.org", 4),  # no id, no headers: its subject places it
        message("g@x", "Fwd: Lunch", "gina@acme.org", 7),
    ):
        box.add(m)
    box.close()
    (docs / "saved-again.eml").write_bytes(bytes(message("b@x", "Re: Budget 2024", "bob@acme.org", 2, "a@x", "a@x")))
    assert ragkit("index", docs, home=home).code == 0
    listed = ragkit("threads", "--json", home=home).json()["threads"]
    assert [(t["subject"], t["messages"]) for t in listed] == [("Fwd: Lunch", 1), ("Re: Audit", 2), ("Budget 2024", 4)]
    budget = ragkit("thread", "<c@x>", "--json", home=home).json()
    assert tree(budget["tree"]) == ["alice", [["bob", [["carol", []]]], ["frank", []]]]
    assert budget["participants"] == ["alice@acme.org", "bob@acme.org", "carol@acme.org", "frank@acme.org"]
    bob = budget["tree"]["replies"][0]
    assert sorted(Path(p["path"]).name for p in bob["places"]) == ["saved-again.eml", "team.mbox"]  # one message
    audit = ragkit("thread", "e@x", "--json", home=home).json()
    assert tree(audit["tree"]) == ["gap lost@x", [["dave", []], ["eve", []]]]
    shown = ragkit("thread", str(docs / "saved-again.eml"), home=home).stdout
    assert "bob@acme.org: Re: Budget 2024" in shown and "    - " in shown  # carol, two levels down
    assert ragkit("thread", "nobody@x", home=home).code == 1
    found = ragkit("find", "zanzibar", home=home).stdout
    assert 'in the attachment notes.txt of the message "Re: Budget 2024"' in found


def test_entities_and_threads_are_served_within_a_keys_collections(tmp_path: Path) -> None:
    import json

    import httpx

    from tests.helpers.servers import create_keys, serving

    docs, home = tmp_path / "docs", tmp_path / "home"
    (docs / "inbox").mkdir(parents=True)
    (docs / "press").mkdir()
    box = mailbox.mbox(docs / "inbox" / "board.mbox")
    box.add(message("root@x", "Merger plans", "alice@acme.org", 1))
    box.add(message("secret@x", "Re: Merger plans", "bob@acme.org", 2, "root@x", "root@x"))
    box.add(message("solo@x", "Payroll", "dave@acme.org", 4))  # a thread wholly in the inbox
    box.close()
    reply = message("pub@x", "Re: Merger plans", "carol@paper.org", 3, "secret@x", "root@x secret@x")
    (docs / "press" / "reply.eml").write_bytes(bytes(reply))
    assert ragkit("index", docs, home=home).code == 0
    for name in ("inbox", "press"):
        assert ragkit("collections", "add", name, docs / name, home=home).code == 0
    keys = create_keys(home, [("admin", []), ("press", ["--collections", "press"])])
    with serving(home, tmp_path, "--no-watch") as url:

        def client(key: str, *args: str, code: int = 0) -> Any:
            shown = ragkit("--server", url, *args, home=tmp_path / "client", env={"RAGKIT_API_KEY": keys[key]})
            assert shown.code == code, shown.stderr
            return shown

        def emails(key: str) -> set[str]:
            return {e["name"] for e in client(key, "entities", "--type", "email", "--json").json()["entities"]}

        assert {"alice@acme.org", "bob@acme.org", "carol@paper.org"} <= emails("admin")
        seen = emails("press")
        assert "carol@paper.org" in seen and not {"alice@acme.org", "bob@acme.org"} & seen
        shown = client("press", "entities", "show", "carol@paper.org", "--type", "email", "--json").json()
        assert shown["mentions"] and all(Path(m["path"]).parent.name == "press" for m in shown["mentions"])
        hidden = client("press", "entities", "show", "bob@acme.org", "--type", "email", "--json").json()
        assert hidden["mentions"] == []

        whole = client("admin", "thread", "root@x", "--json").json()
        assert tree(whole["tree"]) == ["alice", [["bob", [["carol", []]]]]]
        reply_date = whole["tree"]["replies"][0]["replies"][0]["date"]
        assert whole["messages"] == 3 and whole["first"] < reply_date
        pruned = client("press", "thread", "pub@x", "--json").json()  # the inbox's messages are gaps to this key
        assert tree(pruned["tree"]) == ["gap root@x", [["gap secret@x", [["carol", []]]]]]
        inbox_node = {k: v for k, v in pruned["tree"]["replies"][0].items() if k != "replies"}
        assert "bob" not in json.dumps(inbox_node) and "board.mbox" not in json.dumps(inbox_node)
        about = {k: v for k, v in pruned.items() if k != "tree"}  # the thread as told by the press's messages only
        assert about == {"id": "root@x", "subject": "Re: Merger plans", "messages": 1,
                         "participants": ["carol@paper.org"], "first": reply_date, "last": reply_date}  # fmt: skip
        press = {"Authorization": f"Bearer {keys['press']}"}
        said = {}
        for ident in ("solo@x", "nobody@x"):  # wholly outside the key's collections, and nowhere: alike
            refused = client("press", "thread", ident, code=1)
            assert "no indexed e-mail" in refused.stderr
            answer = httpx.get(url + f"/v1/threads/{ident}", headers=press)
            said[ident] = (answer.status_code, answer.text.replace(ident, "ID"))
        assert said["solo@x"] == said["nobody@x"] and said["solo@x"][0] == 404
        at = httpx.get(url + "/v1/threads/at", params={"path": str(docs / "inbox" / "board.mbox"), "offset": 0},
                       headers={"Authorization": f"Bearer {keys['press']}"})  # fmt: skip
        assert at.status_code == 404  # a file outside the key's collections is not there at all
        mine = httpx.get(url + "/v1/threads/at", params={"path": str(docs / "press" / "reply.eml"), "offset": 0},
                         headers={"Authorization": f"Bearer {keys['press']}"})  # fmt: skip
        assert mine.status_code == 200 and tree(mine.json()["tree"]) == tree(pruned["tree"])


def test_mail_indexed_before_threads_were_kept_gets_its_threads_on_the_next_run(tmp_path: Path) -> None:
    from ragkit.assistant.local import open_ragkit
    from tests.helpers.index import assert_consistent

    docs, home = tmp_path / "mail", tmp_path / "home"
    docs.mkdir()
    box = mailbox.mbox(docs / "team.mbox")
    box.add(message("a@x", "Budget 2024", "alice@acme.org", 1))
    box.add(message("b@x", "Re: Budget 2024", "bob@acme.org", 2, "a@x", "a@x"))
    box.close()
    (docs / "note.txt").write_text("Not an e-mail.\n")
    assert ragkit("index", docs, home=home).code == 0
    rk = open_ragkit(home=home)
    with rk.library.manifest.transaction() as db:  # back to schema 7, as a ragkit without threads left it
        db.execute("DROP TABLE messages")
        db.execute("ALTER TABLE docs DROP COLUMN messages_due")
        db.execute("ALTER TABLE docs DROP COLUMN about_due")
        db.execute("ALTER TABLE files DROP COLUMN link")
        db.execute("ALTER TABLE chunks DROP COLUMN context")
        db.execute("ALTER TABLE docs DROP COLUMN minhash")
        db.execute("PRAGMA user_version=7")
    rk.close()
    assert ragkit("threads", "--json", home=home).json()["threads"] == []  # migrated: due, not yet read
    again = ragkit("index", docs, "--json", home=home).json()
    assert again["embedded"] == 0 and again["added"] == again["updated"] == 0  # nothing embedded again
    listed = ragkit("threads", "--json", home=home).json()["threads"]
    assert [(t["subject"], t["messages"]) for t in listed] == [("Budget 2024", 2)]
    rk = open_ragkit(home=home)
    assert rk.library.manifest.messages_due() == []
    assert_consistent(rk)
    rk.close()
