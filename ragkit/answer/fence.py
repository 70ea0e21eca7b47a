"""The fence around document text in prompts: one pure function per rule.

Passages and file names are data. Before they go between ``<source>`` tags they are
neutralised so that nothing in a document can close the fence, open a chat-template role,
pass for the instructions or the question, or plant a citation marker. Each rule changes
as little as it can (angle brackets become look-alike guillemets), so the model still reads
the text; citations are checked against the original passage, never against this copy.
"""

from __future__ import annotations

import html
import re

# <source ...>, </source>, with any spacing or case
_FENCE_TAG = re.compile(r"<(\s*/?\s*source\b[^>]*)>?", re.IGNORECASE)
# chat-template control tokens: <|im_start|>, <|eot_id|>, DeepSeek's <｜Assistant｜>, and the
# reasoning and sentence tags models are trained on
_CONTROL = re.compile(
    r"<\s*\|[^<>|\n]{0,64}\|\s*>|<\s*｜[^<>｜\n]{0,64}｜\s*>|<\s*/?\s*(?:think|s)\s*>|\[/?INST\]",
    re.IGNORECASE,
)
# lines that would read as ragkit's own words: the question line, the instructions, a role
_IMPERSONATION = re.compile(
    r"^(\s*)((?:question|answer the question|instructions?|system|assistant|user|sources \[)\b)",
    re.IGNORECASE | re.MULTILINE,
)
# [3] or [1, 2] standing alone (not a[0] in code): what the model writes to cite
_CITATION_MARKER = re.compile(r" ?(?<![\w\]\[])\[\d{1,3}(?:\s*,\s*\d{1,3})*\](?!\()")


_LOOK_ALIKES = str.maketrans({"<": "‹", ">": "›", "[": "⟦", "]": "⟧"})


def close_no_fence(text: str) -> str:
    """``<source>`` and ``</source>`` in a document lose their angle brackets."""
    return _FENCE_TAG.sub(lambda m: f"‹{m.group(1).strip()}›", text)


def open_no_role(text: str) -> str:
    """Chat-template control tokens in a document are written with look-alike brackets,
    so the tokenizer reads them as text, not as a turn of the conversation."""
    return _CONTROL.sub(
        lambda m: m.group(0).replace("<", "‹").replace(">", "›").replace("[", "⟦").replace("]", "⟧"), text
    )


def speak_not_for_ragkit(text: str) -> str:
    """A document line that starts like the question or the instructions is quoted."""
    return _IMPERSONATION.sub(lambda m: f"{m.group(1)}> {m.group(2)}", text)


def cite_nothing(text: str) -> str:
    """Citation markers in a document are removed: only the model cites, and only sources."""
    return _CITATION_MARKER.sub("", text)


def passage(text: str) -> str:
    """Document text as it may stand between ``<source>`` tags."""
    return cite_nothing(speak_not_for_ragkit(open_no_role(close_no_fence(text))))


def attribute_value(text: str) -> str:
    """A file name as it may stand in a tag's attribute: one line, quotes and brackets escaped."""
    return html.escape(open_no_role(" ".join(text.split())), quote=True)
