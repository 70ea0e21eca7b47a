"""E-mail: ``.eml`` messages and ``.mbox`` folders; headers, body, attachments recursed."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from ingest.loaders import html_to_text, load, loader_for, note, register
from ingest.types import LoadError, MessageInfo, Section

_HEADERS = ("Subject", "From", "To", "Cc", "Date")
_MAX_DEPTH = 3


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or malformed charset (a NUL in its name)
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)[1]
    return str(content)


def header(message: EmailMessage, name: str) -> str:
    """A header's value as text ("" if absent). A header too damaged to parse (e-mail's parser
    raises on some) is given as written, its whitespace folded."""
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except Exception:  # email's header parser raises many types on hostile input
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                return " ".join(str(raw).split())
        return ""


def message_sections(message: EmailMessage, offset: int = 0, depth: int = 0) -> Iterator[Section]:
    """The message (headers as its first lines, then the body), then each readable attachment.

    Attachment sections carry the subject and ``attachment: NAME`` in their heading path; their offsets and
    pages are within the attachment.
    """
    subject = header(message, "Subject") or "(no subject)"
    text = "".join(f"{name}: {value}\n" for name in _HEADERS if (value := header(message, name))) + "\n"
    text += _body(message)
    sent = _date(message)
    yield Section(
        text=text,
        offset=offset,
        title=subject,
        heading_path=(subject,),
        date=sent,
        date_source="e-mail Date header" if sent else "",
        message=MessageInfo(
            next(iter(_ids(header(message, "Message-ID"))), ""), next(iter(_ids(header(message, "In-Reply-To"))), ""),
            tuple(_ids(header(message, "References"))), subject if header(message, "Subject") else "",
            header(message, "From"), sent,
        ),
    )  # fmt: skip
    if depth >= _MAX_DEPTH:
        return
    for part in message.iter_attachments():
        try:
            name = part.get_filename() or ""
            kind = part.get_content_type()
        except Exception:  # a damaged part header: this attachment is passed over
            continue
        if kind == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, EmailMessage):
                for section in message_sections(inner, 0, depth + 1):
                    yield _under(section, f"attachment: {name or 'message'}", subject)
            continue
        if not name or loader_for(Path(name)) is None:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        with tempfile.TemporaryDirectory(prefix="ragkit-att-") as folder:
            file = Path(folder) / Path(name).name
            try:
                file.write_bytes(data)
                for section in load(file):
                    yield _under(section, f"attachment: {name}", subject)
            except (LoadError, OSError):
                continue  # an unreadable attachment (or an unwritable name) does not fail the message


def _date(message: EmailMessage) -> str | None:
    """The message's Date header as ISO 8601, or None if it has none or it makes no sense."""
    raw = header(message, "Date")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _under(section: Section, label: str, subject: str) -> Section:
    """An attachment's section, headed by its message's subject and its own name (the
    message's headers stay with the message: a message inside is a message of its own)."""
    return Section(section.text, section.page, section.offset, section.title, (subject, label, *section.heading_path),
                   section.date, section.date_source)  # fmt: skip


_ID = re.compile(r"<([^<>\s]+)>")


def _ids(header: object) -> list[str]:
    """The message ids in a header (``<a@b>``), without brackets; a bare id if none is bracketed."""
    text = str(header or "")
    found = _ID.findall(text)
    return found or ([text.strip()] if text.strip() and " " not in text.strip() else [])


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _read_message(data: bytes, offset: int = 0) -> list[Section]:
    """A message's sections, or LoadError with the reason: the ``email`` package raises many
    types on hostile input (ValueError, TypeError, IndexError, AttributeError, ...)."""
    try:
        return list(message_sections(_parse(data), offset))
    except (LoadError, OSError):
        raise
    except Exception as exc:
        raise LoadError(f"e-mail is damaged and could not be read ({type(exc).__name__}: {exc})") from exc


@register(".eml")
def load_eml(path: Path) -> Iterator[Section]:
    yield from _read_message(path.read_bytes())


@register(".mbox")
def load_mbox(path: Path) -> Iterator[Section]:
    """Each message of the mailbox in turn; offsets run through the whole mailbox's text."""
    box = mailbox.mbox(path, create=False)
    offset = 0
    damaged: list[str] = []
    try:
        for number, key in enumerate(box.iterkeys(), 1):
            try:
                sections = _read_message(box.get_bytes(key), offset)
            except LoadError as exc:  # one damaged message does not cost the others
                damaged.append(f"message {number}: {exc}")
                continue
            for section in sections:
                yield section
                if not any(h.startswith("attachment: ") for h in section.heading_path):
                    offset += len(section.text) + 1
    finally:
        box.close()
    if damaged:
        note(f"{len(damaged)} message(s) not read: {'; '.join(damaged[:3])}")
