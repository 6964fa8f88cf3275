"""A real Chromium (Debian's) driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.accessibility import Gate
from tests.issuer.acs.challenge.support import DirectoryServer, ds_list
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS

GATE = pytest.StashKey[Gate]()
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder drives Chromium: `-m "not browser"` leaves them out."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module; each test gets its own context (cookies, storage).

    Playwright's sync API keeps an event loop running in the test thread while it is started. The
    tests' own ORM calls there are safe (nothing else runs on that loop), so Django's async guard is
    lifted while Chromium runs, and only then: per module, not per session, so that the rest of the
    suite runs with the guard that catches an ORM call on the AReq's event loop.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent: install Debian's chromium package to run the browser tests"
        if os.environ.get("GUICHET_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(autouse=True)
def accessibility(browser: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Every page of every context the test opens (the `page` fixture's or its own) goes through the
    accessibility gate (tests/browser/accessibility.py); the test fails on what it found."""
    gate = Gate()
    request.node.stash[GATE] = gate
    new_context = browser.new_context

    def gated_context(*args: Any, **kwargs: Any) -> Any:
        context = new_context(*args, **kwargs)
        if kwargs.get("java_script_enabled") is False:
            return context  # axe is a script: it cannot run there (the same pages are checked elsewhere)
        new_page, close = context.new_page, context.close

        def gated_page() -> Any:
            page = gate.attach(new_page())
            # goto and reload leave the document without an action's check: check it first.
            for name in ("goto", "reload"):
                leave = getattr(page, name)
                setattr(page, name, _checking_first(gate, page, leave))
            return page

        def gated_close(*args: Any, **kwargs: Any) -> None:
            for page in context.pages:
                gate.check(page, force=True)
            close(*args, **kwargs)

        context.new_page, context.close = gated_page, gated_close
        return context

    monkeypatch.setattr(browser, "new_context", gated_context)
    return gate


def _checking_first(gate: Gate, page: Any, leave: Any) -> Any:
    def checked(*args: Any, **kwargs: Any) -> Any:
        gate.check(page)
        return leave(*args, **kwargs)

    return checked


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test that passed, while its pages are still open: fail it on the gate's findings."""
    gate = item.stash.get(GATE, None)
    try:
        result = yield
        failure = gate.finish() if gate is not None else ""
    finally:
        if gate is not None:
            gate.finished = True  # a test that failed is not checked further, nor as its contexts close
    if gate is not None:
        item.add_report_section("call", "accessibility: documents checked", "\n".join(gate.checked))
    if failure:
        pytest.fail(failure, pytrace=False)
    return result


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context on the live server.

    The browser asks for English (Accept-Language), yet pages come in French, the portal's default,
    until English is chosen with the header's EN button.
    """
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def ds(settings: Any) -> Iterator[DirectoryServer]:
    """A real Directory Server for the challenge tests, listed in GUICHET_ACS_DS_URLS so that the ACS
    answers AReqs naming it."""
    server = DirectoryServer()
    server.start()
    ds_list(settings, server.url)
    yield server
    server.stop()
