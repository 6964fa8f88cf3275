"""The demo as a person installs and walks it (scripts/walk installs the wheel and starts it).

Nothing here imports guichet: the server under walk is the installed wheel, reached over HTTP and
through a real Chromium only. Every document is checked by axe-core as in the browser tests
(tests/browser/accessibility.py). GUICHET_WALK_URL names Guichet's origin (http://127.0.0.1:PORT) and
GUICHET_WALK_LOG the file the demo's output goes to.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.walk.person import Person, Problems


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("GUICHET_WALK_URL"):
        skip = pytest.mark.skip(reason="the demo walk runs through scripts/walk, against the installed wheel")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def guichet_url() -> str:
    return os.environ["GUICHET_WALK_URL"].rstrip("/")


@pytest.fixture(scope="session")
def server_log() -> Path:
    return Path(os.environ["GUICHET_WALK_LOG"])


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def problems() -> Problems:
    """What went wrong in any page of the walk; each test fails on its own, the log test on all."""
    return Problems()


@pytest.fixture
def person(browser: Any, guichet_url: str, problems: Problems) -> Iterator[Person]:
    """A person at their computer: a browser asking for English (pages must still come in French)."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    who = Person(context=context, guichet_url=guichet_url, problems=problems)
    yield who
    who.finish()
    context.close()
    who.assert_no_problem()
