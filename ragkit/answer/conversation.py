"""Conversations: the turns so far, the sources numbered in them, and where they are saved.

What goes back to the model is each earlier question and its *answer only*: reasoning is
shown to the user but never sent back. Sources keep their numbers for the whole
conversation, so a follow-up can cite ``[2]`` from an earlier turn and the prompt of a
follow-up starts with exactly the text of the turns before it (which lets the backend
reuse its cached prefix). Conversations are saved as JSON under ``<home>/conversations``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragkit.core.files import write_atomic
from ragkit.search.retrieve import Hit


def hit_from_dict(data: dict[str, Any]) -> Hit:
    return Hit(
        id=data.get("id", ""), doc=data.get("doc", ""), path=data["path"], page=data.get("page"),
        start=data["start"], end=data["end"], score=data.get("score", 0.0), text=data.get("text", ""),
        title=data.get("title", ""), heading=data.get("heading", ""), filetype=data.get("filetype", ""),
        mtime=data.get("mtime"), also=tuple(data.get("also", ())),
        continues=bool(data.get("continues", False)),
    )  # fmt: skip


def hit_key(hit: Hit) -> tuple[str, int | None, int, int]:
    return (hit.path, hit.page, hit.start, hit.end)


@dataclass
class Turn:
    question: str
    answer: str  # what the user was shown as the answer (never the reasoning)
    new_sources: list[int]  # numbers of the sources first given in this turn
    reused_sources: list[int] = field(default_factory=list)  # earlier sources that applied again
    reasoning: str = ""
    model: str = ""
    grounded: bool = False
    result: dict[str, Any] = field(default_factory=dict)  # the full answer, as JSON, for the UI
    at: float = field(default_factory=time.time)


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    title: str = ""
    turns: list[Turn] = field(default_factory=list)
    sources: list[Hit] = field(default_factory=list)  # source n is sources[n - 1]
    condensed: str = ""  # earlier turns folded into a summary when the context ran out
    context_start: int = 0  # turns before this one live on only in ``condensed``
    created: float = field(default_factory=time.time)

    @property
    def live_turns(self) -> list[Turn]:
        """The turns still sent to the model in full."""
        return self.turns[self.context_start :]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "condensed": self.condensed,
            "context_start": self.context_start,
            "sources": [dict(h.as_dict(), id=h.id, doc=h.doc) for h in self.sources],
            "turns": [t.__dict__ for t in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(
            id=data["id"], title=data.get("title", ""), created=data.get("created", 0.0),
            condensed=data.get("condensed", ""), context_start=data.get("context_start", 0),
            sources=[hit_from_dict(h) for h in data.get("sources", [])],
            turns=[Turn(**t) for t in data.get("turns", [])],
        )  # fmt: skip


class ConversationStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, conversation: Conversation) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{conversation.id}.json"
        write_atomic(path, json.dumps(conversation.as_dict(), ensure_ascii=False, indent=1))
        return path

    def load(self, conversation_id: str) -> Conversation:
        path = self.folder / f"{conversation_id}.json"
        return Conversation.from_dict(json.loads(path.read_text("utf-8")))

    def list(self) -> list[dict[str, Any]]:
        """Saved conversations, newest first: id, title, turns, time."""
        found = []
        for path in self.folder.glob("*.json"):
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue  # a damaged file is skipped here, never deleted
            found.append({"id": data["id"], "title": data.get("title", ""), "turns": len(data.get("turns", [])),
                          "created": data.get("created", 0.0)})  # fmt: skip
        return sorted(found, key=lambda c: c["created"], reverse=True)

    def delete(self, conversation_id: str) -> None:
        (self.folder / f"{conversation_id}.json").unlink(missing_ok=True)
