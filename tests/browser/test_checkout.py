"""The pay-on-bill checkout (sign-in, confirmation and the end) in a real Chromium, French and English.

Payments are created through the real merchant API; the merchant is a real HTTP server started by the
test that receives the notifications and the customer's return and checks every signature; the
summary email is read from the real SMTP server of the test.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from guichet.core import clock as guichet_clock
from guichet.payonbill.subscribers.billing import contract_charge
from guichet.payonbill.subscribers.models import BillCharge, Contract
from tests.payonbill.checkout.merchant import MerchantSite
from tests.payonbill.checkout.support import (
    PASSWORD,
    Shop,
    charges,
    checkout_settings,
    import_subscribers,
    mailbox,
    mono_bal,
    multi_bal,
    open_shop,
    payment,
    subscribers_settings,
)
from tests.support.fixtures import email_code

pytestmark = pytest.mark.browser

NBSP = "\u00a0"
BROWSER_LINE = "127.0.0.1"  # the live server sees the browser connect from here


@dataclasses.dataclass(frozen=True)
class Words:
    """What the checkout pages say (the English msgids and the French catalogue)."""

    lang: str
    title: str
    labels: list[str]
    published_by: str
    price: str
    added: str
    terms: str
    cancel: str
    confirm: str
    summary_to: str
    ok: str
    redirect_note: str
    refused: str
    nothing_added: str
    payment_cap: str
    monthly_cap: str
    blocked: str
    not_subscriber: str
    return_to: str
    already_paid: str
    expired: str
    summary_subject: str
    summary_price: str


FR = Words(
    lang="fr",
    title="paiement sur facture internet Lagon",
    labels=[f"édité par{NBSP}:", f"produit{NBSP}:", f"prix{NBSP}:"],
    published_by="édité par EDITEUR",
    price=f"3,90{NBSP}€ TTC",
    added="Ce montant sera ajouté à votre facture internet Lagon",
    terms="Les conditions de paiement internet Lagon",
    cancel="Annuler la commande",
    confirm="confirmer votre achat",
    summary_to=f"un mail récapitulatif sera envoyé à l'adresse{NBSP}:",
    ok="ok",
    redirect_note="redirection sur le service dans quelques secondes",
    refused="Paiement refusé",
    nothing_added="Rien n'a été ajouté à votre facture.",
    payment_cap=f"Cet achat dépasse 50,00{NBSP}€, le montant maximal d'un paiement sur facture internet.",
    monthly_cap=(
        f"Avec cet achat, vos paiements sur facture internet de ce mois dépasseraient 300,00{NBSP}€, "
        "la limite mensuelle."
    ),
    blocked=(
        "Le paiement sur facture internet est bloqué sur votre abonnement. "
        "Vous pouvez l'autoriser à nouveau depuis votre espace client."
    ),
    not_subscriber="Le paiement sur facture internet est réservé aux abonnés internet Lagon.",
    return_to="Retour vers EDITEUR",
    already_paid="Ce paiement a déjà été effectué.",
    expired=(
        f"Ce paiement a expiré{NBSP}: il n'a pas été confirmé à temps. "
        "Veuillez recommencer votre achat sur le site du marchand."
    ),
    summary_subject="Lagon - récapitulatif de votre achat sur facture internet",
    summary_price=f"prix{NBSP}: 3,90{NBSP}€ TTC",
)

EN = Words(
    lang="en",
    title="payment on the Lagon internet bill",
    labels=["published by:", "product:", "price:"],
    published_by="published by EDITEUR",
    price="€3.90 incl. VAT",
    added="This amount will be added to your Lagon internet bill",
    terms="The Lagon internet payment terms",
    cancel="Cancel the order",
    confirm="confirm your purchase",
    summary_to="a summary email will be sent to:",
    ok="ok",
    redirect_note="returning to the service in a few seconds",
    refused="Payment refused",
    nothing_added="Nothing was added to your bill.",
    payment_cap="This purchase is above €50.00, the most a single payment on the internet bill can be.",
    monthly_cap=(
        "With this purchase, your payments on the internet bill this month would go above €300.00, "
        "the monthly limit."
    ),
    blocked=(
        "Payment on the internet bill is blocked on your subscription. "
        "You can allow it again in your customer space."
    ),
    not_subscriber=("Payment on the internet bill is reserved for Lagon internet subscribers."),
    return_to="Return to EDITEUR",
    already_paid="This payment has already been made.",
    expired=(
        "This payment has expired: it was not confirmed in time. "
        "Please start your purchase again on the merchant's site."
    ),
    summary_subject="Lagon - summary of your purchase on the internet bill",
    summary_price="price: €3.90 incl. VAT",
)

LANGUAGES = [pytest.param(FR, id="fr"), pytest.param(EN, id="en")]


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def merchant_site() -> Iterator[MerchantSite]:
    # The merchant's clock is Guichet's, so that tests moving time keep signatures fresh.
    site = MerchantSite(now=lambda: guichet_clock.now().timestamp())
    site.start()
    yield site
    site.stop()


@pytest.fixture
def shop(merchant_site: MerchantSite, live_server: Any, settings: Any, outbound: Any) -> Shop:
    """The merchant, with checkout URLs on the live server and a 2-second return from the end page."""
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url)
    checkout_settings(settings, return_delay_s=2)
    return open_shop(merchant_site)


# --- steps -------------------------------------------------------------------------------------


def open_checkout(page: Page, words: Words, shop: Shop, *, amount: int = 390) -> str:
    """The merchant creates the payment and sends the customer to its checkout_url (step 2), in
    French unless English was chosen with the FR/EN switch."""
    created = shop.pay(amount=amount)
    page.goto(created["checkout_url"])
    if words.lang == "en" and page.locator("html").get_attribute("lang") == "fr":
        page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    expect(page.locator("h1")).to_have_text(words.title)
    return str(created["id"])


def expect_confirmation_page(page: Page, words: Words) -> None:
    expect(page.locator("h1")).to_have_text(words.title)
    expect(page.locator(".checkout-summary dt")).to_have_text(words.labels)
    expect(page.locator(".merchant-name")).to_have_text("EDITEUR")
    expect(page.locator("#product")).to_have_text("PANIER EDITEUR")
    expect(page.locator(".published-by")).to_have_text(words.published_by)
    expect(page.locator("#price")).to_have_text(words.price)
    expect(page.locator("#added-to-bill")).to_have_text(words.added)
    expect(page.get_by_role("link", name=words.terms, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=words.cancel, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=words.confirm, exact=True)).to_be_visible()


def confirm(page: Page, words: Words) -> None:
    page.get_by_role("button", name=words.confirm, exact=True).click()


def expect_sign_in_page(page: Page) -> None:
    expect(page.locator("#signin-form")).to_be_visible()
    assert "/account/signin/" in page.url


def sign_in(
    page: Page, login: str, password: str = PASSWORD, *, remember: bool = False, stay: bool = False
) -> None:
    expect_sign_in_page(page)
    page.locator("#id_login").fill(login)
    page.locator("#id_password").fill(password)
    if remember:
        page.locator("#id_remember_email").check()
    if stay:
        page.locator("#id_stay").check()
    page.locator("#signin-form button[type=submit]").click()


def expect_end_page(page: Page, words: Words, address: str, payment_id: str) -> None:
    """Seed's end: the address, "ok", and the automatic return to the merchant."""
    expect(page.locator("#checkout-done")).to_be_visible()
    expect(page.locator("h1")).to_have_text(words.title)
    expect(page.locator("#checkout-done")).to_contain_text(words.summary_to)
    expect(page.locator("#payer-email")).to_have_text(address)
    expect(page.get_by_role("link", name=words.ok, exact=True)).to_be_visible()
    expect(page.locator(".redirect-note")).to_have_text(words.redirect_note)
    # the return is the page's script's: a meta refresh cannot be stopped nor announced
    expect(page.locator("meta[http-equiv]")).to_have_count(0)
    assert page.url.endswith(f"/pay/{payment_id}/")


def expect_back_at_shop(page: Page, shop: Shop, path: str, status: str, payment_id: str) -> None:
    """The customer is at the merchant's page, with a return the merchant found correctly signed."""
    expect(page).to_have_url(re.compile(re.escape(shop.site.url(path)) + r"\?"), timeout=15_000)
    expect(page.locator("#status")).to_have_text(status)
    expect(page.locator("#signed")).to_have_text("signed")
    last = shop.site.returns[-1]
    assert (last.path, last.query["payment_id"], last.query["status"], last.signed) == (
        path,
        payment_id,
        status,
        True,
    )


def expect_notified(shop: Shop, payment_id: str, types: list[str]) -> None:
    """Every event of the payment reached the merchant, signed, in order."""
    events = shop.site.wait_for_events(payment_id, len(types))
    assert [e.body["type"] for e in events] == types
    assert all(e.signed for e in events)
    assert len({e.body["id"] for e in events}) == len(events)


def expect_summary(outbound: Any, words: Words, address: str, payment_id: str) -> None:
    smtp, _sms = outbound
    [mail] = [m for m in smtp.wait_for(address) if m.subject == words.summary_subject]
    assert words.summary_price in mail.body
    assert "PANIER EDITEUR" in mail.body
    assert payment_id in mail.body


def expect_refusal(page: Page, words: Words, shop: Shop, payment_id: str, reason: str, message: str) -> None:
    """The refusal's own page, then the signed return to the merchant; nothing charged nor sent."""
    expect(page.locator("h2.refused-title")).to_have_text(words.refused)
    expect(page.locator("#refusal")).to_have_text(message)
    expect(page.locator("#checkout-refused")).to_contain_text(words.nothing_added)
    assert payment(payment_id).refusal_reason == reason
    page.get_by_role("link", name=words.return_to, exact=True).click()
    expect_back_at_shop(page, shop, "/shop/basket", "refused", payment_id)
    expect_notified(shop, payment_id, ["payment.refused"])
    assert BillCharge.objects.filter(payment_public_id=payment_id).count() == 0


def screenshot(page: Page, words: Words, name: str) -> None:
    if words.lang == "fr" and os.environ.get("GUICHET_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["GUICHET_SCREENSHOT_DIR"]) / name))


def no_summary_sent(outbound: Any) -> None:
    smtp, _sms = outbound
    assert [m for m in smtp.received if "récapitulatif" in m.subject or "summary" in m.subject] == []


# --- the original pages' purchases ----------------------------------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_mono_bal_personalises_then_buys(page, shop, outbound, delivery_thread, words):
    # given a mono-BAL contract never personalised, on the line the customer connects from
    contract = mono_bal(login="c-mono", line_ip=BROWSER_LINE)
    # when they open the merchant's checkout (step 2) and confirm
    payment_id = open_checkout(page, words, shop)
    expect_confirmation_page(page, words)
    confirm(page, words)
    # then the sign-in (step 3); with the contract's initial login, the personalisation comes first
    sign_in(page, "c-mono")
    expect(page.locator("#personalise-form")).to_be_visible()
    assert charges() == []
    page.locator("#id_login").fill("marie.kafeat@lagon.example")
    page.locator("#id_password").fill("Nouveau-mot2passe")
    page.locator("#id_confirmation").fill("Nouveau-mot2passe")
    page.locator("#personalise-form button[type=submit]").click()
    # then the purchase goes on by itself: the end page names the new address
    expect_end_page(page, words, "marie.kafeat@lagon.example", payment_id)
    assert charges(contract) == [(payment_id, 390)]
    assert BillCharge.objects.get().mailbox == mailbox("marie.kafeat@lagon.example")
    expect_summary(outbound, words, "marie.kafeat@lagon.example", payment_id)
    # and a few seconds later the customer is back at the merchant's, signed return, notified
    expect_back_at_shop(page, shop, "/shop/thanks", "succeeded", payment_id)
    expect_notified(shop, payment_id, ["payment.succeeded"])


@pytest.mark.parametrize("words", LANGUAGES)
def test_multi_bal_signs_in_and_buys(page, shop, outbound, delivery_thread, words):
    contract = multi_bal(line_ip=BROWSER_LINE)
    payment_id = open_checkout(page, words, shop)
    screenshot(page, words, "guichet-checkout-confirm.png")
    confirm(page, words)
    screenshot(page, words, "guichet-checkout-signin.png")
    sign_in(page, "lea@lagon.example")
    expect_end_page(page, words, "lea@lagon.example", payment_id)
    screenshot(page, words, "guichet-checkout-done.png")
    assert charges(contract) == [(payment_id, 390)]
    expect_summary(outbound, words, "lea@lagon.example", payment_id)
    # "ok" returns at once
    page.get_by_role("link", name=words.ok, exact=True).click()
    expect_back_at_shop(page, shop, "/shop/thanks", "succeeded", payment_id)
    expect_notified(shop, payment_id, ["payment.succeeded"])


def test_without_javascript_the_end_page_stays_and_ok_returns(browser, live_server, shop, outbound):
    """No script, no automatic return: the end page waits for the customer's "ok"."""
    contract = multi_bal(line_ip=BROWSER_LINE)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        payment_id = open_checkout(page, FR, shop)
        confirm(page, FR)
        sign_in(page, "lea@lagon.example")
        expect_end_page(page, FR, "lea@lagon.example", payment_id)
        page.wait_for_timeout(3_000)  # the return's delay is 2 seconds
        assert page.url.endswith(f"/pay/{payment_id}/")
        page.get_by_role("link", name=FR.ok, exact=True).click()
        expect_back_at_shop(page, shop, "/shop/thanks", "succeeded", payment_id)
    finally:
        context.close()
    assert charges(contract) == [(payment_id, 390)]


@pytest.mark.parametrize("words", LANGUAGES)
def test_stay_signed_in_skips_the_sign_in_next_time(
    browser, live_server, page, shop, outbound, delivery_thread, words
):
    # given a first purchase signed in with "rester identifié"
    contract = multi_bal()
    first = open_checkout(page, words, shop)
    confirm(page, words)
    sign_in(page, "paul@lagon.example", stay=True)
    expect_end_page(page, words, "paul@lagon.example", first)
    state = page.context.storage_state()
    # when the customer comes back later in a new browser window with the same profile
    later = browser.new_context(base_url=live_server.url, storage_state=state)
    try:
        again = later.new_page()
        second = open_checkout(again, words, shop, amount=1000)
        confirm(again, words)
        # then no sign-in page: the end page at once
        expect_end_page(again, words, "paul@lagon.example", second)
    finally:
        later.close()
    assert charges(contract) == [(first, 390), (second, 1000)]


@pytest.mark.parametrize("words", LANGUAGES)
def test_confirmation_sent_three_times_at_once_charges_once(page, shop, outbound, delivery_thread, words):
    contract = multi_bal()
    first = open_checkout(page, words, shop)
    confirm(page, words)
    sign_in(page, "paul@lagon.example", stay=True)
    expect_end_page(page, words, "paul@lagon.example", first)
    # signed in, the browser posts the confirmation form three times at once (Chromium itself
    # drops a double click's second submission, so the page's own form is sent with fetch)
    second = open_checkout(page, words, shop)
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector('#confirm-form');
            const send = () => fetch(form.action, {method: 'POST', body: new FormData(form)});
            const answers = await Promise.all([send(), send(), send()]);
            return answers.map(a => a.status);
        }"""
    )
    assert statuses == [200, 200, 200]  # each followed the redirect to the outcome page
    page.reload()
    expect_end_page(page, words, "paul@lagon.example", second)
    assert charges(contract) == [(first, 390), (second, 390)]
    smtp, _sms = outbound
    smtp.wait_for("paul@lagon.example", 2)
    assert len([m for m in smtp.to("paul@lagon.example") if m.subject == words.summary_subject]) == 2


@pytest.mark.parametrize("words", LANGUAGES)
def test_remember_the_email_address_prefills_the_sign_in(
    page, shop, outbound, delivery_thread, clock, settings, words
):
    # given a first purchase with "mémoriser l'adresse mail" (not "rester identifié")
    multi_bal()
    first = open_checkout(page, words, shop)
    confirm(page, words)
    sign_in(page, "paul@lagon.example", remember=True)
    expect_end_page(page, words, "paul@lagon.example", first)
    # when the session has ended (inactivity) and the customer buys again
    clock.advance(seconds=settings.GUICHET.subscribers.idle_timeout_s + 1)
    second = open_checkout(page, words, shop)
    confirm(page, words)
    # then the sign-in page shows the address already filled in, and only the password is asked
    expect_sign_in_page(page)
    expect(page.locator("#id_login")).to_have_value("paul@lagon.example")
    expect(page.locator("#id_password")).to_have_value("")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    expect_end_page(page, words, "paul@lagon.example", second)


@pytest.mark.parametrize("words", LANGUAGES)
def test_forgotten_password_from_the_checkout(page, shop, outbound, delivery_thread, words):
    # given a multi-BAL subscriber who forgot the password, at the checkout's sign-in
    contract = multi_bal()
    payment_id = open_checkout(page, words, shop)
    confirm(page, words)
    expect_sign_in_page(page)
    # when they follow "mot de passe oublié ?" and ask for a code
    page.locator("p.forgot a").click()
    page.locator("#id_login").fill("paul@lagon.example")
    page.locator("#forgot-form button[type=submit]").click()
    smtp, _sms = outbound
    [reset_mail] = smtp.wait_for("paul@lagon.example")
    # and type the emailed code with a new password
    page.locator("#id_code").fill(email_code(reset_mail.body))
    page.locator("#id_password").fill("Tout-neuf2026")
    page.locator("#id_confirmation").fill("Tout-neuf2026")
    page.locator("#reset-form button[type=submit]").click()
    # then they sign in with it and come back to their checkout, where they confirm again
    sign_in(page, "paul@lagon.example", "Tout-neuf2026")
    expect_confirmation_page(page, words)
    assert charges() == []
    confirm(page, words)
    expect_end_page(page, words, "paul@lagon.example", payment_id)
    assert charges(contract) == [(payment_id, 390)]


@pytest.mark.parametrize("words", LANGUAGES)
def test_legacy_contract_confirms_with_its_line_without_signing_in(
    page, shop, outbound, delivery_thread, settings, words
):
    # given a contract not yet on the new sign-in (roll-out at 0 %), whose line the customer is on
    subscribers_settings(settings, rollout_percent=0)
    contract = multi_bal(line_ip=BROWSER_LINE)
    payment_id = open_checkout(page, words, shop)
    # when they confirm: no sign-in page, the end page at once
    confirm(page, words)
    expect_end_page(page, words, "paul@lagon.example", payment_id)
    assert charges(contract) == [(payment_id, 390)]
    assert BillCharge.objects.get().mailbox is None
    expect_summary(outbound, words, "paul@lagon.example", payment_id)
    expect_back_at_shop(page, shop, "/shop/thanks", "succeeded", payment_id)


@pytest.mark.parametrize("words", LANGUAGES)
def test_cancel_the_order_returns_to_the_merchant(page, shop, outbound, delivery_thread, words):
    multi_bal(line_ip=BROWSER_LINE)
    payment_id = open_checkout(page, words, shop)
    page.get_by_role("button", name=words.cancel, exact=True).click()
    expect_back_at_shop(page, shop, "/shop/basket", "cancelled", payment_id)
    assert payment(payment_id).status == "cancelled"
    expect_notified(shop, payment_id, ["payment.cancelled"])
    assert charges() == []
    no_summary_sent(outbound)


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_above_the_payment_cap(page, shop, outbound, delivery_thread, words):
    multi_bal(line_ip=BROWSER_LINE)
    payment_id = open_checkout(page, words, shop, amount=5001)
    confirm(page, words)
    # refused at once, before any sign-in
    expect_refusal(page, words, shop, payment_id, "payment_cap_exceeded", words.payment_cap)
    no_summary_sent(outbound)


@pytest.mark.parametrize("words", LANGUAGES)
def test_above_the_monthly_cap(page, shop, outbound, delivery_thread, words):
    contract = multi_bal()
    for n in range(6):
        contract_charge(
            contract=contract,
            mailbox=None,
            payment_public_id=f"pay_before{n}",
            merchant_name="EDITEUR",
            product="earlier",
            amount=4900,
        )
    payment_id = open_checkout(page, words, shop, amount=1000)  # 294 + 10 > 300
    confirm(page, words)
    sign_in(page, "paul@lagon.example")
    expect_refusal(page, words, shop, payment_id, "monthly_cap_exceeded", words.monthly_cap)
    assert len(charges(contract)) == 6
    no_summary_sent(outbound)


@pytest.mark.parametrize("words", LANGUAGES)
def test_pay_on_bill_blocked_by_the_customer(page, shop, outbound, delivery_thread, words):
    contract = multi_bal()
    Contract.objects.filter(pk=contract.pk).update(pay_on_bill_blocked=True)
    payment_id = open_checkout(page, words, shop)
    confirm(page, words)
    sign_in(page, "paul@lagon.example")
    expect_refusal(page, words, shop, payment_id, "pay_on_bill_blocked", words.blocked)
    assert payment(payment_id).payer_email == ""
    no_summary_sent(outbound)


@pytest.mark.parametrize("words", LANGUAGES)
def test_not_an_internet_subscriber(page, shop, outbound, delivery_thread, words):
    # a mail-only customer: the operator's file gives the contract no internet line
    import_subscribers(f"C-MAIL,marie@lagon.example,{PASSWORD},true,Marie,")
    payment_id = open_checkout(page, words, shop)
    confirm(page, words)
    sign_in(page, "marie@lagon.example")
    expect_refusal(page, words, shop, payment_id, "not_a_subscriber", words.not_subscriber)
    no_summary_sent(outbound)


@pytest.mark.parametrize("words", LANGUAGES)
def test_expired_payment(page, shop, outbound, delivery_thread, clock, settings, words):
    multi_bal(line_ip=BROWSER_LINE)
    payment_id = open_checkout(page, words, shop)
    clock.advance(seconds=settings.GUICHET.merchants.payment_ttl_s + 1)
    confirm(page, words)
    expect(page.locator("#closed")).to_have_text(words.expired)
    assert payment(payment_id).status == "expired"
    page.get_by_role("link", name=words.return_to, exact=True).click()
    expect_back_at_shop(page, shop, "/shop/basket", "expired", payment_id)
    assert charges() == []
    no_summary_sent(outbound)


@pytest.mark.parametrize("words", LANGUAGES)
def test_already_paid_checkout_opened_again(
    browser, live_server, page, shop, outbound, delivery_thread, words
):
    contract = multi_bal(line_ip=BROWSER_LINE)
    payment_id = open_checkout(page, words, shop)
    confirm(page, words)
    sign_in(page, "paul@lagon.example")
    expect_end_page(page, words, "paul@lagon.example", payment_id)
    # the same link in another browser: already made, no address shown, nothing charged again
    other = browser.new_context(base_url=live_server.url)
    try:
        again = other.new_page()
        if words.lang == "en":
            again.goto("/pay/terms/")
            again.get_by_role("button", name="EN", exact=True).click()
        again.goto(f"/pay/{payment_id}/")
        expect(again.locator("#closed")).to_have_text(words.already_paid)
        expect(again.locator("body")).not_to_contain_text("paul@lagon.example")
        expect(again.get_by_role("button", name=words.confirm)).to_have_count(0)
    finally:
        other.close()
    assert charges(contract) == [(payment_id, 390)]


@pytest.mark.parametrize("words", LANGUAGES)
def test_unknown_payment(page, shop, words):
    if words.lang == "en":
        page.goto("/pay/terms/")
        page.get_by_role("button", name="EN", exact=True).click()
    answer = page.goto("/pay/pay_nosuchpayment/")
    assert answer is not None
    assert answer.status == 404
    expected = (
        "Ce paiement n'existe pas. Vérifiez le lien, ou recommencez votre achat sur le site du marchand."
        if words.lang == "fr"
        else (
            "This payment does not exist. Please check the link, "
            "or start your purchase again on the merchant's site."
        )
    )
    expect(page.locator("#unknown")).to_have_text(expected)


def test_the_checkout_cannot_be_framed(page, shop):
    """A merchant page that frames the checkout shows nothing of it (frame-ancestors 'none')."""
    multi_bal()
    created = shop.pay()
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text))
    page.set_content(f'<iframe id="f" src="{created["checkout_url"]}" width="600" height="400"></iframe>')
    page.wait_for_timeout(500)
    frame = page.frame_locator("#f")
    expect(frame.locator("#checkout-confirm")).to_have_count(0)
    assert page.frames[1].url.startswith("chrome-error://"), page.frames[1].url
    assert any("frame-ancestors" in text for text in blocked), blocked
