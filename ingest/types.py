"""Plain data types shared by loaders, the chunker and the watcher."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MessageInfo:
    """An e-mail's headers that place it in a thread (``.eml``, ``.mbox``)."""

    message_id: str = ""  # without the angle brackets
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    subject: str = ""
    sender: str = ""
    date: str | None = None  # ISO 8601

    def as_dict(self) -> dict[str, object]:
        return {"message_id": self.message_id, "in_reply_to": self.in_reply_to, "references": list(self.references),
                "subject": self.subject, "sender": self.sender, "date": self.date}  # fmt: skip


@dataclass(frozen=True)
class Section:
    """A contiguous piece of extracted text: a PDF page, or a part of a text file.

    ``offset`` is where ``text`` starts within its page (PDF) or within the whole
    extracted text of the file, so chunk spans are always page- or file-relative.
    """

    text: str
    page: int | None = None
    offset: int = 0
    title: str = ""
    heading_path: tuple[str, ...] = ()
    # the document's own date, where the format records one (ISO 8601, with the zone if
    # known), and where it came from: "pdf metadata", "e-mail Date header", "docx properties"
    date: str | None = None
    date_source: str = ""
    message: MessageInfo | None = None  # an e-mail's own section (not its attachments') carries its headers


@dataclass(frozen=True)
class Chunk:
    """A span ``[start, end)`` of a page or file, small enough for the embedder."""

    text: str
    page: int | None
    start: int
    end: int
    ord: int = 0
    title: str = ""
    heading_path: tuple[str, ...] = ()
    # what the embedder reads before the text: the title and headings, less what the text
    # itself says (ingest.chunker.embedding_text); never quoted
    context: str = ""


@dataclass(frozen=True)
class Document:
    """What a loader read: the sections with text, and notes on what it could not read."""

    sections: list[Section]
    notes: list[str]
    date: str | None = None  # the document's own date (ISO 8601), if it has one
    date_source: str = ""
    lang: str | None = None  # ISO 639-1, if the text's language could be told
    messages: list[tuple[int, MessageInfo]] = field(default_factory=list)  # e-mails: (offset, headers), in order


class LoadError(Exception):
    """A file could not be read; the message is a human reason naming the fix."""
