"""The French catalogues as a detector of mixed pages: English words on a French page, or French
words on an English one.

The catalogues are read from the checkout as text (never through Django): the server under walk is
the installed wheel, and these files only say which words belong to which language.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "guichet"

# Placeholders, tags and the line breaks of `blocktranslate trimmed` cut a text into fragments.
_CUT = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{.*?\}\}|\{\w*\}|<[^>]+>|\s*\n\s*")
_SPACE = re.compile(r"\s+")
# A whole text this short, or a fragment this short, says little about its language.
MIN_WHOLE = 4
MIN_FRAGMENT_WORDS = 4


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


@dataclass(frozen=True)
class Language:
    """What tells a text is in one language: whole texts (a button, a label) and long fragments."""

    wholes: frozenset[str]
    fragments: frozenset[str]

    def foreign_in(self, element_texts: list[str], page_text: str) -> list[str]:
        """The texts of this language found among an element's whole texts or inside the page."""
        found = {t for t in map(normalise, element_texts) if t in self.wholes}
        text = normalise(page_text)
        found |= {f for f in self.fragments if f in text}
        return sorted(found)


def _entries(path: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a .po file, plural forms paired by index; fuzzy entries left out."""
    pairs: list[tuple[str, str]] = []
    entries: list[tuple[dict[str, str], bool]] = []
    fields: dict[str, str] = {}
    fuzzy = False
    key = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        starts_entry = line.startswith(("#", "msgctxt ", "msgid "))
        if starts_entry and any(k.startswith("msgstr") for k in fields):
            entries.append((fields, fuzzy))
            fields, fuzzy, key = {}, False, ""
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith(("msgctxt ", "msgid", "msgstr")):
            key, _, value = line.partition(" ")
            fields[key] = ast.literal_eval(value)
        elif line.startswith('"') and key:
            fields[key] += ast.literal_eval(line)
    entries.append((fields, fuzzy))
    for entry, is_fuzzy in entries:
        if is_fuzzy or not entry.get("msgid"):
            continue
        if "msgid_plural" in entry:
            pairs.append((entry["msgid"], entry.get("msgstr[0]", "")))
            pairs.append((entry["msgid_plural"], entry.get("msgstr[1]", "")))
        else:
            pairs.append((entry["msgid"], entry.get("msgstr", "")))
    return [(source, french) for source, french in pairs if source and french]


def _pieces(text: str) -> list[str]:
    return [normalise(p) for p in _CUT.split(text) if normalise(p)]


def languages() -> dict[str, Language]:
    """{"en": what is English, "fr": what is French}, from every French catalogue of the package."""
    pairs: list[tuple[str, str]] = []
    for po in sorted(PACKAGE.glob("**/locale/fr/LC_MESSAGES/django.po")):
        pairs += _entries(po)
    english = {normalise(s) for s, f in pairs if normalise(s) != normalise(f)}
    french = {normalise(f) for s, f in pairs if normalise(s) != normalise(f)}
    # A text both languages write alike ("Contact", "Date", a brand) tells nothing.
    shared = english & french
    english_pieces = {p for s, f in pairs if normalise(s) != normalise(f) for p in _pieces(s)}
    french_pieces = {p for s, f in pairs if normalise(s) != normalise(f) for p in _pieces(f)}
    shared_pieces = english_pieces & french_pieces

    def language(wholes: set[str], pieces: set[str], other_text: str) -> Language:
        return Language(
            wholes=frozenset(
                w for w in wholes - shared if len(w) >= MIN_WHOLE and "{" not in w and "%" not in w
            ),
            fragments=frozenset(
                p
                for p in pieces - shared_pieces
                if len(p.split()) >= MIN_FRAGMENT_WORDS and p not in other_text
            ),
        )

    all_french = " ".join(french)
    all_english = " ".join(english)
    return {
        "en": language(english, english_pieces, all_french),
        "fr": language(french, french_pieces, all_english),
    }
