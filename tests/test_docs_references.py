"""What the code and the docs cite stays in the repository: every `docs/<page>.md §N` names a page of
docs/ with a heading numbered N, and no comment points to a document the repository does not hold."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import ROOT

CITATION = re.compile(r"docs/([a-z0-9-]+\.md) §(\d+(?:\.\d+[a-z]?)?)")
NUMBERED = re.compile(r"^#+ (\d+(?:\.\d+[a-z]?)?)[. ]", re.MULTILINE)
# Places outside the repository that earlier comments cited: the product's planning documents and
# the reference notes whose facts are now in docs/emv-3ds.md.
OUTSIDE = re.compile(r"PRODUCT\.md|\bnotes §|\bseed 00\d|\b[Ii]ssue \d+\b")


def sources() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "bench" / "README.md"]
    for top in ("guichet", "tests", "bench", "docs"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".py", ".md", ".html") and "migrations" not in path.parts:
                found.append(path)
    return [p for p in found if p != Path(__file__)]


def sections(page: str) -> set[str]:
    return set(NUMBERED.findall((ROOT / "docs" / page).read_text(encoding="utf-8")))


def citations(text: str) -> list[tuple[str, str]]:
    return CITATION.findall(text)


def test_every_cited_section_is_a_heading_of_its_page() -> None:
    missing = []
    for path in sources():
        for page, section in citations(path.read_text(encoding="utf-8")):
            if not (ROOT / "docs" / page).exists() or section not in sections(page):
                missing.append(f"{path.relative_to(ROOT)}: docs/{page} §{section}")
    assert missing == []


def test_nothing_points_outside_the_repository() -> None:
    outside = []
    for path in sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                outside.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert outside == []


def test_the_checks_find_what_they_look_for() -> None:
    assert citations("see docs/emv-3ds.md §9.1a and docs/emv-3ds.md §2") == [
        ("emv-3ds.md", "9.1a"),
        ("emv-3ds.md", "2"),
    ]
    assert {"9.1a", "9.5", "2", "11"} <= sections("emv-3ds.md")
    assert "99.9" not in sections("emv-3ds.md")
    assert OUTSIDE.search("as PRODUCT.md §4 says")
    assert OUTSIDE.search("(issue 3)")
    assert not OUTSIDE.search("the issuer 3 and docs/emv-3ds.md §3")
