"""Each compiled catalogue (.mo, what Django reads and the wheel carries) says what its .po says.

A .po edited or merged without compiling it again leaves its .mo behind: the page then shows the
English source text on a French page.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from tests.walk.catalogue import PACKAGE, _entries

CATALOGUES = sorted(PACKAGE.glob("**/locale/*/LC_MESSAGES/django.po"))


def test_there_are_catalogues_to_check():
    assert len(CATALOGUES) >= 8


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_compiled_catalogue_holds_every_translation_of_its_source(po: Path):
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # The translations themselves, whatever their key (a context, a plural form): a stale .mo lacks
    # the new ones. GNUTranslations keeps them in `_catalog`, its one public-in-practice table.
    translations = set(compiled._catalog.values())  # type: ignore[attr-defined]
    missing = sorted({french for _, french in _entries(po)} - translations)
    assert missing == []
