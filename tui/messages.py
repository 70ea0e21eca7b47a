"""What the app's worker threads tell the screen: one message per event, handled on the app's
own thread (a worker never touches a widget)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ragkit.assistant.protocol import Assistant, Conversation


@dataclass
class FacadeReady(Message):
    facade: Assistant


@dataclass
class Failed(Message):
    what: str
    error: str
    turn: int | None = None
    severity: str = "error"


@dataclass
class StatusChanged(Message):
    status: dict[str, Any]


@dataclass
class Chunk(Message):
    turn: int
    kind: str
    text: str


@dataclass
class Done(Message):
    turn: int
    result: dict[str, Any]


@dataclass
class Cancelled(Message):
    turn: int


@dataclass
class PassageLoaded(Message):
    passage: dict[str, Any]


@dataclass
class SyncProgress(Message):
    done: int
    total: int


class Synced(Message):
    """The watcher finished a sync (posted from its thread: never blocks it)."""


@dataclass
class ModelLoaded(Message):
    note: str


@dataclass
class Listed(Message):
    kind: str  # models, conversations, entities, mentions, thread, tags, tagged, timeline, period
    items: list[dict[str, Any]]


@dataclass
class ConversationLoaded(Message):
    conversation: Conversation
