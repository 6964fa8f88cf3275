"""The 3DS browser challenge in a real Chromium, inside an iframe of a merchant page from another origin.

The test plays the DS and the merchant: it posts the AReq to /3ds/areq over HTTP, serves the merchant's
page (on `localhost`, while Guichet answers on `127.0.0.1`) whose form posts the CReq into the iframe,
receives the final CRes on its notificationURL, the RReq on its DS server, and reads the SMS from the
real SMS receiver.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.issuer.acs.challenge.support import DirectoryServer
from tests.issuer.acs.support import areq_220, enrolled_holder
from tests.support.factories import make_pan
from tests.support.fixtures import sms_code

pytestmark = pytest.mark.browser

SESSION_DATA = "bWVyY2hhbnQtc2Vzc2lvbi0xMjM0NQ"  # returned byte for byte with the final CRes


@dataclasses.dataclass(frozen=True)
class Wording:
    browser_language: str
    step1: str
    step2: str
    validate: str
    cancel: str
    information: str
    wrong: str
    two_left: str
    used_up: str
    success: str
    in_progress: str
    back: str
    cancelled: str
    timeout: str
    sms_says: str
    amount: str


FR = Wording(
    browser_language="fr-FR",
    step1="Étape 1 sur 2\u00a0: Authentification par Mot de passe",
    step2="Étape 2 sur 2\u00a0: Authentification par SMS",
    validate="Valider",
    cancel="Annuler votre paiement",
    information="Informations",
    wrong="L'un des 2 codes saisis n'est pas correct.",
    two_left="Il vous reste 2 essais.",
    used_up="Vous avez épuisé vos essais.",
    success="Authentification Réussie!",
    in_progress="Authentification en cours",
    back="Retour à la boutique",
    cancelled="Vous avez annulé votre paiement.",
    timeout="Le temps accordé pour l'authentification est écoulé.",
    sms_says="pour payer 299,00\u00a0€ chez MyTestMerchantACS3",
    amount="299,00\u00a0€",
)
EN = Wording(
    browser_language="en-US",
    step1="Step 1 of 2: Authentication by Password",
    step2="Step 2 of 2: Authentication by SMS",
    validate="Validate",
    cancel="Cancel your payment",
    information="Information",
    wrong="One of the two codes you entered is not correct.",
    two_left="You have 2 attempts left.",
    used_up="You have used up your attempts.",
    success="Authentication successful!",
    in_progress="Authentication in progress",
    back="Back to the shop",
    cancelled="You cancelled your payment.",
    timeout="The time allowed for authentication is over.",
    sms_says="to pay €299.00 to MyTestMerchantACS3",
    amount="€299.00",
)


@pytest.fixture(params=[FR, EN], ids=["fr", "en"])
def words(request: pytest.FixtureRequest) -> Wording:
    wording: Wording = request.param
    return wording


class Merchant:
    """The merchant's site, on another origin: the checkout page with the challenge iframe, and the
    notificationURL that receives the final CRes."""

    def __init__(self) -> None:
        self.notified: list[dict[str, str]] = []
        self.notified_at: list[float] = []  # time.time() of each final CRes received
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(self.path.partition("?")[2])
                acs_url, creq = query["acsURL"][0], query["creq"][0]
                width, height = query.get("size", ["390x400"])[0].split("x")
                page = f"""<!DOCTYPE html><html lang="en"><head><title>Shop</title></head><body>
<h1>MyTestMerchantACS3 checkout</h1>
<iframe name="challenge" id="challenge" title="Bank" width="{width}" height="{height}"></iframe>
<form id="creq" method="post" action="{html.escape(acs_url)}" target="challenge">
<input type="hidden" name="creq" value="{html.escape(creq)}">
<input type="hidden" name="threeDSSessionData" value="{SESSION_DATA}">
</form>
<script>document.getElementById("creq").submit();</script>
</body></html>"""
                self._answer(page)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fields = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                merchant.notified.append(fields)
                merchant.notified_at.append(time.time())
                self._answer(
                    "<!DOCTYPE html><html lang='en'><head><title>Shop</title></head>"
                    "<body><p id='done'>Merchant got the result</p></body></html>"
                )

            def _answer(self, page: str) -> None:
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Another origin than Guichet's 127.0.0.1: a cross-site iframe, as in a real checkout.
        self.origin = f"http://localhost:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def checkout_url(self, acs_url: str, creq: dict[str, str], size: str) -> str:
        encoded = base64.urlsafe_b64encode(json.dumps(creq).encode()).decode().rstrip("=")
        return f"{self.origin}/checkout?" + urlencode({"acsURL": acs_url, "creq": encoded, "size": size})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def merchant() -> Iterator[Merchant]:
    server = Merchant()
    yield server
    server.stop()


@pytest.fixture
def guichet(live_server: Any, settings: Any) -> str:
    """Guichet's public URL is the live server's, so that the ARes's acsURL points at it."""
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url)
    return str(live_server.url)


@dataclasses.dataclass
class Payment:
    areq: dict[str, Any]
    ares: dict[str, Any]

    def creq(self, size: str = "02") -> dict[str, str]:
        return {
            "threeDSServerTransID": self.areq["threeDSServerTransID"],
            "acsTransID": self.ares["acsTransID"],
            "challengeWindowSize": size,
            "messageType": "CReq",
            "messageVersion": self.areq["messageVersion"],
        }


def post_areq(guichet: str, ds: DirectoryServer, merchant: Merchant, words: Wording) -> Payment:
    """As the DS: the AReq over HTTP to /3ds/areq, for a cardholder with the ePin 1234."""
    pan = make_pan("497010")
    holder, _ = enrolled_holder(pan, epin="1234")
    holder.phone = "+687751123"
    holder.save(update_fields=["phone"])
    areq = areq_220(
        acctNumber=pan,
        threeDSServerTransID=str(uuid.uuid4()),
        dsTransID=str(uuid.uuid4()),
        dsURL=ds.url,
        notificationURL=f"{merchant.origin}/notify",
        browserLanguage=words.browser_language,
        merchantName="MyTestMerchantACS3",
        purchaseAmount="29900",
        purchaseCurrency="978",
        purchaseExponent="2",
    )
    request = urllib.request.Request(
        f"{guichet}/3ds/areq", data=json.dumps(areq).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        ares = json.loads(response.read())
    assert ares["transStatus"] == "C", ares
    assert ares["acsURL"] == f"{guichet}/3ds/challenge"
    return Payment(areq=areq, ares=ares)


def open_checkout(page: Page, merchant: Merchant, payment: Payment, size: str = "02") -> FrameLocator:
    dims = {"01": "250x400", "02": "390x400", "03": "500x600", "04": "600x400", "05": "800x700"}[size]
    page.goto(merchant.checkout_url(payment.ares["acsURL"], payment.creq(size), dims))
    return page.frame_locator("#challenge")


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


def decoded(value: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return result


def next_sms(sms: Any, count: int, words: Wording) -> str:
    wait_for(lambda: len(sms.state.received) >= count)
    text = str(sms.state.received[count - 1]["text"])
    assert words.sms_says in text
    return sms_code(text)


def enter(frame: FrameLocator, label: str, value: str, words: Wording) -> None:
    frame.locator(f"input[name={label}]").fill(value)
    frame.get_by_role("button", name=words.validate, exact=True).click()


def test_success_in_the_merchant_iframe(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    _, sms = outbound
    payment = post_areq(guichet, ds, merchant, words)
    frame = open_checkout(page, merchant, payment, size="02")
    expect(frame.locator("h1")).to_have_text(words.step1)
    expect(frame.locator(".acs-summary .merchant")).to_have_text("MyTestMerchantACS3")
    expect(frame.locator(".acs-summary .amount")).to_have_text(words.amount)
    expect(frame.locator(".acs-summary .phone")).to_have_text("+68xxxxx23")
    expect(frame.get_by_role("button", name=words.cancel)).to_be_visible()
    expect(frame.get_by_text(words.information, exact=True)).to_be_visible()
    # Sized to challengeWindowSize 02: 390 wide, at least 400 high (what is taller scrolls the window).
    box = frame.locator(".acs-frame").bounding_box()
    assert box is not None
    assert round(box["width"]) == 390
    assert round(box["height"]) >= 400
    enter(frame, "epin", "1234", words)
    expect(frame.locator("h1")).to_have_text(words.step2)
    enter(frame, "otp", next_sms(sms, 1, words), words)
    expect(frame.get_by_text(words.success)).to_be_visible()
    expect(frame.get_by_role("button", name=words.back)).to_be_visible()
    # The final CRes reaches the merchant's notificationURL, posted from within the iframe.
    expect(frame.locator("#done")).to_have_text("Merchant got the result", timeout=10_000)
    [notified] = merchant.notified
    assert notified["threeDSSessionData"] == SESSION_DATA
    cres = decoded(notified["cres"])
    assert (cres["messageType"], cres["transStatus"], cres["acsTransID"]) == (
        "CRes",
        "Y",
        payment.ares["acsTransID"],
    )
    wait_for(lambda: len(ds.received) == 1)
    rreq = ds.received[0]
    assert (rreq["transStatus"], rreq["eci"], rreq["interactionCounter"]) == ("Y", "05", "01")
    assert len(sms.state.received) == 1
    assert page.context.cookies() == []  # nothing depends on a cookie in the iframe


def test_wrong_epin_then_wrong_sms_code_then_attempts_used_up(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    _, sms = outbound
    payment = post_areq(guichet, ds, merchant, words)
    frame = open_checkout(page, merchant, payment, size="03")
    # Attempt 1: a wrong ePin, the right SMS code.
    enter(frame, "epin", "9999", words)
    enter(frame, "otp", next_sms(sms, 1, words), words)
    expect(frame.locator(".acs-error")).to_contain_text(words.wrong)
    expect(frame.locator(".acs-error")).to_contain_text(words.two_left)
    expect(frame.locator("h1")).to_have_text(words.step1)
    # Attempt 2: the right ePin, a wrong SMS code: the same error, which never says which.
    enter(frame, "epin", "1234", words)
    right = next_sms(sms, 2, words)
    enter(frame, "otp", f"{(int(right) + 1) % 10**8:08d}", words)
    expect(frame.locator(".acs-error")).to_contain_text(words.wrong)
    # Attempt 3: wrong again; the payment is cancelled.
    enter(frame, "epin", "0000", words)
    enter(frame, "otp", next_sms(sms, 3, words), words)
    expect(frame.get_by_text(words.used_up)).to_be_visible()
    frame.get_by_role("button", name=words.back).click()
    expect(frame.locator("#done")).to_be_visible()
    [notified] = merchant.notified
    assert decoded(notified["cres"])["transStatus"] == "N"
    wait_for(lambda: len(ds.received) == 1)
    rreq = ds.received[0]
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["interactionCounter"]) == ("N", "19", "03")


def test_cancel(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    payment = post_areq(guichet, ds, merchant, words)
    frame = open_checkout(page, merchant, payment, size="05")
    frame.get_by_role("button", name=words.cancel).click()
    expect(frame.get_by_text(words.cancelled)).to_be_visible()
    expect(frame.locator("h1")).to_have_text(words.step1)  # cancelled at step 1, headed as step 1
    expect(frame.locator("#done")).to_be_visible(timeout=10_000)  # auto-posted
    [notified] = merchant.notified
    assert decoded(notified["cres"])["transStatus"] == "N"
    assert notified["threeDSSessionData"] == SESSION_DATA
    wait_for(lambda: len(ds.received) == 1)
    rreq = ds.received[0]
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "01", "01")
    assert outbound[1].state.received == []


def test_challenge_timeout(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    payment = post_areq(guichet, ds, merchant, words)
    frame = open_checkout(page, merchant, payment, size="01")
    expect(frame.locator("h1")).to_have_text(words.step1)
    clock.advance(seconds=601)
    # Detected without the browser: the RReq goes out.
    wait_for(lambda: len(ds.received) == 1)
    rreq = ds.received[0]
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "14", "04")
    # The cardholder comes back: the payment is over, the final CRes (N) goes to the merchant.
    enter(frame, "epin", "1234", words)
    expect(frame.get_by_text(words.timeout)).to_be_visible()
    frame.get_by_role("button", name=words.back).click()
    expect(frame.locator("#done")).to_be_visible()
    assert decoded(merchant.notified[0]["cres"])["transStatus"] == "N"
    assert len(ds.received) == 1


def test_inactivity_ends_the_challenge(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    """The SMS page left more than 5 minutes (PSD2 RTS art. 4(3)(d)): over, whatever comes next."""
    _, sms = outbound
    payment = post_areq(guichet, ds, merchant, words)
    frame = open_checkout(page, merchant, payment)
    enter(frame, "epin", "1234", words)
    expect(frame.locator("h1")).to_have_text(words.step2)
    code = next_sms(sms, 1, words)
    clock.advance(seconds=301)
    # Detected without the browser: the RReq goes out.
    wait_for(lambda: len(ds.received) == 1)
    rreq = ds.received[0]
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "14", "04")
    assert rreq["interactionCounter"] == "00"
    # The right code, too late: the final CRes (N) goes to the merchant; no new SMS.
    enter(frame, "otp", code, words)
    expect(frame.get_by_text(words.timeout)).to_be_visible()
    expect(frame.locator("#done")).to_be_visible(timeout=10_000)  # auto-posted
    [notified] = merchant.notified
    assert decoded(notified["cres"])["transStatus"] == "N"
    assert notified["threeDSSessionData"] == SESSION_DATA
    assert (len(ds.received), len(sms.state.received)) == (1, 1)


def test_creq_timeout(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    payment = post_areq(guichet, ds, merchant, words)
    clock.advance(seconds=31)
    wait_for(lambda: len(ds.received) == 1)
    rreq = ds.received[0]
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "14", "05")
    # The CReq comes too late: an Erro 402 is posted back to the notificationURL.
    frame = open_checkout(page, merchant, payment)
    expect(frame.locator("#done")).to_be_visible(timeout=10_000)
    [notified] = merchant.notified
    erro = decoded(notified["cres"])
    assert (erro["messageType"], erro["errorCode"], erro["errorMessageType"]) == ("Erro", "402", "CReq")
    assert notified["threeDSSessionData"] == SESSION_DATA


def test_the_final_cres_waits_for_a_ds_that_answers_after_a_second(
    page: Page, guichet: str, merchant: Merchant, ds: DirectoryServer, outbound: Any,
    delivery_thread: None, clock: Any, words: Wording,
) -> None:  # fmt: skip
    """RReq first, then the final CRes: the progress page asks its status URL until the RRes is in."""
    # given a DS that answers each RReq a second after it came in
    ds.delay = 1.0
    _, sms = outbound
    polls: list[float] = []
    payment = post_areq(guichet, ds, merchant, words)
    status_path = f"/3ds/challenge/{payment.ares['acsTransID']}/status"
    page.on("request", lambda request: polls.append(time.time()) if status_path in request.url else None)
    frame = open_checkout(page, merchant, payment)
    enter(frame, "epin", "1234", words)
    expect(frame.locator("h1")).to_have_text(words.step2)
    # when the right code ends the challenge
    enter(frame, "otp", next_sms(sms, 1, words), words)
    # then the progress page waits, the merchant has nothing yet
    expect(frame.get_by_text(words.in_progress, exact=True)).to_be_visible()
    assert merchant.notified == []
    # and once the DS has answered, the final page, and the CRes reaches the merchant
    expect(frame.get_by_text(words.success)).to_be_visible(timeout=8_000)
    expect(frame.locator("#done")).to_have_text("Merchant got the result", timeout=10_000)
    [notified] = merchant.notified
    assert notified["threeDSSessionData"] == SESSION_DATA
    assert decoded(notified["cres"])["transStatus"] == "Y"
    [answered] = ds.answered_at
    [received] = merchant.notified_at
    assert answered < received
    # asked several times (every 300 ms through the DS's second), never after the CRes was given
    assert len(polls) >= 2
    assert max(polls) < received
    [rreq] = ds.received
    assert rreq["transStatus"] == "Y"
