"""Entities in text: pattern entities always, names from a spaCy pipeline when one is given.

Pattern entities, each normalised so one thing written several ways counts once:

- ``email``: addresses, also written to dodge harvesters (``jane [at] acme [dot] org``),
  lower-cased;
- ``phone``: numbers in international form (``+47 22 33 44 55``, ``0047…``, ``+1 (212)
  555-0100``) and, with a default region, national ones; validated and written E.164
  (``+4722334455``) by Google's libphonenumber rules (the ``phonenumbers`` package);
- ``iban``: account numbers whose ISO 13616 checksum holds (mod 97), without spaces;
- ``url``: web addresses, without a trailing full stop or bracket;
- ``amount``: sums with a currency (``$1,250.00``, ``EUR 2.500,50``, ``2,500 kroner``) as
  ``CUR 1234.56``;
- ``date``: calendar dates written out (``2024-05-03``, ``3 May 2024``, ``May 3, 2024``)
  as ``YYYY-MM-DD`` (``03/05/2024`` is left out: day and month cannot be told apart).

Names (``person``, ``org``, ``place``) come from :class:`NameFinder` over a spaCy pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

PATTERN_TYPES = ("email", "phone", "iban", "url", "amount", "date")
NAME_TYPES = ("person", "org", "place")
TYPES = NAME_TYPES + PATTERN_TYPES
PATTERNS_VERSION = "1"


@dataclass(frozen=True)
class Mention:
    type: str
    value: str  # normalised: what mentions of the same thing share
    start: int  # within the text given
    end: int


_AT = r"(?:@|\s*[\[\(\{<]\s*at\s*[\]\)\}>]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*[\[\(\{<]\s*dot\s*[\]\)\}>]\s*|\s+dot\s+)"
_EMAIL = re.compile(
    rf"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}}){_AT}((?:[A-Za-z0-9-]{{1,63}}{_DOT})+[A-Za-z]{{2,24}})\b",
    re.I,
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+", re.I)
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?)\b")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().\-/]{5,20}\d(?!\w)")
_MONTH_NAMES = [
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
    ("november", "nov"), ("december", "dec"),
]  # fmt: skip
_MONTHS = {name: n + 1 for n, names in enumerate(_MONTH_NAMES) for name in names}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATES = [
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), ("y", "m", "d")),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s+(\d{{4}})\b", re.I), ("d", "M", "y")),
    (re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), ("M", "d", "y")),
]
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₽": "RUB", "₩": "KRW", "₺": "TRY"}
_WORDS = {
    "usd": "USD", "dollars": "USD", "dollar": "USD", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "pounds": "GBP", "nok": "NOK", "kroner": "NOK", "krone": "NOK", "sek": "SEK", "kronor": "SEK",
    "dkk": "DKK", "chf": "CHF", "francs": "CHF", "jpy": "JPY", "yen": "JPY", "cad": "CAD", "aud": "AUD",
    "inr": "INR", "rupees": "INR", "cny": "CNY", "yuan": "CNY", "rub": "RUB", "roubles": "RUB", "pln": "PLN",
    "zloty": "PLN", "brl": "BRL", "reais": "BRL", "mxn": "MXN", "zar": "ZAR", "rand": "ZAR",
}  # fmt: skip
_NUM = r"\d{1,3}(?:[,. '\u00a0]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CUR_WORD = "(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + ")"
_AMOUNTS = [
    re.compile(rf"([$€£¥₹₽₩₺])\s?({_NUM})(?:\s?(million|billion|m|bn)\b)?", re.I),
    re.compile(rf"\b{_CUR_WORD}\s?({_NUM})(?:\s?(million|billion|m|bn)\b)?(?!\w)", re.I),
    re.compile(rf"(?<![\w.,])({_NUM})(?:\s?(million|billion|m|bn))?\s?{_CUR_WORD}\b", re.I),
]


def iban_ok(candidate: str) -> bool:
    """ISO 13616: the country code and checksum moved to the end, letters as numbers, mod 97 is 1."""
    text = candidate.replace(" ", "").upper()
    if not 15 <= len(text) <= 34 or not text[:2].isalpha() or not text[2:4].isdigit():
        return False
    moved = text[4:] + text[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def _number(text: str) -> float | None:
    """``1,250.00``, ``2.500,50``, ``1 250``: the value, reading the last separator followed
    by one or two digits as the decimal one."""
    plain = text.replace("\u00a0", " ").replace("'", " ")
    match = re.search(r"[.,](\d{1,2})$", plain)
    decimals = ""
    if match and not re.search(r"[.,]\d{3}$", plain):
        decimals, plain = match.group(1), plain[: match.start()]
    whole = re.sub(r"[ .,]", "", plain)
    if not whole.isdigit():
        return None
    return float(f"{whole}.{decimals or 0}")


def _amount(currency: str, number: str, scale: str | None) -> str | None:
    value = _number(number)
    if value is None:
        return None
    value *= {"million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}.get((scale or "").lower(), 1)
    return f"{currency} {value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{currency} {int(value)}"


class PatternFinder:
    """The pattern entities of a text. ``phone_region``: where national numbers are read as
    from (an ISO country code, e.g. "NO"); without one only international numbers count."""

    def __init__(self, phone_region: str | None = None) -> None:
        self.phone_region = phone_region.upper() if phone_region else None

    def find(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        taken: list[tuple[int, int]] = []

        def add(kind: str, value: str, start: int, end: int) -> None:
            if any(start < b and a < end for a, b in taken):
                return  # inside an e-mail address or URL already found
            found.append(Mention(kind, value, start, end))
            taken.append((start, end))

        for link in _URL.finditer(text):
            url = link.group(0).rstrip(".,;:!?)]}'\"")
            add("url", url.lower() if url.lower().startswith("www.") else url, link.start(), link.start() + len(url))
        at = 0
        while (address := _EMAIL.search(text, at)) is not None:
            written = address.group(0).lower()
            if "@" not in written and not re.search(r"[\[\(\{<]", written) and " dot " not in written:
                at = address.start() + 1  # "look at example.com" is not an address ("jane at acme dot org" is)
                continue
            local, domain = address.group(1), re.sub(_DOT, ".", address.group(2), flags=re.I)
            add("email", f"{local}@{domain}".lower(), address.start(), address.end())
            at = address.end()
        for m in _IBAN.finditer(text):
            if iban_ok(m.group(1)):
                add("iban", m.group(1).replace(" ", ""), m.start(1), m.end(1))
        for pattern, order in _DATES:
            for m in pattern.finditer(text):
                parts = dict(zip(order, m.groups(), strict=True))
                try:
                    month = _MONTHS[parts["M"].lower().rstrip(".")] if "M" in parts else int(parts["m"])
                    day = date(int(parts["y"]), month, int(parts["d"]))
                except (ValueError, KeyError):
                    continue
                add("date", day.isoformat(), m.start(), m.end())
        for n, pattern in enumerate(_AMOUNTS):
            for m in pattern.finditer(text):
                if n == 0:
                    currency, number, scale = _SYMBOLS[m.group(1)], m.group(2), m.group(3)
                elif n == 1:
                    currency, number, scale = _WORDS[m.group(1).lower()], m.group(2), m.group(3)
                else:
                    currency, number, scale = _WORDS[m.group(3).lower()], m.group(1), m.group(2)
                value = _amount(currency, number, scale)
                if value:
                    add("amount", value, m.start(), m.end())
        found += self._phones(text, taken)
        return sorted(found, key=lambda x: (x.start, x.type))

    def _phones(self, text: str, taken: list[tuple[int, int]]) -> Iterator[Mention]:
        import phonenumbers

        for m in _PHONE.finditer(text):
            raw = m.group(0).strip()
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            international = raw.startswith(("+", "00"))
            if not international and self.phone_region is None:
                continue
            digits = re.sub(r"\D", "", raw)
            if len(digits) < 7 or re.fullmatch(r"(19|20)\d{2}[-/.]\d{2}[-/.]\d{2}", raw):
                continue
            candidate = "+" + raw[2:] if raw.startswith("00") else raw
            try:
                number = phonenumbers.parse(candidate, None if international else self.phone_region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                yield Mention("phone", value, m.start(), m.start() + len(raw))


def name_key(text: str) -> str:
    """A name as mentions of it share it: spaces collapsed, possessive 's and edges' punctuation dropped."""
    name = re.sub(r"\s+", " ", text).strip(" .,;:!?\"'()[]{}")
    name = re.sub(r"[’']s$", "", name)
    return name


def key_of(kind: str, text: str) -> str:
    """How a value is looked up: as stored (normalised), case folded; a typed phone number or
    IBAN loses its spaces and punctuation as the stored ones did."""
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return ("+" + digits[2:] if text.strip().startswith("00") else "+" + digits) if digits else ""
    if kind == "iban":
        return re.sub(r"\s", "", text).casefold()
    if kind in NAME_TYPES:
        return name_key(text).casefold()
    return text.strip().casefold()


class NameFinder:
    """People, organisations and places from a spaCy pipeline (a folder, or an installed
    package's name). Only its tokenizer and named-entity recogniser run."""

    LABELS: ClassVar[dict[str, str]] = {
        "PERSON": "person",
        "ORG": "org",
        "GPE": "place",
        "LOC": "place",
        "FAC": "place",
    }
    MAX_CHARS = 100_000  # spaCy reads at most this much of one text (chunks are far shorter)

    def __init__(self, model: str) -> None:
        import spacy

        wanted = Path(model).expanduser()
        self.nlp: Any = spacy.load(wanted if wanted.exists() else model, exclude=["parser", "lemmatizer"])
        for name in list(self.nlp.pipe_names):
            if name != "ner" and not self._feeds_ner(name):
                self.nlp.disable_pipe(name)
        meta = self.nlp.meta
        self.version = f"{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version', '')}"

    def _feeds_ner(self, name: str) -> bool:
        """Whether the recogniser reads this component's output (a shared tok2vec or
        transformer it listens to). In spaCy's sm/md/lg pipelines the recogniser embeds on its
        own, and running the shared tok2vec for the tagger alone costs a third of the time."""
        listeners = getattr(self.nlp.get_pipe(name), "listening_components", None)
        return listeners is not None and "ner" in listeners

    def find_all(self, texts: Iterable[str]) -> Iterator[list[Mention]]:
        """The names in each text (in order), through spaCy's batching."""
        for doc in self.nlp.pipe((t[: self.MAX_CHARS] for t in texts), batch_size=64):
            found = []
            for ent in doc.ents:
                kind = self.LABELS.get(ent.label_)
                if kind is None:
                    continue
                value = name_key(ent.text)
                if len(value) < 2 or not any(c.isalpha() for c in value):
                    continue
                found.append(Mention(kind, value, ent.start_char, ent.end_char))
            yield found


# --- a process of its own -------------------------------------------------------------
# Names are the slow part of entities (spaCy's recogniser, single-threaded); a long run
# spreads them over spawned processes, each loading the pipeline once. Spawned, never forked:
# the parent has threads (the watcher, torch) that a fork would copy mid-state.

_finder: NameFinder | None = None


def start_name_worker(model: str) -> None:
    """A worker process's initializer: load the pipeline once."""
    global _finder
    _finder = NameFinder(model)


def names_in(texts: list[str]) -> list[list[Mention]]:
    """In a worker process: the names in each text."""
    if _finder is None:
        raise RuntimeError("start_name_worker was not called in this process")
    return list(_finder.find_all(texts))
