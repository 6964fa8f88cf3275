"""Phones and challenge windows (no sideways scrolling, every control reachable), in a real Chromium.

Every page of the enrollment portal, the 3DS challenge, the pay-on-bill checkout, the subscriber pages
and the demo shop, at 375x812 and 320x640: nothing scrolls sideways (neither the document nor any
element of it) and the page's main fields and buttons lie inside the viewport. The challenge in an
iframe of each EMV challengeWindowSize (01 250x400, 02 390x400, 03 500x600, 04 600x400, 05 the whole
page): the code field and "Valider" inside the iframe, the transaction summary above the form where the
window is narrow, and each summary value on a single line inside the summary (in the 250px window
too, where it sits under its label; and in the whole page of a tablet); on phones, no summary value
broken inside a word. On a desktop the bill is still a table.

The pages are walked the way the other browser tests walk them, with their helpers.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import json
import os
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from playwright.sync_api import Frame, Locator, Page, expect

from guichet.core import clock as guichet_clock
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.cards.services import epin_set
from guichet.payonbill.subscribers.billing import charge_refund, contract_charge
from tests.browser import test_checkout as checkout_walk
from tests.browser import test_demo_shop as shop_walk
from tests.browser import test_enrollment_portal as portal_walk
from tests.browser import test_subscribers as subscriber_walk
from tests.issuer.acs.challenge.support import DirectoryServer
from tests.issuer.acs.support import areq_220, enrolled_holder
from tests.payonbill.checkout.merchant import MerchantSite
from tests.payonbill.checkout.support import (
    Shop,
    checkout_settings,
    multi_bal,
    open_shop,
    subscribers_settings,
)
from tests.payonbill.subscribers.factories import make_contract
from tests.support.factories import make_cardholder, make_pan
from tests.support.fixtures import sms_code

pytestmark = pytest.mark.browser

PHONES = [(375, 812), (320, 640)]
DESKTOP = (1280, 800)
# challengeWindowSize → the iframe's size; 05 is the whole page (the viewport).
WINDOWS = {"01": (250, 400), "02": (390, 400), "03": (500, 600), "04": (600, 400), "05": DESKTOP}
NARROW = ["01", "02", "03"]
# Each window in a desktop page; and the whole page of a tablet, between the phone and the desktop.
CHALLENGES = [
    *(pytest.param(size, box, id=size) for size, box in WINDOWS.items()),
    pytest.param("05", (768, 1024), id="05-tablet"),
]
PHONE = "+687751123"
EPIN = "1234"
PUBLISHER = "Éditions du Grand Lagon"  # longer than the other tests' merchant, as real names are

# What scrolls sideways: the document wider than the viewport, or any element whose content is wider
# than its box while it may scroll (a table in an overflow:auto wrapper would hide the first).
SIDEWAYS = """() => {
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) found.push(`document ${root.scrollWidth} > ${window.innerWidth}`);
  for (const el of document.body.querySelectorAll("*")) {
    const overflow = getComputedStyle(el).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && el.scrollWidth > el.clientWidth) {
      found.push(`${el.tagName.toLowerCase()}.${el.className} ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return found;
}"""

# The lines a summary value takes, whole and word by word (split at plain spaces only: a no-break
# space, as in "299,00 €", belongs to the word), from the rectangles of its text.
LINES = """(el) => {
  const node = el.firstChild;
  const text = node ? node.textContent : "";
  const lines = (start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    const tops = [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top));
    return new Set(tops).size;
  };
  const words = [...text.matchAll(/[^ \\t\\n]+/g)].map((m) => [m[0], lines(m.index, m.index + m[0].length)]);
  return {text, lines: text ? lines(0, text.length) : 0, words};
}"""


def no_sideways_scroll(target: Page | Frame, where: str) -> None:
    assert target.evaluate(SIDEWAYS) == [], where


def inside(
    locator: Locator, left: float, right: float, where: str, *, top: float = 0, bottom: float = 0
) -> None:
    """The element, scrolled to as a person scrolls (vertically), lies between `left` and `right`
    (and `top` and `bottom` when given)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, where
    assert left <= box["x"], (where, box)
    assert box["x"] + box["width"] <= right, (where, box)
    if bottom:
        assert top <= box["y"], (where, box)
        assert box["y"] + box["height"] <= bottom, (where, box)


def lines(locator: Locator) -> list[dict[str, Any]]:
    """For each element: its text, the lines it takes, and those each of its words takes."""
    found: list[dict[str, Any]] = locator.evaluate_all(f"(els) => els.map({LINES})")
    return found


def unbroken(locator: Locator, where: str) -> None:
    """No word of these elements' text is split across two lines (a date, an amount, a card number)."""
    values = lines(locator)
    assert values, (where, locator)
    for value in values:
        assert all(count == 1 for _, count in value["words"]), (where, value)


def screenshot(page: Page, where: str) -> None:
    """With GUICHET_SCREENSHOT_DIR set, a picture of each size checked, to look at."""
    if os.environ.get("GUICHET_SCREENSHOT_DIR"):
        name = re.sub(r"[^0-9a-z]+", "-", where.lower()).strip("-")
        page.screenshot(
            path=str(Path(os.environ["GUICHET_SCREENSHOT_DIR"]) / f"screens-{name}.png"), full_page=True
        )


def fits_phones(
    page: Page, name: str, *main: Locator, frame: str = "", whole: tuple[Locator, ...] = ()
) -> None:
    """At each phone size: no sideways scroll (in the page, and in the iframe `frame` if given), each
    of `main` within the viewport's width, the page never scrolled sideways to reach it, and no word
    of `whole` broken across lines."""
    page.wait_for_load_state()  # the stylesheets too
    for width, height in PHONES:
        page.set_viewport_size({"width": width, "height": height})
        where = f"{name} at {width}x{height}"
        screenshot(page, where)
        no_sideways_scroll(page, where)
        if frame:
            framed = page.frame(frame)
            assert framed is not None, where
            framed.wait_for_load_state()
            no_sideways_scroll(framed, f"{where}, in the iframe")
        for locator in main:
            inside(locator, 0, width, f"{where}: {locator}")
        assert page.evaluate("window.scrollX") == 0, where
        for locator in whole:
            unbroken(locator, where)
    page.set_viewport_size({"width": PHONES[0][0], "height": PHONES[0][1]})


def header(page: Page, *more: str) -> list[Locator]:
    """The FR/EN switch and the header's other buttons (Sign out), which must stay reachable."""
    names = ["FR", "EN", *more]
    return [page.get_by_role("button", name=name, exact=True) for name in names]


@pytest.fixture
def phone(page: Page) -> Page:
    """The test's page, phone-sized from the start: the pages are walked as on a phone."""
    page.set_viewport_size({"width": PHONES[0][0], "height": PHONES[0][1]})
    return page


# --- the enrollment portal ------------------------------------------------------------------------


def test_enrollment_portal_fits_phones(phone: Page, outbound: Any, delivery_thread: None, clock: Any) -> None:
    page, words = phone, portal_walk.FR
    holder = make_cardholder(
        email="marie@example.com", phone=PHONE, pans=[make_pan("497062"), make_pan("497072")]
    )
    email = page.get_by_label(words.email_label, exact=True)
    ok = page.get_by_role("button", name="OK", exact=True)
    portal_walk.open_portal(page, words)
    fits_phones(page, "start", email, ok, *header(page))
    portal_walk.submit_email(page, words, "s.bonino@lagoon.nc")
    expect(page.locator("#error")).to_have_text(words.unknown_email)
    fits_phones(page, "start, unknown email", email, ok)
    page.goto("/enrollment/help/")
    fits_phones(page, "help", page.locator("h1"), *header(page))
    page.goto("/enrollment/secure-shopping/")
    fits_phones(page, "secure shopping", page.locator("h1"), *header(page))
    portal_walk.reach_codes_page(page, words, holder)
    sms_field = page.get_by_label(words.sms_label, exact=True)
    resend = page.get_by_role("button", name=words.resend, exact=True)
    fits_phones(page, "codes", sms_field, page.get_by_label(words.email_code_label, exact=True), ok, resend)
    portal_walk.submit_codes(page, words, "00000000", "zzzzz")
    expect(page.locator("#error")).to_have_text(words.codes_failed)
    fits_phones(page, "codes, failed", sms_field, ok)
    portal_walk.submit_codes(page, words, *portal_walk.received_codes(outbound, holder, words, count=1))
    save = page.get_by_role("link", name=words.save_password, exact=True)
    fits_phones(page, "methods", save, *header(page, words.sign_out))
    save.click()
    expect(page.locator("h1")).to_have_text(words.password_title)
    password = page.get_by_label(words.password_label, exact=True)
    fits_phones(page, "password", password, page.get_by_label(words.confirmation_label, exact=True), ok)
    portal_walk.set_epin(page, words, "1234", "1243")
    expect(page.locator("#error")).to_have_text(words.epin_mismatch)
    fits_phones(page, "password, mismatch", password, ok)
    portal_walk.set_epin(page, words, "1234", "1234")
    expect(page.locator(".messages .message")).to_have_text([words.enrolled])
    fits_phones(page, "methods, enrolled", page.locator(".messages .message"), *header(page, words.sign_out))


# --- the subscriber pages ----------------------------------------------------------------------------


@pytest.fixture
def cheap_argon2(settings: Any) -> None:
    """The lowest Argon2id cost the configuration accepts: the pages are tested here, not the cost."""
    subscribers_settings(settings, argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1)


def test_subscriber_pages_fit_phones(
    phone: Page, cheap_argon2: None, outbound: Any, transactional_db: None
) -> None:
    page, words = phone, subscriber_walk.FR
    marie = make_contract(
        number="LG-2",
        mailboxes=[(subscriber_walk.MARIE, subscriber_walk.PASSWORD, True)],
        name="Famille Kafeat-Wamytan de Nouméa",
    )
    make_contract(number="LG-1", mailboxes=[("lagon0001", "Init-0001", False)])
    mailbox = marie.mailboxes.get(login=subscriber_walk.MARIE)
    now = guichet_clock.now()
    for n, (product, at) in enumerate(
        [
            ("PANIER EDITEUR", now),
            ("Abonnement numérique « Chroniques du lagon » 12 mois, édition intégrale", now),
            ("PANIER EDITEUR", now - dt.timedelta(days=40)),
        ]
    ):
        contract_charge(
            contract=marie, mailbox=mailbox, payment_public_id=f"pay_{n}", merchant_name=PUBLISHER,
            product=product, amount=129_990, at=at,
        )  # fmt: skip
    charge_refund(payment_public_id="pay_1", amount=1000)
    # the sign-in, then its single error
    subscriber_walk.open_signin(page, words)
    address = page.get_by_label(words.address_label, exact=True)
    sign_in = page.get_by_role("button", name=words.signin_button, exact=True)
    fits_phones(
        page, "sign-in", address, page.get_by_label(words.password_label, exact=True), sign_in, *header(page)
    )
    subscriber_walk.fill_signin(page, words, subscriber_walk.MARIE, "Wrong-2026")
    expect(page.locator("#error")).to_have_text(words.failed)
    fits_phones(page, "sign-in, failed", address, sign_in)
    # forgot, then the code page
    page.get_by_role("link", name=words.forgot, exact=True).click()
    send = page.get_by_role("button", name=words.send_code, exact=True)
    expect(send).to_be_visible()
    fits_phones(page, "forgot", address, send)
    address.fill(subscriber_walk.MARIE)
    send.click()
    expect(page.locator(".messages .message")).to_have_text([words.code_sent])
    confirm = page.get_by_role("button", name=words.confirm, exact=True)
    fits_phones(page, "reset", page.get_by_label(words.code_label, exact=True), confirm)
    # the personalisation, for the contract's mailbox never personalised
    page.goto("/account/signin/")
    subscriber_walk.fill_signin(page, words, "lagon0001", "Init-0001")
    expect(page.locator("h1")).to_have_text(words.personalise_title)
    fits_phones(page, "personalise", page.get_by_label(words.new_address_label, exact=True), confirm)
    page.get_by_label(words.new_address_label, exact=True).fill("jean@gmail.com")
    confirm.click()
    expect(page.locator(".field-error").first).to_be_visible()
    fits_phones(page, "personalise, errors", page.get_by_label(words.new_address_label, exact=True), confirm)
    # the customer space with its bill, a past bill, the password change
    page.context.clear_cookies()
    subscriber_walk.open_signin(page, words)
    subscriber_walk.fill_signin(page, words, subscriber_walk.MARIE, subscriber_walk.PASSWORD)
    subscriber_walk.expect_account(page, words, subscriber_walk.MARIE)
    expect(page.locator("#current-bill tr.charge")).to_have_count(2)
    block = page.get_by_role("button", name=words.block, exact=True)
    bill_cells = page.locator("tr.charge td:first-child, tr.charge td.amount")
    fits_phones(
        page,
        "customer space",
        page.locator("#current-bill tr.charge .amount").last,
        block,
        *header(page, words.sign_out),
        whole=(bill_cells, page.locator("#account-login")),
    )
    # on a desktop, the bill is the table it was, its column headers shown
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    expect(page.locator("#current-bill th")).to_have_count(4)
    for header_cell in page.locator("#current-bill th").all():
        expect(header_cell).to_be_visible()
    assert page.locator("#current-bill tr.charge").first.evaluate("el => getComputedStyle(el).display") == (
        "table-row"
    )
    dates = lines(page.locator("#current-bill tr.charge td:first-child"))
    assert [value["lines"] for value in dates] == [1, 1], dates
    page.locator(".periods a").first.click()
    expect(page.locator("tr.charge")).to_have_count(1)
    fits_phones(page, "past bill", page.locator("tr.charge .amount"), *header(page, words.sign_out))
    page.goto("/account/password/")
    fits_phones(page, "password change", page.locator("#password-form input[type=password]").first, confirm)


# --- the pay-on-bill checkout ------------------------------------------------------------------------


@pytest.fixture
def merchant_site() -> Iterator[MerchantSite]:
    site = MerchantSite(now=lambda: guichet_clock.now().timestamp())
    site.start()
    yield site
    site.stop()


@pytest.fixture
def operator_shop(merchant_site: MerchantSite, live_server: Any, settings: Any, outbound: Any) -> Shop:
    """The merchant of tests/browser/test_checkout.py, its checkout URLs on the live server."""
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url)
    checkout_settings(settings, return_delay_s=600)  # the end page stays while it is measured
    return open_shop(merchant_site, name=PUBLISHER)


def test_checkout_pages_fit_phones(
    phone: Page, operator_shop: Shop, cheap_argon2: None, outbound: Any, delivery_thread: None
) -> None:
    page, words = phone, checkout_walk.FR
    multi_bal(logins=("marie.kafeat-wamytan@lagon.example",))
    confirm = page.get_by_role("button", name=words.confirm, exact=True)
    cancel = page.get_by_role("button", name=words.cancel, exact=True)
    # step 2, the sign-in (step 3), the end
    payment_id = checkout_walk.open_checkout(page, words, operator_shop)
    fits_phones(page, "confirmation", confirm, cancel, *header(page), whole=(page.locator("#price"),))
    checkout_walk.confirm(page, words)
    checkout_walk.expect_sign_in_page(page)
    fits_phones(
        page, "checkout sign-in", page.locator("#id_login"), page.locator("#signin-form button[type=submit]")
    )
    checkout_walk.sign_in(page, "marie.kafeat-wamytan@lagon.example")
    checkout_walk.expect_end_page(page, words, "marie.kafeat-wamytan@lagon.example", payment_id)
    fits_phones(
        page, "end", page.locator("#payer-email"), page.get_by_role("link", name=words.ok, exact=True)
    )
    # the same payment again, from another browser: already made
    page.context.clear_cookies()
    page.goto(f"/pay/{payment_id}/")
    expect(page.locator("#closed")).to_have_text(words.already_paid)
    fits_phones(page, "already paid", page.locator("#closed"), page.locator("#return-link"))
    # a refusal, the terms, an unknown payment
    checkout_walk.open_checkout(page, words, operator_shop, amount=5001)
    checkout_walk.confirm(page, words)
    expect(page.locator("#refusal")).to_have_text(words.payment_cap)
    fits_phones(page, "refused", page.locator("#refusal"), page.locator("#return-link"))
    page.goto("/pay/terms/")
    fits_phones(page, "terms", page.locator("h1"), *header(page))
    page.goto("/pay/pay_nosuchpayment/")
    fits_phones(page, "unknown", page.locator("#unknown"), *header(page))


# --- the demo shop -----------------------------------------------------------------------------------


@pytest.mark.urls("tests.demo.shop.urls")
def test_demo_shop_fits_phones(
    browser: Any, live_server: Any, settings: Any, tmp_path: Path, outbound: Any, delivery_thread: None
) -> None:
    port = live_server.url.rsplit(":", 1)[1]
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, public_url=f"http://127.0.0.1:{port}", data_dir=tmp_path
    )
    context = browser.new_context(
        base_url=f"http://localhost:{port}", locale="en-US", viewport={"width": 375, "height": 812}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        walk_the_demo_shop(page, outbound)
    finally:
        context.close()


def walk_the_demo_shop(page: Page, outbound: Any) -> None:
    words = shop_walk.FR
    pan = make_pan("497010")
    holder = make_cardholder(email="marie@example.com", phone=PHONE, pans=[pan])
    epin_set(cardholder=holder, epin=EPIN, confirmation=EPIN, ip="")
    shop_walk.open_shop(page, words)
    fits_phones(page, "shop", page.locator("#product-collection-reliee a"), *header(page))
    page.locator("#product-collection-reliee a").click()
    expect(page.locator("h1")).to_have_text(words.basket_title)
    fits_phones(page, "basket", page.locator("#method-card"), page.locator("#method-internetplus"))
    page.locator("#method-card").click()
    pay = page.get_by_role("button", name=words.pay, exact=True)
    card = page.get_by_label(words.card_label, exact=True)
    expect(card).to_be_visible()
    fits_phones(page, "card", card, page.get_by_label(words.expiry_label, exact=True), pay)
    pay.click()
    expect(page.locator(".shop-error").first).to_be_visible()
    fits_phones(page, "card, errors", card, pay)
    card.fill(pan)
    page.get_by_label(words.expiry_label, exact=True).fill("12/29")
    pay.click()
    # the bank's challenge in the shop's iframe (challengeWindowSize 05: the iframe's whole width)
    challenge = page.frame_locator("#challenge")
    password = challenge.get_by_label(words.password, exact=True)
    validate = challenge.get_by_role("button", name=words.validate, exact=True)
    expect(password).to_be_visible()
    fits_phones(page, "challenge in the shop", password, validate, frame="challenge")
    password.fill(EPIN)
    validate.click()
    otp = challenge.get_by_label(words.sms_label, exact=True)
    expect(otp).to_be_visible()
    fits_phones(page, "SMS step in the shop", otp, validate, frame="challenge")
    otp.fill(sms_code(outbound[1].wait_for(PHONE, 1)[-1]["text"]))
    validate.click()
    # the result page, with the RReq the DS received
    expect(page.locator("#outcome h1")).to_have_text(words.accepted, timeout=20_000)
    shop_walk.reload_until(page, "#ds .ds-summary", words.rreq_valid)
    fits_phones(
        page,
        "order",
        page.locator("#authentication-value"),
        page.locator(".shop-button.secondary"),
        whole=(page.locator("#threeds dd.pan").first, page.locator("#trans-status")),
    )
    page.locator("#threeds details").first.locator("summary").click()
    expect(page.locator("#threeds pre").first).to_be_visible()
    fits_phones(page, "order, ARes shown", page.locator("#threeds pre").first)


# --- the challenge ---------------------------------------------------------------------------------


class Requestor:
    """The 3DS requestor's page (on localhost, Guichet on 127.0.0.1): an iframe of the given size into
    which its form posts the CReq when its button is pressed (no script: the page also works with
    JavaScript off), and the notificationURL, which answers a plain page."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/?"):
                    self._answer("", status=404)  # the browser's /favicon.ico
                    return
                query = {k: v[0] for k, v in parse_qs(self.path.partition("?")[2]).items()}
                page = f"""<!DOCTYPE html><html lang="en"><head><title>Shop</title>
<meta name="viewport" content="width=device-width">
<style>body {{ margin: 0; }} iframe {{ display: block; border: 0; }}</style></head><body>
<iframe name="challenge" id="challenge" title="Bank" width="{query["w"]}" height="{query["h"]}"></iframe>
<form method="post" action="{html.escape(query["acsURL"])}" target="challenge">
<input type="hidden" name="creq" value="{html.escape(query["creq"])}">
<button id="start">start</button></form></body></html>"""
                self._answer(page)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._answer(
                    "<!DOCTYPE html><html lang='en'><head><title>Shop</title></head>"
                    "<body><p id='done'>done</p></body></html>"
                )

            def _answer(self, page: str, status: int = 200) -> None:
                body = page.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, acs_url: str, creq: dict[str, str] | str, width: int, height: int) -> str:
        raw = creq if isinstance(creq, str) else json.dumps(creq)
        encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return f"{self.origin}/?" + urlencode({"acsURL": acs_url, "creq": encoded, "w": width, "h": height})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def requestor() -> Iterator[Requestor]:
    server = Requestor()
    yield server
    server.stop()


@pytest.fixture
def acs_url(live_server: Any, settings: Any) -> str:
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url)
    return f"{live_server.url}/3ds/challenge"


def start_challenge(
    page: Page, acs_url: str, requestor: Requestor, ds: DirectoryServer, size: str, width: int,
    height: int, language: str = "fr-FR",
) -> Frame:  # fmt: skip
    """The AReq (as the DS) for a cardholder with the ePin 1234, then the CReq into the iframe."""
    pan = make_pan("497010")
    holder, _ = enrolled_holder(pan, epin=EPIN)
    holder.phone = PHONE
    holder.save(update_fields=["phone"])
    areq = areq_220(
        acctNumber=pan, threeDSServerTransID=str(uuid.uuid4()), dsTransID=str(uuid.uuid4()),
        dsURL=ds.url, notificationURL=f"{requestor.origin}/notify", browserLanguage=language,
        merchantName="MyTestMerchantACS3", purchaseAmount="29900", purchaseCurrency="978",
        purchaseExponent="2",
    )  # fmt: skip
    request = urllib.request.Request(
        acs_url.replace("/challenge", "/areq"),
        data=json.dumps(areq).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        ares = json.loads(response.read())
    assert ares["transStatus"] == "C", ares
    creq = {
        "threeDSServerTransID": areq["threeDSServerTransID"], "acsTransID": ares["acsTransID"],
        "challengeWindowSize": size, "messageType": "CReq", "messageVersion": areq["messageVersion"],
    }  # fmt: skip
    return open_in_iframe(page, requestor.url(acs_url, creq, width, height))


def open_in_iframe(page: Page, url: str, shown: str = ".acs-frame") -> Frame:
    page.goto(url)
    page.locator("#start").click()
    page.frame_locator("#challenge").locator(shown).wait_for()
    frame = page.frame("challenge")
    assert frame is not None
    return frame


# The summary values whose text reaches out of the summary's box (over the form beside it).
OUTSIDE = """(summary) => {
  const box = summary.getBoundingClientRect();
  return [...summary.querySelectorAll("dd")].filter((dd) => {
    const range = document.createRange();
    range.selectNodeContents(dd);
    const text = range.getBoundingClientRect();
    return text.left < box.left || text.right > box.right;
  }).map((dd) => dd.textContent);
}"""


def summary_values(frame: Frame) -> list[dict[str, Any]]:
    values = lines(frame.locator(".acs-summary dd"))
    assert frame.locator(".acs-summary").evaluate(OUTSIDE) == [], values
    return values


def check_window(
    page: Page, frame: Frame, size: str, width: int, height: int, field: str, validate: str
) -> None:
    """The code field and Valider inside the iframe, nothing sideways, the summary above the form where
    the window is narrow, every summary value on one line and inside the summary."""
    where = f"window {size} ({width}x{height}), {field}"
    iframe = page.locator("#challenge").bounding_box()
    assert iframe is not None
    assert (round(iframe["width"]), round(iframe["height"])) == (width, height), where
    screenshot(page, where)
    no_sideways_scroll(frame, where)
    ui = page.frame_locator("#challenge")
    for locator in (ui.locator(f"input[name={field}]"), ui.get_by_role("button", name=validate, exact=True)):
        inside(locator, iframe["x"], iframe["x"] + width, where, top=iframe["y"], bottom=iframe["y"] + height)
    summary, form = ui.locator(".acs-summary").bounding_box(), ui.locator(".acs-form").bounding_box()
    assert summary is not None
    assert form is not None
    if size in NARROW:
        assert summary["y"] + summary["height"] <= form["y"], (where, summary, form)
    values = summary_values(frame)
    assert [value["lines"] for value in values] == [1] * 5, (where, values)


@pytest.mark.parametrize(
    ("language", "title", "validate"),
    [("fr-FR", "Résumé de la transaction", "Valider"), ("en-US", "Transaction summary", "Validate")],
    ids=["fr", "en"],
)
@pytest.mark.parametrize(("size", "box"), CHALLENGES)
def test_the_challenge_in_each_window_size(
    page: Page, acs_url: str, requestor: Requestor, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, size: str, box: tuple[int, int], language: str, title: str,
    validate: str,
) -> None:  # fmt: skip
    # 01 to 04 in a desktop page; 05 is the page itself.
    viewport = box if size == "05" else DESKTOP
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    frame = start_challenge(page, acs_url, requestor, ds, size, *box, language)
    ui = page.frame_locator("#challenge")
    expect(ui.locator("h2#summary-title")).to_have_text(title)
    check_window(page, frame, size, *box, "epin", validate)
    ui.locator("input[name=epin]").fill(EPIN)
    ui.get_by_role("button", name=validate, exact=True).click()
    expect(ui.locator("input[name=otp]")).to_be_visible()
    check_window(page, frame, size, *box, "otp", validate)


def test_challenge_pages_fit_phones(
    browser: Any, acs_url: str, requestor: Requestor, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any,
) -> None:  # fmt: skip
    """Full page (05) on a phone, every screen: both steps, their errors, the progress, the outcomes,
    an Erro and a stale form. JavaScript is off so that no page posts itself on before it is measured."""
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": PHONES[0][0], "height": PHONES[0][1]}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        walk_the_challenge(page, acs_url, requestor, ds, outbound)
    finally:
        context.close()


def walk_the_challenge(
    page: Page, acs_url: str, requestor: Requestor, ds: DirectoryServer, outbound: Any
) -> None:
    _, sms = outbound
    ui = page.frame_locator("#challenge")
    validate = ui.get_by_role("button", name="Valider", exact=True)
    epin, otp = ui.locator("input[name=epin]"), ui.locator("input[name=otp]")
    cancel = ui.get_by_role("button", name="Annuler votre paiement", exact=True)
    width, height = PHONES[0]

    def check(name: str, *main: Locator) -> None:
        # The iframe takes the whole viewport, whatever its size: resized with it.
        for w, h in PHONES:
            page.set_viewport_size({"width": w, "height": h})
            page.locator("#challenge").evaluate("(el, [w, h]) => { el.width = w; el.height = h; }", [w, h])
            frame = page.frame("challenge")
            assert frame is not None
            frame.wait_for_load_state()
            where = f"challenge {name} at {w}x{h}"
            screenshot(page, where)
            no_sideways_scroll(frame, where)
            for locator in main:
                inside(locator, 0, w, f"{where}: {locator}", top=0, bottom=h)
            summary, form = ui.locator(".acs-summary"), ui.locator(".acs-form")
            if summary.count():
                unbroken(summary.locator("dd"), where)
                assert summary.evaluate(OUTSIDE) == [], where
            if summary.count() and form.count():
                above, below = summary.bounding_box(), form.bounding_box()
                assert above is not None
                assert below is not None
                assert above["y"] + above["height"] <= below["y"], (where, above, below)

    start_challenge(page, acs_url, requestor, ds, "05", width, height)
    check("ePin step", epin, validate, cancel)
    epin.fill("12")
    validate.click()
    expect(ui.locator(".acs-error")).to_be_visible()
    check("ePin format error", epin, validate)
    epin.fill(EPIN)
    validate.click()
    expect(otp).to_be_visible()
    check("SMS step", otp, validate, cancel)
    right = sms_code(sms.wait_for(PHONE, 1)[-1]["text"])
    otp.fill(f"{(int(right) + 1) % 10**8:08d}")
    validate.click()
    expect(ui.locator(".acs-error")).to_be_visible()
    check("wrong code", epin, validate)
    epin.fill(EPIN)
    validate.click()
    otp.fill(sms_code(sms.wait_for(PHONE, 2)[-1]["text"]))
    validate.click()
    expect(ui.locator(".acs-progress").first).to_be_visible()
    check("in progress", ui.get_by_role("button", name="Continuer", exact=True))
    ui.get_by_role("button", name="Continuer", exact=True).click()
    back = ui.get_by_role("button", name="Retour à la boutique", exact=True)
    expect(ui.get_by_text("Authentification réussie")).to_be_visible()
    check("success", back)
    # a step form without its transaction's token: refused
    open_in_iframe(page, requestor.url(f"{acs_url}/step", "{}", width, height), ".acs-outcome")
    expect(ui.locator(".acs-failure")).to_be_visible()
    check("stale form", ui.locator(".acs-failure h2"))
    # another payment, cancelled
    start_challenge(page, acs_url, requestor, ds, "05", width, height)
    cancel.click()
    expect(ui.get_by_text("Vous avez annulé votre paiement.")).to_be_visible()
    check("cancelled, waiting for the RRes", ui.get_by_role("button", name="Continuer", exact=True))
    ui.get_by_role("button", name="Continuer", exact=True).click()
    expect(back).to_be_visible()
    check("cancelled", back)
    # a CReq no transaction knows: the Erro shown in the page
    open_in_iframe(
        page, requestor.url(acs_url, {"acsTransID": str(uuid.uuid4()), "messageType": "CReq"}, width, height)
    )
    expect(ui.locator("#erro")).to_be_visible()
    check("Erro", ui.locator("#erro"))


def test_without_javascript_the_continue_button_gives_the_cres_only_after_the_rres(
    browser: Any, acs_url: str, requestor: Requestor, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any,
) -> None:  # fmt: skip
    """No script to ask the status URL: the progress page's button, pressed too early, brings the
    same page back; pressed once the DS has answered, the final page. Nobody is stuck."""
    # given a DS that answers each RReq two seconds after it came in
    ds.delay = 2.0
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        start_challenge(page, acs_url, requestor, ds, "05", 800, 700)
        ui = page.frame_locator("#challenge")
        ui.get_by_role("button", name="Annuler votre paiement", exact=True).click()
        expect(ui.get_by_text("Vous avez annulé votre paiement.")).to_be_visible()
        go_on = ui.get_by_role("button", name="Continuer", exact=True)
        token = ui.locator("input[name=token]")
        first = token.input_value()
        # when the button is pressed before the RRes
        go_on.click()
        # then the progress page comes back (a new form token), without the final CRes
        expect(token).not_to_have_value(first)
        expect(go_on).to_be_visible()
        assert ui.get_by_role("button", name="Retour à la boutique", exact=True).count() == 0
        assert ds.answered_at == []
        # and once the DS has answered, the same button gives the final page
        end = time.monotonic() + 10
        while not AcsTransaction.objects.filter(state=AcsTransaction.State.COMPLETED).exists():
            assert time.monotonic() < end, "no RRes recorded"
            time.sleep(0.05)
        assert len(ds.answered_at) == 1
        go_on.click()
        back = ui.get_by_role("button", name="Retour à la boutique", exact=True)
        expect(back).to_be_visible()
        back.click()
        expect(ui.locator("#done")).to_have_text("done")
    finally:
        context.close()
