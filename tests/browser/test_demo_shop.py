"""The demo as a person walks it, in a real Chromium, in French and English.

The shop is opened at http://localhost:<port> while GUICHET_PUBLIC_URL is http://127.0.0.1:<port>:
the ACS's challenge and Guichet's checkout come from another origin than the shop, as in real life.
The SMS code is read from the real HTTP SMS receiver; the RReq goes through the outbox to the DS
simulator over HTTP.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import Page, expect

from guichet.demo.shop.models import DsResult, Order
from guichet.issuer.acs.models import AcsTransaction, DeviceObservation
from guichet.issuer.cards.services import epin_set
from tests.support.factories import make_cardholder, make_pan
from tests.support.fixtures import sms_code

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.demo.shop.urls")]

PHONE = "+687751123"
EPIN = "6789"


def missing(*paths: str) -> str:
    """Why the walk cannot run yet: the first of Guichet's endpoints it needs that is not there."""
    for path in paths:
        try:
            resolve(path, urlconf="guichet.server.urls")
        except Resolver404:
            return f"{path} is not served yet (the part of Guichet behind it is still missing)"
    return ""


@dataclasses.dataclass(frozen=True)
class Words:
    lang: str
    basket_title: str
    card_label: str
    expiry_label: str
    pay: str
    password: str
    validate: str
    sms_label: str
    success: str
    cancel_payment: str
    acs_cancelled: str
    accepted: str
    y_meaning: str
    rreq_valid: str
    cancelled: str
    verified: str
    refused: str
    no_epin_info: str
    bank_says: str


FR = Words(
    lang="fr",
    basket_title="Votre panier",
    card_label="Numéro de carte",
    expiry_label="Date d'expiration (MM/AA)",
    pay="Payer 299,00\u00a0€",
    password="Mot de passe",
    validate="Valider",
    sms_label="Code reçu par SMS",
    success="Authentification Réussie!",
    cancel_payment="Annuler votre paiement",
    acs_cancelled="Votre paiement est annulé",
    accepted="Paiement accepté",
    y_meaning="Y — authentification réussie",
    rreq_valid="valide\u00a0: réponse RRes (resultsStatus 01).",
    cancelled="Paiement annulé",
    verified="signature vérifiée",
    refused="Paiement refusé",
    no_epin_info="Pas de mot de passe fixe\u00a0? Veuillez vous enrôler au préalable",
    bank_says="Message de votre banque\u00a0:",
)
EN = Words(
    lang="en",
    basket_title="Your basket",
    card_label="Card number",
    expiry_label="Expiry date (MM/YY)",
    pay="Pay €299.00",
    password="Password",
    validate="Validate",
    sms_label="Code received by SMS",
    success="Authentication successful!",
    cancel_payment="Cancel your payment",
    acs_cancelled="Your payment is cancelled",
    accepted="Payment accepted",
    y_meaning="Y — authentication successful",
    rreq_valid="valid: answered RRes (resultsStatus 01).",
    cancelled="Payment cancelled",
    verified="signature verified",
    refused="Payment refused",
    no_epin_info="No static password? Please enrol first",
    bank_says="Message from your bank:",
)
LANGUAGES = [pytest.param(FR, id="fr"), pytest.param(EN, id="en")]


@pytest.fixture
def shop(browser: Any, live_server: Any, settings: Any, tmp_path: Any) -> Any:
    """A page on the shop's origin (localhost); Guichet's own URLs use 127.0.0.1."""
    port = live_server.url.rsplit(":", 1)[1]
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, public_url=f"http://127.0.0.1:{port}", data_dir=tmp_path
    )
    context = browser.new_context(base_url=f"http://localhost:{port}", locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def open_shop(page: Page, words: Words) -> None:
    page.goto("/demo/shop/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    if words.lang == "en":
        page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", words.lang)


def reload_until(page: Page, selector: str, text: str, timeout: float = 15) -> None:
    """For a page that shows what arrived in the background (notifications): reload until it shows."""
    deadline = time.monotonic() + timeout
    while text not in (page.locator(selector).text_content() or "") and time.monotonic() < deadline:
        time.sleep(0.2)
        page.reload()
    expect(page.locator(selector)).to_contain_text(text)


def pay_by_card(page: Page, words: Words, pan: str) -> Order:
    """From the shop's home to the bank's challenge in the iframe, for the 299,00 EUR collection."""
    open_shop(page, words)
    page.locator("#product-collection-reliee a").click()
    expect(page.locator("h1")).to_have_text(words.basket_title)
    page.locator("#method-card").click()
    # The card page runs the 3DS Method in its hidden iframe; a 3DS Server waits for its answer
    # (10 s at most) before the AReq: so does the customer here.
    deadline = time.monotonic() + 10
    while Order.objects.filter(method_notified_at=None).exists():
        assert time.monotonic() < deadline, "the 3DS Method did not answer within 10 s"
        time.sleep(0.05)
    page.get_by_label(words.card_label, exact=True).fill(pan)
    page.get_by_label(words.expiry_label, exact=True).fill("12/29")
    page.get_by_role("button", name=words.pay, exact=True).click()
    order = Order.objects.get()
    expect(page).to_have_url(f"{page.url.split('/demo/')[0]}/demo/shop/order/{order.id}/")
    return order


@pytest.mark.parametrize("words", LANGUAGES)
def test_a_card_payment_of_299_eur_with_the_challenge_in_the_shops_iframe(
    shop: Page, outbound, delivery_thread, words
):
    reason = missing("/3ds/areq", "/3ds/challenge")
    if reason:
        pytest.skip(reason)
    page = shop
    # given a demo cardholder with an ePin
    pan = make_pan("497010")
    holder = make_cardholder(email="marie@example.com", phone=PHONE, pans=[pan])
    epin_set(cardholder=holder, epin=EPIN, confirmation=EPIN, ip="")
    # when they choose the 299,00 EUR collection and pay by card
    pay_by_card(page, words, pan)
    # then the bank's challenge shows inside the shop's iframe, from Guichet's origin
    assert page.url.startswith("http://localhost:")
    challenge = page.frame_locator("#challenge")
    challenge.get_by_label(words.password, exact=True).fill(EPIN)
    frame = page.frame("challenge")
    assert frame is not None
    assert frame.url.startswith("http://127.0.0.1:")
    challenge.get_by_role("button", name=words.validate, exact=True).click()
    # when they type the SMS code the phone received
    texts = outbound[1].wait_for(PHONE, 1)
    challenge.get_by_label(words.sms_label, exact=True).fill(sms_code(texts[-1]["text"]))
    challenge.get_by_role("button", name=words.validate, exact=True).click()
    # then the bank says so, and the whole window goes to the shop's result page
    expect(challenge.get_by_text(words.success)).to_be_visible()
    expect(page.locator("#outcome h1")).to_have_text(words.accepted, timeout=20_000)
    expect(page.locator("#trans-status")).to_have_text(words.y_meaning)
    expect(page.locator("#eci")).to_have_text("05")
    # and the result page shows the RReq the DS received and accepted
    expect(page.locator("#ds .ds-summary")).to_contain_text(words.rreq_valid)
    expect(page.locator("#ds .rreq-trans-status")).to_have_text("Y")
    result = DsResult.objects.get()
    rreq = result.rreq or {}
    assert result.accepted
    assert (rreq["transStatus"], rreq["eci"], rreq["acsTransID"]) == (
        "Y",
        "05",
        Order.objects.get().acs_trans_id,
    )
    expect(page.locator("#authentication-value")).to_have_text(rreq["authenticationValue"])
    assert Order.objects.get().status == Order.Status.ACCEPTED
    assert len(outbound[1].to(PHONE)) == 1
    # and the AReq said the 3DS Method completed: the ACS joined the device it observed
    tx = AcsTransaction.objects.get()
    assert (
        tx.device_hash
        == DeviceObservation.objects.get(method_trans_id=tx.three_ds_server_trans_id).device_hash
    )
    assert len(tx.device_hash) == 64


@pytest.mark.parametrize("words", LANGUAGES)
def test_cancelling_in_the_challenge_cancels_the_payment_and_the_ds_gets_the_cancel(
    shop: Page, outbound, delivery_thread, words
):
    reason = missing("/3ds/areq", "/3ds/challenge")
    if reason:
        pytest.skip(reason)
    page = shop
    pan = make_pan("497010")
    holder = make_cardholder(email="marie@example.com", phone=PHONE, pans=[pan])
    epin_set(cardholder=holder, epin=EPIN, confirmation=EPIN, ip="")
    pay_by_card(page, words, pan)
    # when the cardholder cancels in the bank's page
    challenge = page.frame_locator("#challenge")
    challenge.get_by_role("button", name=words.cancel_payment).click()
    expect(challenge.get_by_text(words.acs_cancelled)).to_be_visible()
    # then the shop shows the cancel, and the DS received an RReq saying the cardholder cancelled
    expect(page.locator("#outcome h1")).to_have_text(words.cancelled, timeout=20_000)
    expect(page.locator("#ds .ds-summary")).to_contain_text(words.rreq_valid)
    rreq = DsResult.objects.get().rreq or {}
    assert (rreq["transStatus"], rreq["challengeCancel"]) == ("N", "01")
    order = Order.objects.get()
    assert (order.status, order.trans_status) == (Order.Status.CANCELLED, "N")
    assert outbound[1].to(PHONE) == []


@pytest.mark.parametrize("words", LANGUAGES)
def test_a_card_without_an_epin_is_refused_with_the_banks_text_for_the_shopper(shop: Page, outbound, words):
    reason = missing("/3ds/areq")
    if reason:
        pytest.skip(reason)
    page = shop
    # given a cardholder who never set an ePin (like the demo's Paul)
    pan = make_pan("497010")
    make_cardholder(email="paul@example.com", phone="+687762245", pans=[pan])
    # when they pay by card
    order = pay_by_card(page, words, pan)
    # then the payment is refused without a challenge, and the shop shows the ARes's cardholderInfo
    expect(page.locator("#outcome h1")).to_have_text(words.refused)
    info = (Order.objects.get(pk=order.pk).ares or {})["cardholderInfo"]
    assert info.startswith(words.no_epin_info)
    expect(page.locator("#cardholder-info")).to_have_text(f"{words.bank_says} {info}")
    assert outbound[1].to("+687762245") == []


@pytest.mark.parametrize("words", LANGUAGES)
def test_internet_plus_goes_to_guichets_checkout_and_comes_back_signed(shop: Page, delivery_thread, words):
    reason = missing("/api/v1/payments", "/pay/pay_x/", "/pay/pay_x/cancel/")
    if reason:
        pytest.skip(reason)
    page = shop
    # when the customer chooses internet+ for the 3,90 EUR basket
    open_shop(page, words)
    page.locator("#product-panier-editeur a").click()
    page.locator("#method-internetplus").click()
    # then Guichet's checkout (another origin) shows the shop's product and price
    order = Order.objects.get()
    expect(page).to_have_url(order.checkout_url)
    assert order.checkout_url.startswith("http://127.0.0.1:")
    expect(page.locator("#product")).to_have_text(
        "PANIER EDITEUR" if words.lang == "fr" else "PUBLISHER BASKET"
    )
    # when they cancel the order (the checkout speaks its own default language: French)
    page.locator("#cancel-form button").click()
    # then they are back at the shop, whose order shows the verified signed return
    expect(page.locator("#outcome h1")).to_have_text(words.cancelled, timeout=20_000)
    assert page.url.startswith("http://localhost:")
    expect(page.locator("#return-verified")).to_have_text(words.verified)
    # and the signed notification arrives through the outbox and is shown as verified
    reload_until(page, "#notifications", "payment.cancelled")
    expect(page.locator("#notifications li")).to_have_count(1)
    expect(page.locator("#notifications li")).to_contain_text(words.verified)
