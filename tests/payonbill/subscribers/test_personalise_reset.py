"""Personalisation of mono-BAL contracts ("Phase de personnalisation") and the forgotten
password (an email code or link, single use, 10 minutes). Emails are read from the real SMTP server."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.codes.models import CredentialThrottle
from guichet.delivery.models import OutboxMessage
from guichet.payonbill.subscribers.models import Mailbox
from tests.payonbill.subscribers.factories import make_contract, mono_bal, multi_bal
from tests.payonbill.subscribers.helpers import (
    BLOCKED_FR,
    FAILED_FR,
    deliver_all,
    error,
    field_errors,
    post_signin,
    shown_messages,
    signed_in_client,
    text,
)
from tests.support.codes import found

pytestmark = pytest.mark.django_db

PERSONALISE_URL = "/account/personalise/?next=%2Fpay%2Fpay_1%2F"
LINK = re.compile(r"^(http://\S+/account/reset/\?\S+)\r?$", re.M)
CODE = re.compile(r"utilisable une seule fois\u00a0: ([0-9A-Za-z]{5})\r?$", re.M)
CODE_EN = re.compile(r"usable once: ([0-9A-Za-z]{5})\r?$", re.M)


def personalise(client: Client, login: str, password: str, confirmation: str | None = None):
    return client.post(
        PERSONALISE_URL,
        {"login": login, "password": password, "confirmation": confirmation or password},
    )


# --- personalisation -------------------------------------------------------------------------------


def test_a_mono_bal_subscriber_must_personalise_before_anything_else():
    # given a contract with one mailbox, never personalised
    mailbox = mono_bal(login="lagon0001", password="Init-0001")
    client = Client()
    # when they sign in with the operator's initial login, from a checkout
    response = post_signin(client, "lagon0001", "Init-0001", next_url="/pay/pay_1/")
    # then the personalisation screen comes first; nothing is signed in yet
    assert (response.status_code, response["Location"]) == (302, PERSONALISE_URL)
    page = text(client.get(PERSONALISE_URL))
    assert "<h1>Personnalisez votre adresse mail et votre mot de passe</h1>" in page
    assert "vous demande désormais de vous identifier individuellement" in page
    assert ">votre nouvelle adresse mail Lagon</label>" in page
    assert "Elle se termine par @lagon.example." in page
    assert client.get("/account/").status_code == 302
    assert client.get("/account/signin/?next=/pay/pay_1/").status_code == 200
    # when they choose their own login and password
    done = personalise(client, "Jean.W@lagon.example", "Mon-choix-42")
    # then they land on the checkout, signed in, personalised
    assert (done.status_code, done["Location"]) == (302, "/pay/pay_1/")
    mailbox = Mailbox.objects.get(pk=mailbox.pk)
    assert (mailbox.login, mailbox.personalised, mailbox.imported_login) == (
        "jean.w@lagon.example",
        True,
        "lagon0001",
    )
    assert client.get("/account/").status_code == 200
    assert shown_messages(client.get("/account/")) == []
    # and from now on the old credentials fail and the new ones sign in directly
    assert error(post_signin(Client(), "lagon0001", "Init-0001")) == FAILED_FR
    assert post_signin(Client(), "jean.w@lagon.example", "Mon-choix-42")["Location"] == "/account/"
    assert AuditEvent.objects.filter(event="subscribers:mailbox:personalised", outcome="success").count() == 1


def test_multi_bal_subscribers_sign_in_directly():
    multi_bal("paul@lagon.example", "lea@lagon.example", password="Lagon-2026")
    response = post_signin(Client(), "paul@lagon.example", "Lagon-2026", next_url="/pay/pay_1/")
    assert response["Location"] == "/pay/pay_1/"


def test_a_multi_bal_contract_signs_in_directly_even_with_a_mailbox_not_personalised():
    make_contract(mailboxes=[("lagon0002", "Init-0002", False), ("lea@lagon.example", "Lagon-2026", True)])
    response = post_signin(Client(), "lagon0002", "Init-0002", next_url="/pay/pay_1/")
    assert response["Location"] == "/pay/pay_1/"


def test_an_already_personalised_mono_bal_signs_in_directly():
    make_contract(mailboxes=[("jean@lagon.example", "Lagon-2026", True)])
    assert post_signin(Client(), "jean@lagon.example", "Lagon-2026")["Location"] == "/account/"


@pytest.mark.parametrize(
    ("login", "password", "confirmation", "errors"),
    [
        ("jean", "Mon-choix-42", None, ["Veuillez saisir une adresse email valide."]),
        ("jean@gmail.com", "Mon-choix-42", None, ["Votre adresse doit se terminer par @lagon.example."]),
        (
            "marie@lagon.example",
            "Mon-choix-42",
            None,
            ["Cette adresse est déjà prise. Veuillez en choisir une autre."],
        ),
        ("jean@lagon.example", "court1", None, ["Le mot de passe doit comporter de 8 à 128 caractères."]),
        (
            "jean@lagon.example",
            "seulementdeslettres",
            None,
            ["Le mot de passe doit contenir des lettres et des chiffres."],
        ),
        (
            "jean@lagon.example",
            "Init-0001",
            None,
            ["Veuillez choisir un mot de passe différent de votre mot de passe actuel."],
        ),
        (
            "jean@lagon.example",
            "Mon-choix-42",
            "Mon-choix-43",
            ["Les deux mots de passe sont différents. Veuillez saisir deux fois le même mot de passe."],
        ),
        ("", "", None, ["Veuillez choisir votre adresse mail.", "Veuillez choisir un mot de passe."]),
    ],
    ids=["not-an-address", "other-domain", "taken", "short", "letters-only", "same", "mismatch", "empty"],
)
def test_a_refused_choice_says_why_and_changes_nothing(login, password, confirmation, errors):
    # given
    multi_bal("marie@lagon.example", "paul@lagon.example")
    mailbox = mono_bal(login="lagon0001", password="Init-0001")
    client = Client()
    post_signin(client, "lagon0001", "Init-0001", next_url="/pay/pay_1/")
    # when
    response = personalise(client, login, password, confirmation)
    # then
    assert response.status_code == 400
    assert field_errors(response)[: len(errors)] == errors
    assert password not in text(response) or not password
    after = Mailbox.objects.get(pk=mailbox.pk)
    assert (after.login, after.personalised, after.session_epoch) == (
        "lagon0001",
        False,
        mailbox.session_epoch,
    )
    assert client.get("/account/").status_code == 302


def test_the_personalisation_screen_expires_with_inactivity(clock):
    mono_bal(login="lagon0001", password="Init-0001")
    client = Client()
    post_signin(client, "lagon0001", "Init-0001", next_url="/pay/pay_1/")
    clock.advance(seconds=301)
    response = personalise(client, "jean@lagon.example", "Mon-choix-42")
    assert response["Location"] == "/account/signin/?next=%2Fpay%2Fpay_1%2F"
    assert not Mailbox.objects.get().personalised


def test_stay_signed_in_and_remember_carry_over_the_personalisation():
    mono_bal(login="lagon0001", password="Init-0001")
    client = Client()
    post_signin(client, "lagon0001", "Init-0001", stay=True, remember=True, next_url="/pay/pay_1/")
    response = personalise(client, "jean@lagon.example", "Mon-choix-42")
    assert response.cookies["guichet_sub_email"].value == "jean@lagon.example"
    assert client.cookies["guichet_session"]["max-age"] == 30 * 86400


def test_the_personalisation_page_without_a_pending_sign_in_goes_to_the_signin():
    response = Client().get(PERSONALISE_URL)
    assert response["Location"] == "/account/signin/?next=%2Fpay%2Fpay_1%2F"


# --- forgotten password ------------------------------------------------------------------------


def ask_reset(client: Client, login: str, *, next_url: str = "/pay/pay_1/"):
    return client.post(f"/account/forgot/?next={next_url}", {"login": login})


def reset(client: Client, code: str, password: str, confirmation: str | None = None):
    return client.post(
        "/account/reset/?next=/pay/pay_1/",
        {"code": code, "password": password, "confirmation": confirmation or password},
    )


def received(smtp, address: str, count: int = 1) -> tuple[str, str]:
    deliver_all()
    mails = smtp.to(address)
    assert len(mails) == count
    body = mails[-1].body
    assert mails[-1].subject == "Lagon - votre code pour choisir un nouveau mot de passe"
    code, link = CODE.search(body), LINK.search(body)
    assert code is not None, body
    assert link is not None, body
    return code.group(1), link.group(1)


SENT_FR = (
    "Si cette adresse est connue, un mail contenant un code valable 10 minutes vient de lui être envoyé. "
    "Pensez à vérifier vos courriers indésirables."
)


def test_forgot_password_sends_a_single_use_code_that_sets_a_new_password(outbound, clock):
    # given Marie, signed in on another browser
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    other = signed_in_client("marie@lagon.example", "Lagon-2026", stay=True)
    client = Client()
    # when she asks for a code
    asked = ask_reset(client, "Marie@lagon.example")
    # then the code page, and an email with a 5-character code and a link
    assert (asked.status_code, asked["Location"]) == (302, "/account/reset/?next=%2Fpay%2Fpay_1%2F")
    assert shown_messages(client.get(asked["Location"])) == [SENT_FR]
    code, _link = received(smtp, "marie@lagon.example")
    # when she types it with a new password
    clock.advance(seconds=9 * 60)
    done = reset(client, code, "Nouveau-2027")
    # then she is sent to the sign-in, where only the new password works
    assert (done.status_code, done["Location"]) == (302, "/account/signin/?next=%2Fpay%2Fpay_1%2F")
    assert shown_messages(client.get(done["Location"])) == [
        "Votre mot de passe a été modifié. Veuillez vous identifier avec celui-ci."
    ]
    assert error(post_signin(Client(), "marie@lagon.example", "Lagon-2026")) == FAILED_FR
    assert post_signin(Client(), "marie@lagon.example", "Nouveau-2027").status_code == 302
    # and every other session ended, and the owner was told
    assert other.get("/account/").status_code == 302
    deliver_all()
    assert [m.subject for m in smtp.to("marie@lagon.example")][1:] == [
        "Lagon - votre mot de passe a été modifié"
    ]
    # and the reset is over in this browser: the code page sends back to "forgot"
    again = reset(client, code, "Encore-2028")
    assert (again.status_code, again["Location"]) == (302, "/account/forgot/?next=%2Fpay%2Fpay_1%2F")


def test_the_code_is_single_use_even_through_the_link_again(outbound):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    client = Client()
    ask_reset(client, "marie@lagon.example")
    code, link = received(smtp, "marie@lagon.example")
    assert reset(client, code, "Nouveau-2027").status_code == 302
    # when the same browser opens the email's link again and replays the code
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200
    replay = reset(client, code, "Encore-2028")
    # then
    assert (replay.status_code, error(replay)) == (
        400,
        "Le code est incorrect ou a expiré. Recevoir un nouveau code",
    )
    assert post_signin(Client(), "marie@lagon.example", "Nouveau-2027").status_code == 302
    assert error(post_signin(Client(), "marie@lagon.example", "Encore-2028")) == FAILED_FR


def test_the_code_expires_after_10_minutes(outbound, clock):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    client = Client()
    ask_reset(client, "marie@lagon.example")
    code, _ = received(smtp, "marie@lagon.example")
    clock.advance(seconds=10 * 60 + 1)
    response = reset(client, code, "Nouveau-2027")
    assert response.status_code == 400
    assert error(response).startswith("Le code est incorrect ou a expiré.")
    assert post_signin(Client(), "marie@lagon.example", "Lagon-2026").status_code == 302


def test_the_link_of_the_email_works_in_another_browser(outbound):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    ask_reset(Client(), "marie@lagon.example")
    code, link = received(smtp, "marie@lagon.example")
    assert parse_qs(urlsplit(link).query)["c"] == [code]
    # when the link is opened in the mail app's browser
    browser = Client()
    page = browser.get(link.removeprefix("http://127.0.0.1:8000"))
    # then the code is filled in; opening the link changes nothing by itself
    assert page.status_code == 200
    assert f'value="{code}"' in text(page)
    assert post_signin(Client(), "marie@lagon.example", "Lagon-2026").status_code == 302
    # and the new password can be set from there
    assert reset(browser, code, "Nouveau-2027")["Location"].startswith("/account/signin/")


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(outbound):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    known, unknown = Client(), Client()
    a = ask_reset(known, "marie@lagon.example")
    b = ask_reset(unknown, "nobody@lagon.example")
    assert (a.status_code, a["Location"]) == (b.status_code, b["Location"])
    assert shown_messages(known.get(a["Location"])) == shown_messages(unknown.get(b["Location"])) == [SENT_FR]
    deliver_all()
    assert [m.to for m in smtp.received] == ["marie@lagon.example"]
    # guessed codes for the unknown address fail like wrong ones, and are blocked after 5 the same way
    for _ in range(5):
        assert error(reset(unknown, "abcde", "Nouveau-2027")).startswith("Le code est incorrect ou a expiré.")
    blocked = reset(unknown, "abcde", "Nouveau-2027")
    assert (blocked.status_code, error(blocked)) == (429, BLOCKED_FR)


def test_five_wrong_codes_block_the_reset(outbound):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    client = Client()
    ask_reset(client, "marie@lagon.example")
    code, _ = received(smtp, "marie@lagon.example")
    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    for _ in range(5):
        assert reset(client, wrong, "Nouveau-2027").status_code == 400
    blocked = reset(client, code, "Nouveau-2027")
    assert (blocked.status_code, error(blocked)) == (429, BLOCKED_FR)
    assert post_signin(Client(), "marie@lagon.example", "Lagon-2026").status_code == 302


def test_a_reset_lifts_the_block_of_the_password(outbound):
    smtp, _ = outbound
    mailbox = multi_bal("marie@lagon.example", password="Lagon-2026").mailboxes.get()
    for _ in range(5):
        post_signin(Client(), "marie@lagon.example", "Wrong-2026")
    assert CredentialThrottle.objects.get(key=mailbox.throttle_key).blocked_until is not None
    client = Client()
    ask_reset(client, "marie@lagon.example")
    deliver_all()
    code = found(CODE, smtp.to("marie@lagon.example")[-1].body)
    reset(client, code, "Nouveau-2027")
    assert post_signin(Client(), "marie@lagon.example", "Nouveau-2027").status_code == 302


def test_a_refused_new_password_keeps_the_code_usable(outbound):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    client = Client()
    ask_reset(client, "marie@lagon.example")
    code, _ = received(smtp, "marie@lagon.example")
    refused = reset(client, code, "Nouveau-2027", "Nouveau-2028")
    assert field_errors(refused) == [
        "Les deux mots de passe sont différents. Veuillez saisir deux fois le même mot de passe."
    ]
    assert reset(client, code, "Nouveau-2027").status_code == 302


def test_the_email_is_in_english_when_the_page_is(outbound):
    smtp, _ = outbound
    multi_bal("marie@lagon.example", password="Lagon-2026")
    client = Client()
    client.cookies["django_language"] = "en"
    ask_reset(client, "marie@lagon.example")
    deliver_all()
    [mail] = smtp.to("marie@lagon.example")
    assert mail.subject == "Lagon - your code to choose a new password"
    assert CODE_EN.search(mail.body)


def test_a_mailbox_without_an_address_cannot_get_a_code(outbound):
    smtp, _ = outbound
    mono_bal(login="lagon0001", password="Init-0001")
    response = ask_reset(Client(), "lagon0001")
    assert response.status_code == 302
    deliver_all()
    assert smtp.received == []
    assert OutboxMessage.objects.count() == 0
