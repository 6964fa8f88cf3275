"""The subscriber's pages (sign-in, personalisation, forgotten password, customer space) in a
real Chromium, in French and English. Emails are read from the real SMTP server of the test."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from guichet.core import clock as domain_clock
from guichet.payonbill.subscribers.billing import contract_charge
from guichet.payonbill.subscribers.models import Contract, Mailbox
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.browser

MARIE = "marie@lagon.example"
PASSWORD = "Lagon-2026"


@dataclasses.dataclass(frozen=True)
class Wording:
    """What the pages say, copied from the templates (English msgids) and the French catalogue."""

    lang: str
    signin_title: str
    address_label: str
    password_label: str
    forgot: str
    remember: str
    stay: str
    signin_button: str
    confidentiality: str
    failed: str
    account_title: str
    sign_out: str
    signed_out: str
    personalise_title: str
    new_address_label: str
    new_password_label: str
    confirmation_label: str
    confirm: str
    personalised: str
    send_code: str
    code_sent: str
    code_label: str
    reset_done: str
    reset_subject: str
    block: str
    allow: str
    blocked_state: str
    allowed_state: str
    total: str


FR = Wording(
    lang="fr",
    signin_title="identifiez-vous pour accéder à votre espace client",
    address_label="adresse mail Lagon",
    password_label="mot de passe",
    forgot="mot de passe oublié\u00a0?",
    remember="mémoriser l'adresse mail",
    stay="rester identifié",
    signin_button="s'identifier",
    confidentiality="Confidentialité de votre mot de passe",
    failed="L'adresse mail ou le mot de passe est incorrect.",
    account_title="Mon espace client",
    sign_out="Se déconnecter",
    signed_out="Vous êtes déconnecté.",
    personalise_title="Personnalisez votre adresse mail et votre mot de passe",
    new_address_label="votre nouvelle adresse mail Lagon",
    new_password_label="nouveau mot de passe",
    confirmation_label="confirmez le nouveau mot de passe",
    confirm="valider",
    personalised="Votre adresse mail et votre mot de passe sont désormais personnalisés.",
    send_code="envoyer le code",
    code_sent=(
        "Si cette adresse est connue, un mail contenant un code valable 10 minutes vient de lui être "
        "envoyé. Pensez à vérifier vos courriers indésirables."
    ),
    code_label="code reçu par mail",
    reset_done="Votre mot de passe a été modifié. Veuillez vous identifier avec celui-ci.",
    reset_subject="Lagon - votre code pour choisir un nouveau mot de passe",
    block="Bloquer le paiement sur facture",
    allow="Autoriser le paiement sur facture",
    blocked_state=(
        "Le paiement sur facture est bloqué\u00a0: aucun achat ne peut être ajouté à votre facture."
    ),
    allowed_state="Le paiement sur facture est autorisé.",
    total="13,90\u00a0€",
)

EN = Wording(
    lang="en",
    signin_title="sign in to your customer space",
    address_label="Lagon email address",
    password_label="password",
    forgot="forgot your password?",
    remember="remember my email address",
    stay="stay signed in",
    signin_button="sign in",
    confidentiality="Confidentiality of your password",
    failed="The email address or the password is incorrect.",
    account_title="My customer space",
    sign_out="Sign out",
    signed_out="You are signed out.",
    personalise_title="Personalise your email address and password",
    new_address_label="your new Lagon email address",
    new_password_label="new password",
    confirmation_label="confirm the new password",
    confirm="confirm",
    personalised="Your email address and password are now personalised.",
    send_code="send the code",
    code_sent=(
        "If this address is known, an email with a code valid for 10 minutes has been sent to it. "
        "Remember to look in your junk or spam folder."
    ),
    code_label="code received by email",
    reset_done="Your password has been changed. Please sign in with it.",
    reset_subject="Lagon - your code to choose a new password",
    block="Block pay-on-bill",
    allow="Allow pay-on-bill",
    blocked_state="Pay-on-bill is blocked: no purchase can be added to your bill.",
    allowed_state="Pay-on-bill is allowed.",
    total="€13.90",
)

LANGUAGES = [pytest.param(FR, id="fr"), pytest.param(EN, id="en")]
CODE = {
    "fr": re.compile(r"une seule fois\u00a0: ([0-9A-Za-z]{5})"),
    "en": re.compile(r"usable once: ([0-9A-Za-z]{5})"),
}


def _url(page: Page, path: str) -> str:
    return "/".join(page.url.split("/", 3)[:3]) + path


def open_signin(page: Page, words: Wording, path: str = "/account/") -> None:
    """A page that needs a signed-in subscriber: the sign-in, in French, then in the wanted language."""
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text(FR.signin_title)
    if words.lang == "en":
        page.get_by_role("button", name="EN", exact=True).click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(words.signin_title)


def choose_language(page: Page, words: Wording) -> None:
    """The language choice is a browser-session cookie: after a restart the pages are French again."""
    if words.lang == "en":
        page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", words.lang)


def fill_signin(page: Page, words: Wording, login: str, password: str, *, remember=False, stay=False) -> None:
    page.get_by_label(words.address_label, exact=True).fill(login)
    page.get_by_label(words.password_label, exact=True).fill(password)
    if remember:
        page.get_by_label(words.remember, exact=True).check()
    if stay:
        page.get_by_label(words.stay, exact=True).check()
    page.get_by_role("button", name=words.signin_button, exact=True).click()


def expect_account(page: Page, words: Wording, login: str) -> None:
    expect(page).to_have_url(_url(page, "/account/"))
    expect(page.locator("h1")).to_have_text(words.account_title)
    expect(page.locator("#account-login")).to_have_text(login)


@pytest.fixture(autouse=True)
def cheap_argon2(settings: Any) -> None:
    """The lowest Argon2id cost the configuration accepts: the pages are tested here, not the cost."""
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        subscribers=dataclasses.replace(
            settings.GUICHET.subscribers, argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1
        ),
    )


@pytest.fixture
def marie(transactional_db: None) -> Contract:
    return make_contract(
        number="LG-2",
        mailboxes=[(MARIE, PASSWORD, True), ("paul@lagon.example", PASSWORD, True)],
        name="Famille Kafeat",
    )


@pytest.fixture
def restarted(browser: Any, live_server: Any) -> Iterator[Any]:
    """Open the same browser again after a restart: only the cookies that outlive it are kept."""
    contexts: list[Any] = []

    def restart(page: Page) -> Page:
        state = page.context.storage_state()
        state["cookies"] = [c for c in state["cookies"] if c["expires"] > 0]
        context = browser.new_context(base_url=live_server.url, storage_state=state)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield restart
    for context in contexts:
        context.close()


@pytest.mark.parametrize("words", LANGUAGES)
def test_sign_in_remember_the_address_and_stay_signed_in_across_a_restart(page, restarted, marie, words):
    # given the customer space asks Marie to sign in
    open_signin(page, words)
    expect(page.get_by_role("heading", name=words.confidentiality)).to_be_visible()
    expect(page.get_by_role("link", name=words.forgot, exact=True)).to_be_visible()
    # when a wrong password is typed
    fill_signin(page, words, MARIE, "Wrong-2026")
    # then the single error, the address kept, the password not
    expect(page.locator("#error")).to_have_text(words.failed)
    expect(page.get_by_label(words.address_label, exact=True)).to_have_value(MARIE)
    expect(page.get_by_label(words.password_label, exact=True)).to_have_value("")
    # when the right one, with both boxes ticked
    fill_signin(page, words, MARIE, PASSWORD, remember=True, stay=True)
    # then her customer space
    expect_account(page, words, MARIE)
    # and after the browser restarts she is still signed in
    again = restarted(page)
    again.goto("/account/")
    choose_language(again, words)
    expect_account(again, words, MARIE)
    # when she signs out
    again.get_by_role("button", name=words.sign_out, exact=True).click()
    # then the sign-in page, her address filled in, nothing else
    expect(again.locator(".messages .message")).to_have_text([words.signed_out])
    expect(again.get_by_label(words.address_label, exact=True)).to_have_value(MARIE)
    expect(again.get_by_label(words.password_label, exact=True)).to_have_value("")
    expect(again.get_by_label(words.remember, exact=True)).to_be_checked()
    expect(again.get_by_label(words.stay, exact=True)).not_to_be_checked()
    again.goto("/account/")
    expect(again.locator("h1")).to_have_text(words.signin_title)


@pytest.mark.parametrize("words", LANGUAGES)
def test_without_stay_signed_in_a_restart_signs_out(page, restarted, marie, words):
    open_signin(page, words)
    fill_signin(page, words, MARIE, PASSWORD)
    expect_account(page, words, MARIE)
    again = restarted(page)
    again.goto("/account/")
    # signed out, but the language chosen before the restart is kept (a persistent cookie)
    expect(again.locator("h1")).to_have_text(words.signin_title)
    expect(again.get_by_label(words.address_label, exact=True)).to_have_value("")


@pytest.mark.parametrize("words", LANGUAGES)
def test_a_mono_bal_subscriber_personalises_then_reaches_the_page_asked(page, transactional_db, words):
    # given a contract whose only mailbox was never personalised
    mailbox = make_contract(number="LG-1", mailboxes=[("lagon0001", "Init-0001", False)]).mailboxes.get()
    open_signin(page, words)
    # when they sign in with the operator's initial login
    fill_signin(page, words, "lagon0001", "Init-0001")
    # then the personalisation screen
    expect(page).to_have_url(_url(page, "/account/personalise/?next=%2Faccount%2F"))
    expect(page.locator("h1")).to_have_text(words.personalise_title)
    # when they choose an address of another domain
    page.get_by_label(words.new_address_label, exact=True).fill("jean@gmail.com")
    page.get_by_label(words.new_password_label, exact=True).fill("Mon-choix-42")
    page.get_by_label(words.confirmation_label, exact=True).fill("Mon-choix-42")
    page.get_by_role("button", name=words.confirm, exact=True).click()
    expect(page.locator(".field-error")).to_have_count(1)
    # when they choose a good one
    page.get_by_label(words.new_address_label, exact=True).fill("jean.w@lagon.example")
    page.get_by_label(words.new_password_label, exact=True).fill("Mon-choix-42")
    page.get_by_label(words.confirmation_label, exact=True).fill("Mon-choix-42")
    page.get_by_role("button", name=words.confirm, exact=True).click()
    # then the customer space, with their new address
    expect_account(page, words, "jean.w@lagon.example")
    expect(page.locator(".messages .message")).to_have_text([words.personalised])
    assert Mailbox.objects.get(pk=mailbox.pk).personalised


@pytest.mark.parametrize("words", LANGUAGES)
def test_forgot_password_by_the_emailed_code(page, outbound, delivery_thread, clock, words):
    # given
    make_contract(number="LG-2", mailboxes=[(MARIE, PASSWORD, True)])
    smtp, sms = outbound
    open_signin(page, words)
    # when Marie asks for a code
    page.get_by_role("link", name=words.forgot, exact=True).click()
    page.get_by_label(words.address_label, exact=True).fill(MARIE)
    page.get_by_role("button", name=words.send_code, exact=True).click()
    # then the code page says a code may have been sent, and the email arrives
    expect(page.locator(".messages .message")).to_have_text([words.code_sent])
    [mail] = smtp.wait_for(MARIE)
    assert mail.subject == words.reset_subject
    match = CODE[words.lang].search(mail.body)
    assert match, mail.body
    # when she types it with a new password
    page.get_by_label(words.code_label, exact=True).fill(match.group(1))
    page.get_by_label(words.new_password_label, exact=True).fill("Nouveau-2027")
    page.get_by_label(words.confirmation_label, exact=True).fill("Nouveau-2027")
    page.get_by_role("button", name=words.confirm, exact=True).click()
    # then she signs in with it
    expect(page.locator(".messages .message")).to_have_text([words.reset_done])
    fill_signin(page, words, MARIE, "Nouveau-2027")
    expect_account(page, words, MARIE)
    assert sms.state.received == []


@pytest.mark.parametrize("words", LANGUAGES)
def test_the_customer_space_shows_purchases_and_blocks_pay_on_bill(page, marie, words):
    # given two purchases on the current bill
    now = domain_clock.now()
    for payment, amount in (("pay_1", 390), ("pay_2", 1000)):
        contract_charge(
            contract=marie,
            mailbox=None,
            payment_public_id=payment,
            merchant_name="EDITEUR",
            product="PANIER EDITEUR",
            amount=amount,
            at=now,
        )
    open_signin(page, words)
    fill_signin(page, words, MARIE, PASSWORD)
    # then
    expect_account(page, words, MARIE)
    expect(page.locator("tr.charge")).to_have_count(2)
    expect(page.locator("#bill-total")).to_have_text(words.total)
    expect(page.locator("#pay-on-bill-state")).to_have_text(words.allowed_state)
    # when she blocks pay-on-bill
    page.get_by_role("button", name=words.block, exact=True).click()
    # then
    expect(page.locator("#pay-on-bill-state")).to_have_text(words.blocked_state)
    assert Contract.objects.get(pk=marie.pk).pay_on_bill_blocked
    # when she allows it again
    page.get_by_role("button", name=words.allow, exact=True).click()
    expect(page.locator("#pay-on-bill-state")).to_have_text(words.allowed_state)
    assert not Contract.objects.get(pk=marie.pk).pay_on_bill_blocked


@pytest.mark.parametrize("words", LANGUAGES)
def test_a_past_bill_and_the_password_page(page, marie, words):
    """The customer space's other pages, shown as the links reach them (and, like every page here,
    through the accessibility gate of tests/browser/conftest.py)."""
    # given a purchase on last month's bill
    contract_charge(
        contract=marie,
        mailbox=None,
        payment_public_id="pay_1",
        merchant_name="EDITEUR",
        product="PANIER EDITEUR",
        amount=390,
        at=domain_clock.now() - dt.timedelta(days=40),
    )
    open_signin(page, words)
    fill_signin(page, words, MARIE, PASSWORD)
    expect_account(page, words, MARIE)
    # when she opens last month's bill
    page.locator("ul.periods a").click()
    expect(page).to_have_url(re.compile(re.escape(_url(page, "/account/bills/")) + r"\d{4}-\d{2}/$"))
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    expect(page.locator("tr.charge")).to_have_count(1)
    # when she goes to the page that changes the password
    page.go_back()
    page.locator("a[href='/account/password/']").click()
    expect(page).to_have_url(_url(page, "/account/password/"))
    expect(page.locator("input[type=password]")).to_have_count(3)
    # and sends it empty: each field says what is missing
    page.locator("#password-form button[type=submit]").click()
    expect(page.locator("#password-form .field-error")).to_have_count(3)


@pytest.mark.parametrize("colour", ["#ffd400", "#1d2630"])
def test_any_operator_colour_keeps_the_pages_readable(page, marie, settings, colour):
    """A light or a dark operator colour: text in it and text on it keep WCAG AA's contrast (the
    accessibility gate of tests/browser/conftest.py measures it on the account and sign-in pages)."""
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        subscribers=dataclasses.replace(settings.GUICHET.subscribers, operator_colour=colour),
    )
    open_signin(page, EN)  # FR then EN: the current language's button is in the colour
    fill_signin(page, EN, MARIE, PASSWORD)
    expect_account(page, EN, MARIE)
