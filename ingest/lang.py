"""Which language a document is written in, for the ``lang:`` filter: by its script for the
languages that have one of their own, else by its most frequent short words. Small,
offline and deterministic; it answers None rather than guess when the text is too short or
too mixed to tell."""

from __future__ import annotations

import re
import unicodedata

LANG_SAMPLE = 20_000  # characters of a document looked at

# the commonest function words of each language (a word shared by two languages counts for both)
_STOPWORDS = {
    "en": "the of and to in is that it for was on are with as be by this at from or have an not which but",
    "fr": "le la les de des et est un une du en que qui dans pour pas sur au avec il elle sont ce par plus",
    "de": "der die das und ist nicht ein eine zu den von mit sich des auf für im dem auch es sie wird wie",
    "es": "el la los las de y que en un una es por con para del se no al lo como más su pero sus fue",
    "it": "il la di che e è un una per non del della sono con le gli si da al nel anche come più dei",
    "pt": "o a os as de e que em um uma do da para com não por se no na mais dos como mas foi ao",
    "nl": "de het een en van is dat in te op niet zijn met voor die er aan ook als bij door maar nog",
    "sv": "och att det som en är på för med av till den har inte om ett de jag var så men från",
    "da": "og at det som en er på for med af til den har ikke om et de jeg var så men fra",
    "no": "og at det som en er på for med av til den har ikke om et de jeg var så men fra ikkje",
    "fi": "ja on ei se että oli hän ovat kun mutta myös tai joka mikä sekä niin kuin olla sen",
    "pl": "i w na nie z że się do to jest jak ale o od po tak co za przez być są jego",
    "ru": "и в не на что с как по это он но из к у же за от то для бы так его",
    "uk": "і в не на що з як по це він але із до у же за від та для би так його",
    "tr": "ve bir bu da de için ile olarak daha çok gibi en ama o ne var mı değil olan",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
# every language's function words: words that say little of what a passage is about (ranked
# keyword search leaves them out of a query that has other words)
FUNCTION_WORDS = frozenset().union(*_WORDS.values())
_TOKEN = re.compile(r"[^\W\d_]+")
MIN_WORDS = 12  # fewer words than this: not enough to tell


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for script, lang in (
        ("HIRAGANA", "ja"),
        ("KATAKANA", "ja"),
        ("HANGUL", "ko"),
        ("CJK", "zh"),
        ("ARABIC", "ar"),
        ("HEBREW", "he"),
        ("GREEK", "el"),
        ("THAI", "th"),
        ("DEVANAGARI", "hi"),
    ):
        if name.startswith(script):
            return lang
    return None


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language of ``text``, or None when it cannot be told."""
    sample = text[:LANG_SAMPLE]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return None
    scripts: dict[str, int] = {}
    for char in letters[:5000]:
        if ord(char) > 0x2FF:
            lang = _script(char)
            if lang:
                scripts[lang] = scripts.get(lang, 0) + 1
    if scripts:
        if scripts.get("ja"):  # Japanese mixes kana with kanji (CJK)
            scripts["ja"] += scripts.pop("zh", 0)
        lang, count = max(scripts.items(), key=lambda item: item[1])
        if count >= 0.3 * min(len(letters), 5000):
            return lang
    words = [w.lower() for w in _TOKEN.findall(sample)]
    if len(words) < MIN_WORDS:
        return None
    hits = {lang: sum(1 for w in words if w in stop) for lang, stop in _WORDS.items()}
    ranked = sorted(hits.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 0.08 * len(words) or top < 1.15 * second:
        return None  # too few function words, or two languages too close (Danish and Norwegian)
    return best


KNOWN_LANGUAGES = frozenset(_STOPWORDS) | {"ja", "ko", "zh", "ar", "he", "el", "th", "hi"}
