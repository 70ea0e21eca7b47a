"""Stop runaway generations: small models loop on the same sentence, or a close paraphrase.

Text passes through sentence by sentence; a sentence that repeats an earlier one is held
back and generation stops there, so the user never sees the loop.
"""

from __future__ import annotations

import re

from ragkit.core.text import content_words

_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
NEAR_DUPLICATE = 0.7  # share of a sentence's content words already said in one earlier sentence


class RepetitionGuard:
    def __init__(self, min_words: int = 4) -> None:
        self.min_words = min_words
        self.stopped = False
        self._buffer = ""
        self._seen: list[set[str]] = []

    def feed(self, chunk: str) -> str:
        """Add generated text; return the text now safe to show."""
        if self.stopped:
            return ""
        self._buffer += chunk
        released = []
        while not self.stopped:
            match = _SENTENCE_END.search(self._buffer)
            if match is None:
                break
            sentence, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            if self._repeats(sentence):
                self.stopped = True
                self._buffer = ""
                break
            released.append(sentence)
        return "".join(released)

    def flush(self) -> str:
        rest, self._buffer = self._buffer, ""
        if self.stopped or self._repeats(rest):
            return ""
        return rest

    def _repeats(self, sentence: str) -> bool:
        words = content_words(re.sub(r"\[\d+\]", "", sentence))
        if len(words) < self.min_words:
            return False
        for earlier in self._seen:
            if len(words & earlier) / len(words) >= NEAR_DUPLICATE:
                return True
        self._seen.append(words)
        return False
