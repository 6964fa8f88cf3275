"""Text from outside: characters no input may carry, and others' text made fit to show.

U+0000, lone surrogates and the Unicode non-characters are no text anyone types. U+0000 cannot be
stored by PostgreSQL (text or jsonb), a lone surrogate cannot be encoded to UTF-8 (database, page,
log), and a non-character is reserved for a program's internal use (Unicode §23.7): refused at the
boundary, each with a 4xx that names the field, never a 5xx or, for the ACS, a false "database
unavailable" further in.

Text written by others (an AReq's merchantName, a merchant's product) goes into the bank's own SMS,
emails and pages: a merchant must not be able to start a line of its own there ("…\nVotre code est
00000000"), reorder it (bidirectional overrides), hide characters in it (zero-width, private use) or
make it as long as it likes (`one_line`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
BAD = re.compile(f"[\x00\ud800-\udfff{_NONCHARACTERS}]")
# In JSON text they may also come escaped: \u0000, \uD800-\uDFFF (also a valid pair, which the exact
# check then passes), \uFDD0-\uFDEF, \uFFFE, \uFFFF. A cheap test before walking the parsed value.
_BAD_IN_JSON = re.compile(r"\\u(?:0000|[dD][89a-fA-F]|[fF][dD][dDeE]|[fF]{3}[eEfF])|" + f"[{_NONCHARACTERS}]")


def text_bad(value: str) -> bool:
    return BAD.search(value) is not None


def json_bad_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a bad character in a parsed JSON value
    ("" for the value itself), or None."""
    if isinstance(value, str):
        return path if text_bad(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if text_bad(key):
                return text_clean(here)
            found = json_bad_path(item, here)
            if found is not None:
                return text_clean(found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = json_bad_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def json_text_may_be_bad(text: str) -> bool:
    """False when the JSON text surely holds no bad character once parsed (the common case).

    In ASCII text only an escape can hide one (a raw U+0000 is not valid JSON): `"\\u" in text` is a
    substring search in C, about 3 µs for a 3 KiB AReq, against 165 µs for the pattern itself."""
    if text.isascii() and "\\u" not in text:
        return False
    return _BAD_IN_JSON.search(text) is not None


def text_clean(value: str) -> str:
    """`value` without its bad characters: to name a field in an answer, a page or a log."""
    return BAD.sub("", value)


def json_scrubbed(value: Any) -> Any:
    """A JSON value with each bad character replaced by U+FFFD: storable and showable as received."""
    if isinstance(value, str):
        return BAD.sub("\ufffd", value)
    if isinstance(value, dict):
        return {json_scrubbed(k): json_scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_scrubbed(v) for v in value]
    return value


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
