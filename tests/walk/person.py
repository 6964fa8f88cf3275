"""A person walking the demo: a browser context that notes every fault a person would see or that
the browser reports, and reads the dev inbox as that person would."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Frame, Page, Response
from playwright.sync_api import Error as PlaywrightError

from tests.browser.accessibility import Gate
from tests.walk.catalogue import Language, languages

# What a page loads besides itself; a 4xx/5xx on any of them is a broken page.
SUB_RESOURCES = {"stylesheet", "script", "image", "font", "media", "manifest", "other"}
# Every frame reports its Content-Security-Policy violations as console errors the walk collects.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI} in ${e.documentURI}`);
});
"""
# The texts of the elements that carry words, and the page's words without raw messages (<pre>).
TEXTS = """
() => {
  const skip = (e) => e.closest("pre, script, style, noscript, [data-walk-ignore]");
  const wanted = "h1,h2,h3,h4,p,label,button,a,li,dt,dd,th,td,legend,summary,option,caption,strong,em,span";
  const texts = [];
  for (const e of document.querySelectorAll(wanted)) {
    if (skip(e)) continue;
    texts.push(e.innerText || e.textContent || "");
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      if (e.getAttribute(name)) texts.push(e.getAttribute(name));
    }
  }
  for (const e of document.querySelectorAll("input[type=submit], input[placeholder], img[alt]")) {
    for (const name of ["value", "placeholder", "alt"]) texts.push(e.getAttribute(name) || "");
  }
  const body = document.body.cloneNode(true);
  for (const e of body.querySelectorAll("pre, script, style, noscript, [data-walk-ignore]")) e.remove();
  return {lang: document.documentElement.lang, title: document.title, texts, text: body.textContent};
}
"""
_LANGUAGES: dict[str, Language] = {}


def _foreign(lang: str) -> Language:
    """The other language's words: English on a French page, French on an English one."""
    if not _LANGUAGES:
        _LANGUAGES.update(languages())
    return _LANGUAGES["en" if lang == "fr" else "fr"]


@dataclass
class Problems:
    """Faults seen during the walk, with the page they happened on."""

    seen: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.seen.append(text)


@dataclass
class Message:
    channel: str
    recipient: str
    subject: str
    body: str


class Person:
    def __init__(self, *, context: BrowserContext, guichet_url: str, problems: Problems) -> None:
        self.context = context
        self.guichet_url = guichet_url
        self.shop_url = guichet_url.replace("127.0.0.1", "localhost") + "/demo/shop/"
        self.problems = problems
        self.mine: list[str] = []
        context.add_init_script(CSP_LISTENER)
        context.on("page", self._watch)
        # axe-core on every document the person reaches, as in the browser tests.
        self.gate = Gate()
        self.page = self.gate.attach(context.new_page())
        self._inbox: Page | None = None

    # --- what goes wrong ----------------------------------------------------------------------

    def _fault(self, text: str) -> None:
        self.mine.append(text)
        self.problems.add(text)

    def _watch(self, page: Page) -> None:
        page.on("response", self._response)
        page.on("console", lambda message: self._console(message, page))
        page.on("pageerror", lambda error: self._fault(f"script error: {error} ({page.url})"))
        page.on("requestfailed", self._failed)

    def _console(self, message: ConsoleMessage, page: Page) -> None:
        # Errors only: CSP violations come as errors too (CSP_LISTENER), with the browser's own.
        if message.type == "error":
            self._fault(f"console error: {message.text} ({page.url})")

    def _response(self, response: Response) -> None:
        request = response.request
        if request.resource_type in SUB_RESOURCES and response.status >= 400:
            self._fault(f"{request.resource_type} {response.url} answered {response.status}")

    def _failed(self, request: Any) -> None:
        # A navigation away cancels what the old page was still loading (ERR_ABORTED): not a fault.
        if request.resource_type in SUB_RESOURCES and "ERR_ABORTED" not in (request.failure or ""):
            self._fault(f"{request.resource_type} {request.url} failed: {request.failure}")

    def finish(self) -> None:
        """The last accessibility check of the open pages; what it found is a fault like the others."""
        verdict = self.gate.finish()
        if verdict:
            self._fault(verdict)
        if not self.gate.checked:
            self._fault("axe-core checked no document of this walk")

    def assert_no_problem(self) -> None:
        assert self.mine == []

    # --- what the pages say -------------------------------------------------------------------

    def check(self, lang: str, page: Page | None = None) -> None:
        """Every frame of the page speaks `lang` and only `lang`."""
        page = page or self.page
        page.wait_for_load_state("load")
        for frame in page.frames:
            if frame.url.startswith("http") and _in_sight(frame):
                self._check_frame(frame, lang)

    def _check_frame(self, frame: Frame, lang: str) -> None:
        seen = frame.evaluate(TEXTS)
        where = f"{frame.url} ({seen['title']})"
        if seen["lang"] != lang:
            self._fault(f'page in "{seen["lang"]}", expected "{lang}": {where}')
        foreign = _foreign(lang).foreign_in([*seen["texts"], seen["title"]], seen["text"])
        if foreign:
            self._fault(f"mixed page, {lang} with {foreign}: {where}")

    def switch_to_english(self, page: Page | None = None) -> None:
        """The header's EN button, as on every page of Guichet and of the shop."""
        page = page or self.page
        page.get_by_role("button", name="EN", exact=True).click()
        page.wait_for_function("document.documentElement.lang === 'en'")

    # --- the dev inbox: the cardholder's phone and the subscriber's mailbox --------------------

    def inbox(self, *, channel: str, recipient: str) -> list[Message]:
        """The messages of one channel to one recipient, newest first, as the dev inbox shows them."""
        if self._inbox is None:
            self._inbox = self.gate.attach(self.context.new_page())
        self._inbox.goto(f"{self.guichet_url}/dev/inbox")
        # The inbox is one of Guichet's pages too: in one language, whichever the person has there.
        self._check_frame(self._inbox.main_frame, self._inbox.locator("html").get_attribute("lang") or "")
        found = []
        for article in self._inbox.locator(
            f'article[data-channel="{channel}"][data-recipient="{recipient}"]'
        ).all():
            subject = article.locator("h2")
            found.append(
                Message(
                    channel=channel,
                    recipient=recipient,
                    subject=subject.inner_text() if subject.count() else "",
                    body=article.locator("pre").inner_text(),
                )
            )
        return found

    def wait_for_message(self, *, channel: str, recipient: str, after: int, timeout: float = 20) -> Message:
        """The newest message once more than `after` have arrived for this recipient."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.inbox(channel=channel, recipient=recipient)
            if len(messages) > after:
                return messages[0]
            assert time.monotonic() < deadline, f"no new {channel} to {recipient} after {timeout} s"
            time.sleep(0.3)

    def count(self, *, channel: str, recipient: str) -> int:
        return len(self.inbox(channel=channel, recipient=recipient))


def _in_sight(frame: Frame) -> bool:
    """The page itself, or an iframe the person can see. The 3DS Method runs in a hidden iframe with
    nothing to read, and moves on to the shop's notification URL at its own pace."""
    if frame.parent_frame is None:
        return True
    try:
        return frame.frame_element().is_visible()
    except PlaywrightError:  # gone meanwhile
        return False
