"""The accessibility gate itself (tests/browser/accessibility.py): it sees every document the test
reaches, iframes too, and keeps only the serious and critical violations, with what to fix where."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.accessibility import Gate

pytestmark = pytest.mark.browser

PAGES = {
    # Nothing serious: a landmark-less page is only "moderate" (region), which the gate lets pass.
    "/a11y/start": (
        '<!DOCTYPE html><html lang="en"><title>Start</title><h1>Start</h1><a href="/a11y/bad">Next</a>'
    ),
    # No lang (serious), an image without text (critical), a framed document with a nameless button.
    "/a11y/bad": (
        '<!DOCTYPE html><html><title>Bad</title><h1>Bad</h1><img src="data:image/gif;base64,'
        'R0lGODlhAQABAAAAACw=" width="10" height="10"><iframe title="Inner" src="/a11y/framed"></iframe>'
    ),
    "/a11y/framed": '<!DOCTYPE html><html lang="en"><title>Inner</title><button id="nameless"></button>',
}
HEADLINE = re.compile(r"^- (\S+) \((\w+)\) at (\S+) \[lang=(\w*)\]: .+$")


def serve(route: Route) -> None:
    path = "/" + route.request.url.split("/", 3)[3]
    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGES[path])


def test_every_document_reached_is_checked_and_serious_violations_are_told(
    page: Page, live_server: Any, accessibility: Gate
) -> None:
    page.route(f"{live_server.url}/a11y/**", serve)
    page.goto("/a11y/start")
    page.get_by_role("link", name="Next").click()  # reached by a link: checked at the next assertion
    expect(page.locator("h1")).to_have_text("Bad")
    page.goto("/a11y/start")
    failure = accessibility.finish()
    base = live_server.url
    assert accessibility.checked == [
        f"{base}/a11y/start [en]",
        f"{base}/a11y/bad []",
        f"{base}/a11y/framed [en]",
        f"{base}/a11y/start [en]",
    ]
    headlines = [HEADLINE.match(line) for line in failure.splitlines() if line.startswith("- ")]
    assert [m.groups() if m else None for m in headlines] == [
        ("html-has-lang", "serious", f"{base}/a11y/bad", ""),
        ("image-alt", "critical", f"{base}/a11y/bad", ""),
        ("button-name", "critical", f"{base}/a11y/framed", "en"),
    ]
    targets = [line.strip() for line in failure.splitlines() if line.strip().startswith("targets:")]
    assert targets == ["targets: html", "targets: img", "targets: #nameless"]
    assert failure.startswith("Accessibility (axe-core): critical or serious violations\n")
    # Told here, so that the gate lets this test pass.
    accessibility.violations.clear()


def test_a_test_ends_with_the_current_documents_state(
    page: Page, live_server: Any, accessibility: Gate
) -> None:
    """A violation that appears after the first check is found by the final one."""
    page.route(f"{live_server.url}/a11y/**", serve)
    page.goto("/a11y/start")
    expect(page.locator("h1")).to_have_text("Start")
    assert accessibility.violations == []
    page.evaluate("document.documentElement.removeAttribute('lang')")
    failure = accessibility.finish()
    assert "- html-has-lang (serious) at " in failure
    accessibility.violations.clear()
