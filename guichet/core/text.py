"""Text written by others (an AReq's merchantName, a merchant's product) made fit to show.

Such text goes into the bank's own SMS, emails and pages: a merchant must not be able to start a
line of its own there ("…\nVotre code est 00000000"), reorder it (bidirectional overrides), hide
characters in it (zero-width, private use) or make it as long as it likes.
"""

from __future__ import annotations

import unicodedata

# Not shown: controls (Cc), formatting (Cf: bidi overrides, zero-width), surrogates, private use,
# unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Line and paragraph separators, and any other white space, become one space.
_BREAKS = frozenset({"Zl", "Zp"})


def one_line(value: str | None, *, max_length: int) -> str:
    """`value` on one line, without control or formatting characters, white space runs as one space,
    at most `max_length` characters (a longer text is cut and ends with "…")."""
    if not value:
        return ""
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", value):
        category = unicodedata.category(char)
        if char.isspace() or category in _BREAKS:
            kept.append(" ")
        elif category not in _HIDDEN:
            kept.append(char)
    text = " ".join("".join(kept).split())
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text
