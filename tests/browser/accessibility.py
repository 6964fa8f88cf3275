"""The accessibility gate of the browser tests: axe-core on every document a test reaches.

How it hooks in (tests/browser/conftest.py wires it): Playwright's sync API must not be re-entered from
an event callback (a `load` or `framenavigated` handler cannot evaluate in the page), and a document is
gone once the test has navigated away. So the documents are checked at points where the test waits on
Playwright anyway:

* a locator handler (`page.add_locator_handler`, Playwright's public hook for running API calls before
  an action or an auto-waiting assertion) matches the root element of a document not yet checked, in
  the main frame and in the first iframes: a document is checked before the first thing the test does
  with it, while it is still shown, however the test reached it (link, form, script, redirect);
* `goto` and `reload`, which act without such a check, and `context.close` check the page first;
* at the end of the test every open page is checked again in its final state.

A checked document's root carries `data-a11y-checked`; the mark is set before axe runs, so a document
that replaces it (a navigation during the run) is never mistaken for a checked one. Results are cached
for the session by URL path, language and a hash of the DOM (hidden inputs' values left out: CSRF
tokens), the styles and the viewport, so that a page shown again unchanged is not analysed again, yet
its violations still count.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, Page

MARK = "data-a11y-checked"
GATED_IMPACTS = ("critical", "serious")
# Each document is checked in its own frame (axe's own frame messaging is off): an iframe's document
# is reported with its own URL, and a cross-origin iframe needs no help from its parent.
AXE_OPTIONS = {"resultTypes": ["violations"], "iframes": False}
# Documents in iframes beyond these are not watched (no page here has more than one iframe).
WATCHED_IFRAMES = 2

# The document's state, and marks it: its language, its markup without what changes at every view,
# its styles (a test may change a colour the same markup is drawn in) and the viewport's size.
CLAIM = """([mark, force]) => {
    const root = document.documentElement;
    if (!root || (root.hasAttribute(mark) && !force)) { return null; }
    root.setAttribute(mark, "");
    const copy = root.cloneNode(true);
    copy.removeAttribute(mark);
    for (const input of copy.querySelectorAll("input[type=hidden]")) { input.removeAttribute("value"); }
    const styles = [...document.styleSheets].map((sheet) => {
        try { return [...sheet.cssRules].map((rule) => rule.cssText).join("\\n"); }
        catch (e) { return sheet.href; }  // another origin's: its address stands for it
    });
    const state = [copy.outerHTML, ...styles, `${innerWidth}x${innerHeight}`].join("\\n");
    return {url: location.href, lang: root.lang, state};
}"""

_axe = Axe()
_cache: dict[tuple[str, str, str], list[dict[str, Any]]] = {}


@dataclasses.dataclass
class Gate:
    """What one test's documents showed: the serious and critical violations, and checks that failed."""

    violations: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    checked: list[str] = dataclasses.field(default_factory=list)
    pages: list[Page] = dataclasses.field(default_factory=list)
    finished: bool = False

    def attach(self, page: Page) -> Page:
        """Watch this page's documents from now on."""
        self.pages.append(page)
        roots = [page.locator(f":root:not([{MARK}])")]
        roots += [
            page.locator("iframe").nth(n).content_frame.locator(f":root:not([{MARK}])")
            for n in range(WATCHED_IFRAMES)
        ]
        for root in roots:
            page.add_locator_handler(root, lambda: self._handle(page), no_wait_after=True)
        return page

    def _handle(self, page: Page) -> None:
        # Playwright swallows what a locator handler raises: keep it for the test's end instead.
        try:
            self.check(page)
        except Exception as error:  # noqa: BLE001 (a failed check is a finding, not a crash)
            self.errors.append(f"- the check of {page.url} failed: {error!r}")

    def check(self, page: Page, *, force: bool = False) -> None:
        """Check the page's documents not checked yet (all of them, again, when `force`)."""
        if self.finished or page.is_closed():
            return
        for frame in page.frames:
            self._check_frame(frame, force=force)

    def finish(self) -> str:
        """The final check of the open pages; what the test must fail with, or "" when all is well."""
        for page in self.pages:
            self.check(page, force=True)
        self.finished = True
        lines = list(dict.fromkeys(self.violations + self.errors))  # a page seen twice, told once
        if not lines:
            return ""
        return "Accessibility (axe-core): critical or serious violations\n" + "\n".join(lines)

    def _check_frame(self, frame: Frame, *, force: bool) -> None:
        if frame.is_detached() or urlsplit(frame.url).scheme not in ("http", "https"):
            return  # about:blank, a browser error page, a test's own set_content
        try:
            state = frame.evaluate(CLAIM, [MARK, force])
            if state is None:
                return
            key = (
                urlsplit(state["url"]).path,
                state["lang"],
                hashlib.sha256(state["state"].encode()).hexdigest(),
            )
            if key not in _cache:
                response = _axe.run(frame, options=AXE_OPTIONS).response
                if response["url"] != state["url"]:
                    return  # the document was replaced meanwhile: the new one is not marked, so checked later
                _cache[key] = [v for v in response["violations"] if v["impact"] in GATED_IMPACTS]
        except PlaywrightError as error:
            if frame.is_detached() or _replaced(error):
                return  # the document went away while being checked: nothing of it is left to check
            self.errors.append(f"- could not check {frame.url}: {error.message.splitlines()[0]}")
            return
        self.checked.append(f"{state['url']} [{state['lang']}]")
        for violation in _cache[key]:
            self.violations.append(describe(violation, state["url"], state["lang"]))


def _replaced(error: PlaywrightError) -> bool:
    message = error.message
    return "Execution context was destroyed" in message or "navigat" in message or "Target closed" in message


def describe(violation: dict[str, Any], url: str, lang: str) -> str:
    """One violation: the rule, its impact, the elements' selectors and the document's URL."""
    targets = "; ".join(" >> ".join(node["target"]) for node in violation["nodes"])
    return (
        f"- {violation['id']} ({violation['impact']}) at {url} [lang={lang}]: {violation['help']}\n"
        f"    targets: {targets}\n    see {violation['helpUrl']}"
    )
