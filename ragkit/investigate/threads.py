"""E-mail threads, rebuilt from the messages of every indexed ``.eml`` and ``.mbox``.

A message's parent is the last id of its ``References`` (else its ``In-Reply-To``), and the
ids before it chain the ancestors, as in Jamie Zawinski's threading algorithm: a parent
that is not in the archive stands in the tree as a gap ("not in the archive"), so replies
to a lost message still share a thread; a reply that arrived first still goes under its
parent. A message with no such headers whose subject says it is a reply (``Re:``, ``Fwd:``,
``AW:``, ``SV:``…) joins the thread of the earliest message with the same subject. The same
message saved twice (one id) is one message, with both of its places.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragkit.core.errors import NotFound
from ragkit.storage.manifest import Manifest

_REPLY = re.compile(r"^\s*((re|fwd?|aw|sv|vs|antw|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)


def base_subject(subject: str) -> str:
    return _REPLY.sub("", subject).strip().casefold()


@dataclass
class Node:
    id: str
    subject: str = ""
    sender: str = ""
    date: str | None = None
    places: list[dict[str, Any]] = field(default_factory=list)  # {"path", "offset"}: where the message is
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    replied: bool = False  # it names a parent in its headers

    @property
    def present(self) -> bool:
        return bool(self.places)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "from": self.sender,
            "date": self.date,
            "in_archive": self.present,
            "places": self.places,
            "replies": [c.as_dict() for c in sorted(self.children, key=_when)],
        }

    def walk(self, depth: int = 0) -> list[tuple[int, Node]]:
        found = [(depth, self)]
        for child in sorted(self.children, key=_when):
            found += child.walk(depth + 1)
        return found

    def ancestor_of(self, other: Node) -> bool:
        node: Node | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False


def _when(node: Node) -> tuple[str, str]:
    return (node.date or "", node.id)


@dataclass
class Thread:
    root: Node

    @property
    def messages(self) -> list[Node]:
        return [n for _, n in self.root.walk() if n.present]

    def as_dict(self) -> dict[str, Any]:
        messages = self.messages
        dates = sorted(m.date for m in messages if m.date)
        first = next((m for _, m in self.root.walk() if m.subject), self.root)
        return {
            "id": self.root.id,
            "subject": first.subject,
            "messages": len(messages),
            "participants": sorted({m.sender for m in messages if m.sender}),
            "first": dates[0] if dates else None,
            "last": dates[-1] if dates else None,
            "tree": self.root.as_dict(),
        }


def threads(manifest: Manifest, seen: Callable[[str], bool] | None = None) -> list[Thread]:
    """Every thread of the indexed e-mails, the newest activity first. ``seen``: the files
    whose messages count (a server key's collections); a message kept only elsewhere is known
    only as far as the seen messages' headers name it, as one the archive lacks."""
    rows = manifest.messages()
    if seen is not None:
        rows = [row for row in rows if seen(row[-1])]
    nodes: dict[str, Node] = {}

    def node(ident: str) -> Node:
        if ident not in nodes:
            nodes[ident] = Node(ident)
        return nodes[ident]

    for doc, ord_, offset, message_id, in_reply_to, refs, subject, sender, date, path in rows:
        ident = message_id or f"{doc[:16]}:{ord_}"  # a message without an id is one of its own
        here = node(ident)
        if not here.present:
            here.subject, here.sender, here.date = subject, sender, date
            here.refs = [r for r in refs.split() if r] + ([in_reply_to] if in_reply_to else [])
        here.places.append({"path": path, "offset": offset})
    for here in [n for n in nodes.values() if n.present]:
        chain = list(dict.fromkeys(r for r in here.refs if r != here.id))
        for older, newer in itertools.pairwise(chain):  # the ancestors, as the references list them
            _link(node(older), node(newer))
        if chain:
            _link(node(chain[-1]), here, force=True)
            here.replied = True
    roots = [n for n in nodes.values() if n.parent is None]
    by_subject: dict[str, Node] = {}
    for root in sorted(roots, key=_when):  # a reply with no headers joins the earliest of its subject
        key = base_subject(root.subject)
        if not key:
            continue
        earliest = by_subject.get(key)
        if earliest is None:
            by_subject[key] = root
        elif root.present and not root.replied and _REPLY.match(root.subject):
            _link(earliest, root, force=True)
    found = [Thread(n) for n in nodes.values() if n.parent is None]
    return sorted(found, key=lambda t: max((m.date or "" for m in t.messages), default=""), reverse=True)


def _link(parent: Node, child: Node, force: bool = False) -> None:
    """Make ``parent`` the parent of ``child``, unless that would make a loop (or ``child``
    has one already and this is only a reference's guess)."""
    if parent is child or child.ancestor_of(parent):
        return
    if child.parent is not None:
        if not force or child.parent is parent:
            return
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


class ThreadNotFound(NotFound):
    """No thread (of the files seen) holds the message asked for."""


def thread_of(manifest: Manifest, ident: str, seen: Callable[[str], bool] | None = None) -> Thread:
    """The thread holding the message ``ident`` (its Message-ID, with or without <>), or the
    first message of the file at path ``ident``; of the files ``seen`` only."""
    wanted = ident.strip().strip("<>")
    for thread in threads(manifest, seen):
        for _, n in thread.root.walk():
            if n.id == wanted or any(p["path"] == ident for p in n.places):
                return thread
    raise ThreadNotFound(f"no indexed e-mail has the id or path {ident!r} (see: ragkit threads)")


def thread_at(manifest: Manifest, path: str, offset: int, seen: Callable[[str], bool] | None = None) -> Thread:
    """The thread of the message of ``path`` that holds character ``offset`` (the last message
    starting at or before it: a mailbox's messages follow one another)."""
    best: tuple[int, Thread] | None = None
    for thread in threads(manifest, seen):
        for _, n in thread.root.walk():
            for place in n.places:
                if place["path"] == path and place["offset"] <= offset and (best is None or place["offset"] > best[0]):
                    best = (place["offset"], thread)
    if best is None:
        raise ThreadNotFound(f"{path} holds no indexed e-mail at that place (threads come from .eml and .mbox files)")
    return best[1]
