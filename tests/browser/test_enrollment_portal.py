"""The cardholder enrollment portal (docs/issuers.md, steps 1-5) in a real Chromium, in French and English.

The codes are read from what the real SMTP server and SMS receiver received, never from the database.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from guichet.delivery.models import OutboxMessage
from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import epin_set, epin_verify
from tests.support.factories import make_cardholder, make_pan
from tests.support.fixtures import email_code, sms_code

pytestmark = pytest.mark.browser

PHONE = "+687751123"
MASKED_PHONE = "xxxxxxx23"


@dataclasses.dataclass(frozen=True)
class Wording:
    """What the pages say, copied from the templates (English msgids) and the French catalogue."""

    lang: str
    welcome: str
    email_label: str
    unknown_email: str
    codes_title: str
    sms_label: str
    email_code_label: str
    codes_failed: str
    resend: str
    resent: str
    cooldown: str
    back: str
    methods_title: str
    card_label: str
    phone_label: str
    active: str
    inactive: str
    save_password: str
    change_password: str
    password_title: str
    password_label: str
    confirmation_label: str
    cancel: str
    epin_mismatch: str
    epin_format: str
    enrolled: str
    sign_out: str
    signed_out: str
    session_ended: str
    sms_says: str
    email_subject_says: str
    confirmation_active: str
    close_message: str


FR = Wording(
    lang="fr",
    welcome=(
        "Bienvenue sur l'espace de création de votre mot de passe pour "
        "l'authentification renforcée de vos paiements en ligne"
    ),
    email_label="Adresse Email",
    unknown_email=(
        "Votre email n'est pas reconnu. Veuillez consulter la rubrique Aide ci-dessous "
        "pour connaître la démarche à suivre."
    ),
    codes_title="Vérification de votre identité",
    sms_label="Code reçu par SMS",
    email_code_label="Code reçu par email",
    codes_failed="La connexion avec la vérification SMS et Email a échoué.",
    resend="Renvoyer les codes",
    resent="De nouveaux codes vous ont été envoyés. Les codes précédents ne sont plus valables.",
    cooldown=(
        "Des codes vous ont été envoyés il y a moins de 30 secondes. Veuillez les utiliser, "
        "ou patienter avant d'en demander de nouveaux."
    ),
    back="Retour",
    methods_title="Méthodes d'authentification pour valider vos paiements en ligne",
    card_label="Numéro de carte {n}\u00a0:",
    phone_label="Numéro de téléphone\u00a0:",
    active="(actif)",
    inactive="(inactif)",
    save_password="Enregistrer le mot de passe",
    change_password="Modifier le mot de passe",
    password_title="Choix du mot de passe",
    password_label="Mot de passe",
    confirmation_label="Confirmation Mot de passe",
    cancel="Annuler",
    epin_mismatch="Veuillez confirmer le mot de passe défini en le saisissant à nouveau.",
    epin_format="Le mot de passe comporte exactement 4 chiffres.",
    enrolled=(
        "Vous avez réussi à vous enregistrer pour les transactions en ligne sécurisées avec 3D Secure "
        "et à activer votre méthode activation de paiement par mot de passe. Vous pouvez dès maintenant "
        "effectuer des transactions en ligne 3D Secure. Merci beaucoup."
    ),
    sign_out="Se déconnecter",
    signed_out="Vous êtes déconnecté.",
    session_ended="Votre session a pris fin après 5 minutes d'inactivité. Veuillez recommencer.",
    sms_says="votre code de vérification est",
    email_subject_says="votre code de vérification",
    confirmation_active="actif",
    close_message="Fermer ce message",
)

EN = Wording(
    lang="en",
    welcome=(
        "Welcome to the space where you create your password for the strong authentication "
        "of your online payments"
    ),
    email_label="Email address",
    unknown_email="Your email is not recognised. Please see the Help section below to find out what to do.",
    codes_title="Verifying your identity",
    sms_label="Code received by SMS",
    email_code_label="Code received by email",
    codes_failed="The connection with SMS and Email verification failed.",
    resend="Resend the codes",
    resent="New codes have been sent. The previous codes no longer work.",
    cooldown="Codes were sent less than 30 seconds ago. Please use them, or wait before asking for new ones.",
    back="Back",
    methods_title="Authentication methods to approve your online payments",
    card_label="Card number {n}:",
    phone_label="Phone number:",
    active="(active)",
    inactive="(inactive)",
    save_password="Save the password",
    change_password="Change the password",
    password_title="Choice of password",
    password_label="Password",
    confirmation_label="Password confirmation",
    cancel="Cancel",
    epin_mismatch="Please confirm the password you set by typing it again.",
    epin_format="The password is exactly 4 digits.",
    enrolled=(
        "You have successfully registered for secure 3D Secure online transactions and activated "
        "your password payment method. You can now make 3D Secure online transactions. Thank you."
    ),
    sign_out="Sign out",
    signed_out="You are signed out.",
    session_ended="Your session ended after 5 minutes without activity. Please start again.",
    sms_says="your verification code is",
    email_subject_says="your verification code",
    confirmation_active="active",
    close_message="Close this message",
)

LANGUAGES = [pytest.param(FR, id="fr"), pytest.param(EN, id="en")]


# --- steps of the walk ---------------------------------------------------------------------------


def open_portal(page: Page, words: Wording) -> None:
    """Step 1 in the wanted language: French by default, English through the header's EN button."""
    page.goto("/enrollment/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text(FR.welcome)
    if words.lang == "en":
        page.get_by_role("button", name="EN", exact=True).click()
        expect(page).to_have_url(_url(page, "/enrollment/"))
    expect(page.locator("html")).to_have_attribute("lang", words.lang)
    expect(page.get_by_role("button", name=words.lang.upper(), exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("h1")).to_have_text(words.welcome)


def submit_email(page: Page, words: Wording, email: str) -> None:
    page.get_by_label(words.email_label, exact=True).fill(email)
    page.get_by_role("button", name="OK", exact=True).click()


def received_codes(outbound: Any, holder: Cardholder, words: Wording, *, count: int) -> tuple[str, str]:
    """The latest SMS code and email code, once exactly `count` of each have arrived."""
    smtp, sms = outbound
    texts = sms.wait_for(holder.phone, count)
    mails = smtp.wait_for(holder.email, count)
    assert len(texts) == count
    assert len(mails) == count
    assert words.sms_says in texts[-1]["text"]
    assert words.email_subject_says in mails[-1].subject
    return sms_code(texts[-1]["text"]), email_code(mails[-1].body)


def submit_codes(page: Page, words: Wording, sms: str, mail: str) -> None:
    page.get_by_label(words.sms_label, exact=True).fill(sms)
    page.get_by_label(words.email_code_label, exact=True).fill(mail)
    page.get_by_role("button", name="OK", exact=True).click()


def reach_codes_page(page: Page, words: Wording, holder: Cardholder) -> None:
    open_portal(page, words)
    submit_email(page, words, holder.email)
    expect(page).to_have_url(_url(page, "/enrollment/verify/"))
    expect(page.locator("h1")).to_have_text(words.codes_title)


def sign_in(page: Page, words: Wording, outbound: Any, holder: Cardholder, *, sends: int = 1) -> None:
    """Email, then the two codes received: the methods page."""
    reach_codes_page(page, words, holder)
    submit_codes(page, words, *received_codes(outbound, holder, words, count=sends))
    expect(page).to_have_url(_url(page, "/enrollment/methods/"))
    expect(page.locator("h1")).to_have_text(words.methods_title)


def set_epin(page: Page, words: Wording, epin: str, confirmation: str) -> None:
    page.get_by_label(words.password_label, exact=True).fill(epin)
    page.get_by_label(words.confirmation_label, exact=True).fill(confirmation)
    page.get_by_role("button", name="OK", exact=True).click()


def expect_step_one(page: Page, words: Wording, *, message: str | None) -> None:
    expect(page).to_have_url(_url(page, "/enrollment/"))
    expect(page.locator("h1")).to_have_text(words.welcome)
    expect(page.locator(".messages .message")).to_have_text([message] if message else [])
    expect(page.get_by_role("button", name=words.sign_out)).to_have_count(0)


def header_is_usable(page: Page, words: Wording) -> None:
    """The FR/EN switch and "Sign out" (when shown) are on top where they are drawn: a message
    shown at the top right must not hide them nor take their clicks."""
    buttons = [page.get_by_role("button", name=name, exact=True) for name in ("FR", "EN")]
    if page.get_by_role("button", name=words.sign_out).count():
        buttons.append(page.get_by_role("button", name=words.sign_out))
    for button in buttons:
        box = button.bounding_box()
        assert box is not None
        centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
        on_top = button.evaluate("(el, [x, y]) => el.contains(document.elementFromPoint(x, y))", centre)
        assert on_top, button


def click_at_centre(page: Page, locator: Any) -> None:
    """A mouse click where the element is drawn, as a person does: it reaches whatever lies on top."""
    box = locator.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _url(page: Page, path: str) -> str:
    origin = page.url.split("/", 3)[:3]
    return "/".join(origin) + path


def masked(pan: str) -> str:
    assert len(pan) == 16
    return pan[:6] + "XXXXXX" + pan[-4:]


def stored_hash(holder: Cardholder) -> str:
    return Cardholder.objects.get(pk=holder.pk).epin_hash


def epin_is(holder: Cardholder, epin: str) -> bool:
    with transaction.atomic():
        return epin_verify(cardholder=Cardholder.objects.get(pk=holder.pk), epin=epin, ip="127.0.0.1")


# --- sections 1 to 5: first enrollment, then sign out --------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_first_enrollment_sets_the_epin_then_sign_out_returns_to_step_one(
    page, outbound, delivery_thread, clock, words
):
    # given a cardholder with two cards and no ePin
    pans = [make_pan("497062"), make_pan("497072")]
    holder = make_cardholder(email="marie@example.com", phone=PHONE, pans=pans)
    # when they type their email and the two codes received
    sign_in(page, words, outbound, holder)
    # then the methods page lists the masked cards and phone, the ePin method not yet active
    expect(page.locator(".cards li")).to_have_text(
        [
            f"{words.card_label.format(n=1)} {masked(pans[0])}",
            f"{words.card_label.format(n=2)} {masked(pans[1])}",
        ]
    )
    expect(page.locator("#method-sms .state")).to_have_text(words.active)
    expect(page.locator("#method-sms .phone")).to_have_text(MASKED_PHONE)
    expect(page.locator("#method-sms")).to_contain_text(f"{words.phone_label} {MASKED_PHONE}")
    expect(page.locator("#method-epin .state")).to_have_text(words.inactive)
    expect(page.get_by_role("link", name=words.change_password, exact=True)).to_have_count(0)
    html = page.content()
    assert not any(pan in html or pan[6:12] in html for pan in pans)
    assert "751123" not in html
    # when they choose "Save the password" and type the ePin twice
    page.get_by_role("link", name=words.save_password, exact=True).click()
    expect(page).to_have_url(_url(page, "/enrollment/password/"))
    expect(page.locator("h1")).to_have_text(words.password_title)
    expect(page.locator(".cards .pan")).to_have_text([masked(pans[0]), masked(pans[1])])
    set_epin(page, words, "1234", "1234")
    # then the success message shows on the methods page and the ePin method is active
    expect(page).to_have_url(_url(page, "/enrollment/methods/"))
    expect(page.locator(".messages .message")).to_have_text([words.enrolled])
    expect(page.locator("#method-epin .state")).to_have_text(words.active)
    expect(page.get_by_role("link", name=words.change_password, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=words.save_password, exact=True)).to_have_count(0)
    assert epin_is(holder, "1234")
    smtp, sms = outbound
    assert len(sms.to(PHONE)) == 1
    assert len(smtp.to("marie@example.com")) == 1
    if words.lang == "fr" and os.environ.get("GUICHET_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["GUICHET_SCREENSHOT_DIR"]) / "guichet-methods.png"))
    # and the message at the top right leaves the header's buttons visible and clickable
    header_is_usable(page, words)
    # when they sign out (a mouse click on the button as drawn)
    click_at_centre(page, page.get_by_role("button", name=words.sign_out))
    # then step 1 shows, and the methods page now sends back to step 1
    expect_step_one(page, words, message=words.signed_out)
    header_is_usable(page, words)
    page.goto("/enrollment/methods/")
    expect_step_one(page, words, message=None)
    page.goto("/enrollment/password/")
    expect_step_one(page, words, message=None)


# --- section 1: an email the issuer does not know ------------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_unknown_email_shows_the_help_message_and_sends_nothing(
    page, outbound, delivery_thread, clock, words
):
    # given a known cardholder, and a person typing another email
    make_cardholder(email="marie@example.com", phone=PHONE)
    open_portal(page, words)
    # when
    submit_email(page, words, "s.bonino@lagoon.nc")
    # then the help message shows on step 1, the email kept in the field
    expect(page).to_have_url(_url(page, "/enrollment/"))
    expect(page.locator("h1")).to_have_text(words.welcome)
    expect(page.locator("#error")).to_have_text(words.unknown_email)
    expect(page.locator(".error")).to_have_count(1)
    expect(page.get_by_label(words.email_label, exact=True)).to_have_value("s.bonino@lagoon.nc")
    # and nothing was queued nor sent: zero SMS, zero email
    smtp, sms = outbound
    assert OutboxMessage.objects.count() == 0
    assert sms.state.received == []
    assert smtp.received == []


# --- section 2: the two codes -------------------------------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_one_wrong_code_gives_the_single_error_without_saying_which(
    page, outbound, delivery_thread, clock, words
):
    # given a cardholder on the codes page
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    reach_codes_page(page, words, holder)
    sms, mail = received_codes(outbound, holder, words, count=1)
    wrong_sms = f"{(int(sms) + 1) % 10**8:08d}"
    wrong_mail = ("2" if mail[0] != "2" else "3") + mail[1:]
    for typed_sms, typed_mail in [(wrong_sms, mail), (sms, wrong_mail)]:
        # when one of the two codes is wrong
        submit_codes(page, words, typed_sms, typed_mail)
        # then one error, the same whichever code was wrong, and the person stays on step 2
        expect(page).to_have_url(_url(page, "/enrollment/verify/"))
        expect(page.locator("#error")).to_have_text(words.codes_failed)
        expect(page.locator(".error")).to_have_count(1)
        expect(page.get_by_label(words.sms_label, exact=True)).to_have_value("")
        expect(page.get_by_label(words.email_code_label, exact=True)).to_have_value("")
        expect(page.get_by_role("button", name=words.sign_out)).to_have_count(0)
    # when both codes are then typed right
    submit_codes(page, words, sms, mail)
    # then the methods page; the failures sent no new codes
    expect(page).to_have_url(_url(page, "/enrollment/methods/"))
    assert len(outbound[1].to(PHONE)) == 1
    assert len(outbound[0].to("marie@example.com")) == 1


@pytest.mark.parametrize("words", LANGUAGES)
def test_resend_the_codes_sends_new_codes_and_the_old_ones_fail(
    page, outbound, delivery_thread, clock, words
):
    # given a cardholder on the codes page with the first two codes received
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    reach_codes_page(page, words, holder)
    old_sms, old_mail = received_codes(outbound, holder, words, count=1)
    # when they ask again at once: the cooldown refuses, nothing more is queued
    page.get_by_role("button", name=words.resend, exact=True).click()
    expect(page.locator("#error")).to_have_text(words.cooldown)
    assert OutboxMessage.objects.count() == 2
    # when they ask for new codes 31 s later
    clock.advance(seconds=31)
    page.get_by_role("button", name=words.resend, exact=True).click()
    # then the notice shows and a second SMS and email arrive with other codes
    expect(page.locator("#notice")).to_have_text(words.resent)
    expect(page.locator(".error")).to_have_count(0)
    new_sms, new_mail = received_codes(outbound, holder, words, count=2)
    assert (new_sms, new_mail) != (old_sms, old_mail)
    # when the old codes are typed: they fail
    submit_codes(page, words, old_sms, old_mail)
    expect(page).to_have_url(_url(page, "/enrollment/verify/"))
    expect(page.locator("#error")).to_have_text(words.codes_failed)
    # when the new codes are typed: the methods page
    submit_codes(page, words, new_sms, new_mail)
    expect(page).to_have_url(_url(page, "/enrollment/methods/"))
    expect(page.locator("h1")).to_have_text(words.methods_title)


@pytest.mark.parametrize("words", LANGUAGES)
def test_back_on_the_codes_page_returns_to_step_one(page, outbound, delivery_thread, clock, words):
    # given a cardholder on the codes page
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    reach_codes_page(page, words, holder)
    # when
    page.get_by_role("link", name=words.back, exact=True).click()
    # then step 1, the email field empty, in the same language
    expect_step_one(page, words, message=None)
    expect(page.get_by_label(words.email_label, exact=True)).to_have_value("")


# --- section 4: choosing the ePin --------------------------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_epin_confirmation_mismatch_is_refused(page, outbound, delivery_thread, clock, words):
    # given a signed-in cardholder without an ePin on the password page
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    sign_in(page, words, outbound, holder)
    page.get_by_role("link", name=words.save_password, exact=True).click()
    # when the confirmation differs
    set_epin(page, words, "1234", "1243")
    # then the mismatch message on the password page, both fields emptied, no ePin stored
    expect(page).to_have_url(_url(page, "/enrollment/password/"))
    expect(page.locator("h1")).to_have_text(words.password_title)
    expect(page.locator("#error")).to_have_text(words.epin_mismatch)
    expect(page.locator(".error")).to_have_count(1)
    expect(page.get_by_label(words.password_label, exact=True)).to_have_value("")
    expect(page.get_by_label(words.confirmation_label, exact=True)).to_have_value("")
    assert stored_hash(holder) == ""
    # and back on the methods page the ePin method is still inactive
    page.get_by_role("link", name=words.cancel, exact=True).click()
    expect(page.locator("#method-epin .state")).to_have_text(words.inactive)
    expect(page.locator(".messages .message")).to_have_count(0)


GREEN = "rgb(231, 245, 234)"  # the .notice background: --ok on white


@pytest.mark.parametrize("words", LANGUAGES)
def test_the_confirmation_turns_green_and_active_while_it_matches_the_password(
    page, outbound, delivery_thread, clock, words
):
    # given a signed-in cardholder on the password page
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    sign_in(page, words, outbound, holder)
    page.get_by_role("link", name=words.save_password, exact=True).click()
    password = page.get_by_label(words.password_label, exact=True)
    confirmation = page.get_by_label(words.confirmation_label, exact=True)
    field, state = page.locator("#confirmation-field"), page.locator("#confirmation-state")
    # when the password is typed and the confirmation only begins it: not green, no word
    password.fill("1234")
    confirmation.press_sequentially("123")
    expect(field).not_to_have_class("field match")
    expect(state).to_have_text("")
    # when the confirmation repeats it: the box is green and says "actif"
    confirmation.press_sequentially("4")
    expect(field).to_have_class("field match")
    expect(state).to_have_text(words.confirmation_active)
    assert confirmation.evaluate("el => getComputedStyle(el).backgroundColor") == GREEN
    # when the password changes under it: no longer
    password.fill("1243")
    expect(field).not_to_have_class("field match")
    expect(state).to_have_text("")
    assert confirmation.evaluate("el => getComputedStyle(el).backgroundColor") != GREEN
    # a repeated password that is not 4 digits is not "active" either
    password.fill("12a")
    confirmation.fill("12a")
    expect(state).to_have_text("")
    # and the server still decides: a mismatch sent anyway is refused
    password.fill("1234")
    confirmation.fill("4321")
    page.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("#error")).to_have_text(words.epin_mismatch)
    assert stored_hash(holder) == ""


@pytest.mark.parametrize("words", LANGUAGES)
def test_the_success_message_closes_with_its_button_from_the_keyboard(
    page, outbound, delivery_thread, clock, words
):
    # given a cardholder who just set their ePin: the success message at the top right
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    sign_in(page, words, outbound, holder)
    page.get_by_role("link", name=words.save_password, exact=True).click()
    set_epin(page, words, "1234", "1234")
    message = page.locator(".messages .message")
    expect(message).to_have_text([words.enrolled])
    close = message.get_by_role("button", name=words.close_message, exact=True)
    expect(close).to_be_visible()
    # when they reach its close button with the keyboard and press Enter
    page.locator("body").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        if close.evaluate("el => el === document.activeElement"):
            break
    assert close.evaluate("el => el === document.activeElement"), "the close button is not reachable by Tab"
    page.keyboard.press("Enter")
    # then the message is gone, the focus is back on the page's content, and the page is unchanged
    expect(page.locator(".messages")).to_have_count(0)
    assert page.evaluate("document.activeElement.tagName") == "MAIN"
    expect(page.locator("h1")).to_have_text(words.methods_title)
    # and another message closes with a click (the sign-out one)
    page.get_by_role("button", name=words.sign_out).click()
    expect(page.locator(".messages .message")).to_have_text([words.signed_out])
    page.get_by_role("button", name=words.close_message, exact=True).click()
    expect(page.locator(".messages .message")).to_have_count(0)


@pytest.mark.parametrize("words", LANGUAGES)
def test_epin_that_is_not_four_digits_is_refused_and_the_epin_is_unchanged(
    page, outbound, delivery_thread, clock, words
):
    # given a cardholder whose ePin is 1234, signed in, on the password page
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    epin_set(cardholder=holder, epin="1234", confirmation="1234", ip="127.0.0.1")
    before = stored_hash(holder)
    sign_in(page, words, outbound, holder)
    page.get_by_role("link", name=words.change_password, exact=True).click()
    for bad in ["12ab", "123", "12345"]:
        # when the ePin (typed twice) is not exactly 4 digits
        set_epin(page, words, bad, bad)
        # then the 4-digits message, and the stored ePin stays 1234
        expect(page).to_have_url(_url(page, "/enrollment/password/"))
        expect(page.locator("#error")).to_have_text(words.epin_format)
        expect(page.locator(".error")).to_have_count(1)
        expect(page.locator(".messages .message")).to_have_count(0)
        assert stored_hash(holder) == before, bad
    assert epin_is(holder, "1234")


# --- section 6: changing the ePin later -------------------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_change_of_epin_through_the_same_path_does_not_ask_the_old_one(
    page, outbound, delivery_thread, clock, words
):
    # given a cardholder who enrolled earlier with ePin 1234
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    epin_set(cardholder=holder, epin="1234", confirmation="1234", ip="127.0.0.1")
    before = stored_hash(holder)
    # when they come back: email, the two codes
    sign_in(page, words, outbound, holder)
    # then the ePin method is already active and offers "Change the password"
    expect(page.locator("#method-epin .state")).to_have_text(words.active)
    expect(page.get_by_role("link", name=words.save_password, exact=True)).to_have_count(0)
    page.get_by_role("link", name=words.change_password, exact=True).click()
    # then the password page asks only the new ePin and its confirmation, not the old one
    expect(page.locator("h1")).to_have_text(words.password_title)
    expect(page.locator("#epin-form input[type=password]")).to_have_count(2)
    # when they type a new ePin twice
    set_epin(page, words, "5678", "5678")
    # then the success message, and the stored ePin is the new one
    expect(page).to_have_url(_url(page, "/enrollment/methods/"))
    expect(page.locator(".messages .message")).to_have_text([words.enrolled])
    expect(page.locator("#method-epin .state")).to_have_text(words.active)
    after = stored_hash(holder)
    assert after not in ("", before)
    assert epin_is(holder, "5678")
    assert not epin_is(holder, "1234")


# --- the session ends after 5 minutes without activity ------------------------------------------


@pytest.mark.parametrize("words", LANGUAGES)
def test_inactivity_of_more_than_five_minutes_ends_the_session(page, outbound, delivery_thread, clock, words):
    # given a signed-in cardholder
    holder = make_cardholder(email="marie@example.com", phone=PHONE)
    sign_in(page, words, outbound, holder)
    # when 295 s pass: the next page still shows, and counts as activity (the clock runs on: the
    # 5 s left cover the real time between the two pages, the accessibility check of the first included)
    clock.advance(seconds=295)
    page.get_by_role("link", name=words.save_password, exact=True).click()
    expect(page).to_have_url(_url(page, "/enrollment/password/"))
    expect(page.locator("h1")).to_have_text(words.password_title)
    # when 301 s pass without activity
    clock.advance(seconds=301)
    page.get_by_role("link", name=words.cancel, exact=True).click()
    # then step 1 with the session-ended message, and the session is gone
    expect_step_one(page, words, message=words.session_ended)
    header_is_usable(page, words)
    page.goto("/enrollment/methods/")
    expect_step_one(page, words, message=None)
    assert stored_hash(holder) == ""


@pytest.mark.parametrize("words", LANGUAGES)
def test_the_help_pages_of_the_footer(page, words):
    """The footer's two pages, in the chosen language (and, like every page here, through the
    accessibility gate of tests/browser/conftest.py)."""
    open_portal(page, words)
    for path in ("/enrollment/help/", "/enrollment/secure-shopping/"):
        page.locator(f".portal-links a[href='{path}']").click()
        expect(page).to_have_url(_url(page, path))
        expect(page.locator("html")).to_have_attribute("lang", words.lang)
        expect(page.locator("h1")).not_to_have_text("")
        page.go_back()
        expect(page.locator("h1")).to_have_text(words.welcome)
