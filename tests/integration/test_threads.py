"""E-mail threads rebuilt from a generated mailbox: replies out of order, a parent the
archive lacks, a reply with no headers but its subject, the same message saved twice, and
a hit in an attachment that names its message."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli import ragkit

pytestmark = pytest.mark.slow


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
