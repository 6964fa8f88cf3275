"""Walk the installed demo as docs/demo.md and the README tell a person to, in French then English.

The tests run in this order on one demo database: the portal changes ePins that the card payments
then use, and the cardholders' failed attempts stay below the block (5 in a row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.support.codes import email_code, sms_code
from tests.walk.person import Person


@dataclass(frozen=True)
class Cardholder:
    """A demo cardholder as README and docs/demo.md list them."""

    email: str
    phone: str
    cards: tuple[str, ...]


MARIE = Cardholder("marie.kafeat@example.com", "+687751123", ("4970100000000048", "4970720000002221"))
PAUL = Cardholder("paul.wamytan@example.com", "+687762245", ("4970100000000121",))
NBSP = "\u00a0"


@dataclass(frozen=True)
class Words:
    lang: str
    # portal
    email_label: str
    sms_label: str
    email_code_label: str
    methods_title: str
    save_password: str
    change_password: str
    password_label: str
    confirmation_label: str
    enrolled: str
    # shop and challenge
    card_label: str
    expiry_label: str
    pay: str
    epin_label: str
    validate: str
    wrong: str
    cancel_payment: str
    accepted: str
    refused: str
    cancelled: str
    # internet+
    confirm: str
    summary_to: str
    summary_subject: str
    personalise_title: str
    verified: str
    bill_title: str


FR = Words(
    lang="fr",
    email_label="Adresse Email",
    sms_label="Code reçu par SMS",
    email_code_label="Code reçu par email",
    methods_title="Méthodes d'authentification pour valider vos paiements en ligne",
    save_password="Enregistrer le mot de passe",
    change_password="Modifier le mot de passe",
    password_label="Mot de passe",
    confirmation_label="Confirmation Mot de passe",
    enrolled="Vous avez réussi à vous enregistrer",
    card_label="Numéro de carte",
    expiry_label="Date d'expiration (MM/AA)",
    pay=f"Payer 299,00{NBSP}€",
    epin_label="Mot de passe",
    validate="Valider",
    wrong="L'un des 2 codes saisis n'est pas correct.",
    cancel_payment="Annuler votre paiement",
    accepted="Paiement accepté",
    refused="Paiement refusé",
    cancelled="Paiement annulé",
    confirm="confirmer votre achat",
    summary_to=f"un mail récapitulatif sera envoyé à l'adresse{NBSP}:",
    summary_subject="PANIER EDITEUR",
    personalise_title="Personnalisez votre adresse mail et votre mot de passe",
    verified="signature vérifiée",
    bill_title="Facture",
)
EN = Words(
    lang="en",
    email_label="Email address",
    sms_label="Code received by SMS",
    email_code_label="Code received by email",
    methods_title="Authentication methods to approve your online payments",
    save_password="Save the password",
    change_password="Change the password",
    password_label="Password",
    confirmation_label="Password confirmation",
    enrolled="You have successfully registered",
    card_label="Card number",
    expiry_label="Expiry date (MM/YY)",
    pay="Pay €299.00",
    epin_label="Password",
    validate="Validate",
    wrong="One of the two codes you entered is not correct.",
    cancel_payment="Cancel your payment",
    accepted="Payment accepted",
    refused="Payment refused",
    cancelled="Payment cancelled",
    confirm="confirm your purchase",
    summary_to="a summary email will be sent to:",
    summary_subject="PUBLISHER BASKET",
    personalise_title="Personalise your email address and password",
    verified="signature verified",
    bill_title="Bill",
)


# --- the steps a person takes ----------------------------------------------------------------


def open_guichet_page(person: Person, path: str, words: Words) -> Page:
    """A page of Guichet in French, its default whatever the browser asks; English by its EN button."""
    page = person.page
    page.goto(person.guichet_url + path)
    if words.lang == "en" and page.locator("html").get_attribute("lang") != "en":
        person.check("fr")
        person.switch_to_english()
    person.check(words.lang)
    return page


def portal_sign_in(person: Person, words: Words, holder: Cardholder) -> Page:
    """Step 1 and 2 of the portal: the email, then the two codes read in the dev inbox."""
    email, phone = holder.email, holder.phone
    texts = person.count(channel="sms", recipient=phone)
    mails = person.count(channel="email", recipient=email)
    page = open_guichet_page(person, "/enrollment/", words)
    page.get_by_label(words.email_label, exact=True).fill(email)
    page.get_by_role("button", name="OK", exact=True).click()
    expect(page).to_have_url(re.compile(r"/enrollment/verify/$"))
    person.check(words.lang)
    sms = person.wait_for_message(channel="sms", recipient=phone, after=texts)
    mail = person.wait_for_message(channel="email", recipient=email, after=mails)
    page.bring_to_front()
    page.get_by_label(words.sms_label, exact=True).fill(sms_code(sms.body))
    page.get_by_label(words.email_code_label, exact=True).fill(email_code(mail.body))
    page.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("h1")).to_have_text(words.methods_title)
    person.check(words.lang)
    return page


def choose_epin(person: Person, words: Words, link: str, epin: str) -> None:
    page = person.page
    page.get_by_role("link", name=link, exact=True).click()
    expect(page).to_have_url(re.compile(r"/enrollment/password/$"))
    person.check(words.lang)
    page.get_by_label(words.password_label, exact=True).fill(epin)
    page.get_by_label(words.confirmation_label, exact=True).fill(epin)
    page.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator(".messages .message")).to_contain_text(words.enrolled)
    expect(page.locator("#method-epin .state")).to_have_text("(actif)" if words.lang == "fr" else "(active)")
    person.check(words.lang)


def open_shop(person: Person, words: Words) -> Page:
    page = person.page
    page.goto(person.shop_url)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    if words.lang == "en":
        person.check("fr")
        person.switch_to_english()
    person.check(words.lang)
    return page


def card_payment(person: Person, words: Words, pan: str) -> Page:
    """The 299,00 EUR collection, paid by card: the bank's challenge opens in the shop's iframe."""
    page = open_shop(person, words)
    page.locator("#product-collection-reliee a").click()
    person.check(words.lang)
    page.locator("#method-card").click()
    person.check(words.lang)
    page.get_by_label(words.card_label, exact=True).fill(pan)
    page.get_by_label(words.expiry_label, exact=True).fill("12/29")
    page.get_by_role("button", name=words.pay, exact=True).click()
    challenge = page.frame_locator("#challenge")
    expect(challenge.get_by_label(words.epin_label, exact=True)).to_be_visible()
    person.check(words.lang)
    return page


def challenge_attempt(person: Person, words: Words, holder: Cardholder, epin: str) -> None:
    """Étape 1 sur 2, the ePin; Étape 2 sur 2, the SMS code the phone received for this payment."""
    page = person.page
    phone = holder.phone
    texts = person.count(channel="sms", recipient=phone)
    challenge = page.frame_locator("#challenge")
    challenge.get_by_label(words.epin_label, exact=True).fill(epin)
    challenge.get_by_role("button", name=words.validate, exact=True).click()
    expect(challenge.get_by_label(words.sms_label, exact=True)).to_be_visible()
    person.check(words.lang)
    sms = person.wait_for_message(channel="sms", recipient=phone, after=texts)
    assert ("299,00" if words.lang == "fr" else "299.00") in sms.body
    assert "Éditions du Lagon" in sms.body
    page.bring_to_front()
    challenge.get_by_label(words.sms_label, exact=True).fill(sms_code(sms.body))
    challenge.get_by_role("button", name=words.validate, exact=True).click()


def wrong_epin_until_refused(person: Person, words: Words, holder: Cardholder, pan: str, epin: str) -> None:
    """A wrong ePin at each of the 3 attempts: the bank's error twice, then the shop's refusal."""
    card_payment(person, words, pan)
    challenge = person.page.frame_locator("#challenge")
    for attempt in range(3):
        challenge_attempt(person, words, holder, epin)
        if attempt < 2:
            expect(challenge.get_by_role("alert")).to_contain_text(words.wrong)
            person.check(words.lang)
    expect_order(person, words, words.refused, "N")


def expect_order(person: Person, words: Words, title: str, trans_status: str) -> None:
    page = person.page
    expect(page.locator("#outcome h1")).to_have_text(title, timeout=30_000)
    assert page.url.startswith(person.shop_url.rsplit("/demo/", 1)[0])
    expect(page.locator("#trans-status")).to_contain_text(trans_status)
    person.check(words.lang)


def internet_plus(person: Person, words: Words) -> Page:
    """The 3,90 EUR "PANIER EDITEUR" with internet+: Guichet's checkout, on its own origin."""
    page = open_shop(person, words)
    page.locator("#product-panier-editeur a").click()
    person.check(words.lang)
    page.locator("#method-internetplus").click()
    # the shop tells Guichet its customer's language: the checkout opens in it, no switch needed
    expect(page).to_have_url(re.compile(re.escape(person.guichet_url) + r"/pay/pay_\w+/$"))
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    expect(page.locator("#product")).to_have_text(words.summary_subject)
    person.check(words.lang)
    page.get_by_role("button", name=words.confirm, exact=True).click()
    expect(page.locator("#signin-form")).to_be_visible()
    person.check(words.lang)
    return page


def sign_in(person: Person, login: str, password: str) -> int:
    """Sign in on the checkout's sign-in page; the count of summary emails the login had before."""
    page = person.page
    before = person.count(channel="email", recipient=login)
    page.locator("#id_login").fill(login)
    page.locator("#id_password").fill(password)
    page.locator("#signin-form button[type=submit]").click()
    return before


def expect_paid_on_bill(person: Person, words: Words, address: str, *, mails_before: int) -> None:
    """The end page names the address, the summary email arrives, the shop gets a signed return."""
    page = person.page
    expect(page.locator("#checkout-done")).to_contain_text(words.summary_to)
    expect(page.locator("#payer-email")).to_have_text(address)
    person.check(words.lang)
    summary = person.wait_for_message(channel="email", recipient=address, after=mails_before)
    assert words.summary_subject in summary.body
    assert ("3,90" if words.lang == "fr" else "3.90") in summary.body
    page.bring_to_front()
    # the end page returns to the shop by itself after a few seconds
    expect(page.locator("#outcome h1")).to_have_text(words.accepted, timeout=30_000)
    expect(page.locator("#return-verified")).to_have_text(words.verified)
    person.check(words.lang)


def expect_on_account(person: Person, words: Words) -> None:
    """The customer space shows the purchase on the current bill."""
    page = open_guichet_page(person, "/account/", words)
    expect(page.locator("body")).to_contain_text(words.summary_subject)
    person.check(words.lang)


def cancel_in_the_challenge(person: Person, words: Words, pan: str) -> None:
    """ "Annuler votre paiement" in the bank's page: the shop says the payment is cancelled."""
    card_payment(person, words, pan)
    person.page.frame_locator("#challenge").get_by_role("button", name=words.cancel_payment).click()
    expect_order(person, words, words.cancelled, "N")


def multi_bal_pays_on_the_bill(person: Person, words: Words, login: str) -> None:
    """A multi-BAL mailbox (the demo's password) buys the basket: billed, emailed, back at the shop."""
    internet_plus(person, words)
    before = sign_in(person, login, "Lagon-2026")
    expect_paid_on_bill(person, words, login, mails_before=before)
    expect_on_account(person, words)


# --- in French, the default ------------------------------------------------------------------


def test_fr_a_cardholder_without_an_epin_creates_one(person: Person):
    portal_sign_in(person, FR, PAUL)
    expect(person.page.locator("#method-epin .state")).to_have_text("(inactif)")
    choose_epin(person, FR, FR.save_password, "1357")


def test_fr_a_cardholder_with_an_epin_changes_it(person: Person):
    portal_sign_in(person, FR, MARIE)
    expect(person.page.locator("#method-epin .state")).to_have_text("(actif)")
    choose_epin(person, FR, FR.change_password, "2468")


def test_fr_card_payment_of_299_eur_succeeds_with_the_new_epin(person: Person):
    card_payment(person, FR, MARIE.cards[0])
    challenge_attempt(person, FR, MARIE, "2468")
    expect_order(person, FR, FR.accepted, "Y")
    expect(person.page.locator("#ds .rreq-trans-status")).to_have_text("Y")


def test_fr_card_payment_with_a_wrong_epin_is_refused_once_the_attempts_are_used(person: Person):
    wrong_epin_until_refused(person, FR, MARIE, MARIE.cards[1], "6789")  # the demo's ePin, changed above


def test_fr_card_payment_cancelled_in_the_challenge(person: Person):
    cancel_in_the_challenge(person, FR, PAUL.cards[0])


def test_fr_internet_plus_for_a_multi_bal_subscriber(person: Person):
    multi_bal_pays_on_the_bill(person, FR, "marie.kafeat@lagon.example")


def test_fr_internet_plus_for_a_mono_bal_subscriber_who_personalises_first(person: Person):
    page = internet_plus(person, FR)
    sign_in(person, "lagon100001", "Bienvenue-1")
    expect(page.locator("h1")).to_have_text(FR.personalise_title)
    person.check("fr")
    page.locator("#id_login").fill("jean.wahnyamalla@lagon.example")
    page.locator("#id_password").fill("Nouveau-mot2passe")
    page.locator("#id_confirmation").fill("Nouveau-mot2passe")
    page.locator("#personalise-form button[type=submit]").click()
    expect_paid_on_bill(person, FR, "jean.wahnyamalla@lagon.example", mails_before=0)
    expect_on_account(person, FR)


# --- in English, after the switch ------------------------------------------------------------


def test_en_a_cardholder_changes_the_epin(person: Person):
    portal_sign_in(person, EN, PAUL)
    choose_epin(person, EN, EN.change_password, "8642")


def test_en_card_payment_succeeds(person: Person):
    card_payment(person, EN, PAUL.cards[0])
    challenge_attempt(person, EN, PAUL, "8642")
    expect_order(person, EN, EN.accepted, "Y")


def test_en_card_payment_with_a_wrong_epin_is_refused(person: Person):
    wrong_epin_until_refused(person, EN, PAUL, PAUL.cards[0], "1357")  # Paul's first ePin, changed since


def test_en_card_payment_cancelled_in_the_challenge(person: Person):
    cancel_in_the_challenge(person, EN, MARIE.cards[0])


def test_en_internet_plus_for_a_multi_bal_subscriber(person: Person):
    multi_bal_pays_on_the_bill(person, EN, "paul.kafeat@lagon.example")


# --- what the server said ----------------------------------------------------------------------

ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) ')


def test_the_server_answered_no_error_during_the_walk(server_log, problems):
    """Last: no 4xx/5xx in the demo's access log, no traceback, and no fault seen in any page."""
    text = server_log.read_text(encoding="utf-8", errors="replace")
    errors = [
        line
        for line in text.splitlines()
        if (match := ACCESS_LINE.search(line)) and int(match["status"]) >= 400
    ]
    assert errors == []
    assert "Traceback" not in text
    assert problems.seen == []
