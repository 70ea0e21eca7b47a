"""Text a database stores in a legacy encoding (Latin-1, Windows-1252, a DOS code page), as
older applications wrote it: each value is read as UTF-8 if it is UTF-8, else in the
database's own encoding: given with ``db add --encoding``, or detected from a sample of the
database's values that are not UTF-8, as the document loaders detect a legacy text file's.
A detector guesses wrong on a few short names (measured: three Danish city names in cp1252
read as cp1250), so below ``DETECT_MIN`` bytes of sample the commonest legacy encoding,
cp1252, is used; the schema says which, and how to set another."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable

from ingest.loaders import legacy_encoding
from ragkit.core.errors import RagkitError

FALLBACK = "cp1252"  # Latin-1's superset: what a sample too short to tell is read as
DETECT_MIN = 2_000  # bytes of text that is not UTF-8 a detection needs


def check_encoding(name: str) -> str:
    """``name`` as Python knows it, or a clear error."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise RagkitError(
            f"unknown text encoding {name!r}: give one such as cp1252, latin-1, cp850 or iso8859-15"
        ) from None


def detect(sample: bytes) -> str:
    """The encoding of ``sample`` (text that is not UTF-8), or cp1252 if it is too short to tell."""
    if len(sample) < DETECT_MIN:
        return FALLBACK
    return legacy_encoding(sample) or FALLBACK


class TextDecoder:
    """SQLite's text factory for one database: UTF-8 first, then the database's encoding.
    Counts the values that were not UTF-8, so the schema can say so once."""

    def __init__(self, encoding: str | None = None, sample: Callable[[], bytes] | None = None) -> None:
        """``sample``: the database's values that are not UTF-8, joined (read once, the first
        time one is met)."""
        self.given = check_encoding(encoding) if encoding else None
        self.sample = sample
        self.detected: str | None = None
        self.legacy = 0  # values read that were not UTF-8
        self._lock = threading.RLock()
        self._detecting = False

    @property
    def encoding(self) -> str:
        return self.given or self.detected or FALLBACK

    def __call__(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        with self._lock:  # reentrant: the sample is read through this decoder's database
            self.legacy += 1
            if self.given is None and self.detected is None and not self._detecting:
                self._detecting = True
                try:
                    self.detected = detect(self.sample() if self.sample else raw)
                finally:
                    self._detecting = False
        return raw.decode(self.encoding, errors="replace")

    def note(self, name: str) -> str:
        """What the schema says of the database's text ("" when every value read was UTF-8)."""
        if not self.legacy:
            return ""
        if self.given:
            how = "as given with --encoding"
        elif self.detected and self.detected != FALLBACK:
            how = "detected from its values"
        else:
            how = "the commonest legacy encoding: too little of it to detect one"
        return (
            f"database {name}: some text is not UTF-8 and is read as {self.encoding} ({how}; if names look wrong,"
            " set the encoding with: ragkit db add NAME URL --encoding ENC)"
        )
