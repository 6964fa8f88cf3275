"""Subscriber sign-in (docs/operators.md, Sign-in): right and wrong passwords, unknown addresses, lockout,
per-address rate limit, "mémoriser l'adresse mail", "rester identifié", sign-out everywhere."""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from django.db import connection
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.codes.models import CredentialThrottle
from guichet.delivery.models import OutboxMessage
from guichet.payonbill.subscribers.models import Mailbox
from guichet.payonbill.subscribers.sessions import subscribers_current
from guichet.payonbill.subscribers.signin import mailbox_signin
from tests.payonbill.subscribers.factories import multi_bal
from tests.payonbill.subscribers.helpers import (
    BLOCKED_FR,
    FAILED_FR,
    RATE_LIMITED_FR,
    REMEMBER,
    SESSION,
    deliver_all,
    error,
    fresh_browser,
    post_signin,
    shown_messages,
    signed_in_client,
    text,
)
from tests.support.codes import found

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MARIE = "marie@lagon.example"
PASSWORD = "Lagon-2026"


@pytest.fixture
def contract():
    return multi_bal(MARIE, "paul@lagon.example", password=PASSWORD)


def subscriber_settings(settings, **changes) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, subscribers=dataclasses.replace(settings.GUICHET.subscribers, **changes)
    )


# --- the page ---------------------------------------------------------------------------------


def test_the_signin_page_has_the_original_wording_in_french(contract):
    # when
    response = Client().get("/account/signin/?next=/pay/pay_123/")
    page = text(response)
    # then
    assert response.status_code == 200
    for wording in (
        "<h1>pour valider votre paiement avec internet+, identifiez-vous</h1>",
        ">adresse mail Lagon</label>",
        'placeholder="prenom.nom@lagon.example"',
        ">mot de passe</label>",
        ">mot de passe oublié\u00a0?</a>",
        ">mémoriser l'adresse mail</label>",
        ">rester identifié</label>",
        "<summary>Aide à la mémorisation</summary>",
        ">s'identifier</button>",
        "<h2>Confidentialité de votre mot de passe</h2>",
        "Votre mot de passe Lagon est strictement confidentiel. "
        "Vous ne devez en aucun cas le communiquer à un tiers.",
        "Lagon ne vous appellera jamais, ni ne vous enverra de mail ou de SMS pour vous demander "
        "votre mot de passe ou d'autres informations confidentielles.",
        "pendant 30 jours*",
        "*Durée pouvant être soumise à modification.",
    ):
        assert wording in page, wording
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"


def test_the_signin_page_in_english(contract):
    # given
    client = Client()
    client.cookies["django_language"] = "en"
    # when
    page = text(client.get("/account/signin/?next=/pay/pay_123/"))
    # then
    for wording in (
        "<h1>to confirm your payment with internet+, sign in</h1>",
        ">Lagon email address</label>",
        'placeholder="firstname.lastname@lagon.example"',
        ">forgot your password?</a>",
        ">remember my email address</label>",
        ">stay signed in</label>",
        "Your Lagon password is strictly confidential.",
    ):
        assert wording in page, wording


def test_outside_a_payment_the_page_names_the_customer_space(contract):
    page = text(Client().get("/account/signin/"))
    assert "<h1>identifiez-vous pour accéder à votre espace client</h1>" in page


# --- right and wrong ----------------------------------------------------------------------------


def test_the_right_password_signs_in_under_a_new_session_id_and_lands_on_next(contract):
    # given a browser that already has a session (e.g. the checkout's)
    client = Client()
    session = client.session
    session["checkout"] = "pay_123"
    session.save()
    before = session.session_key
    # when
    response = post_signin(client, "Marie@Lagon.example ", PASSWORD, next_url="/pay/pay_123/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/pay/pay_123/"
    after = client.cookies[SESSION].value
    assert after != before
    assert client.session["checkout"] == "pay_123"  # the checkout's state survives the new id
    assert client.session["sub_mailbox"] == Mailbox.objects.get(login=MARIE).pk
    assert client.get("/account/").status_code == 200
    key = f"mailbox:{Mailbox.objects.get(login=MARIE).pk}"
    [event] = AuditEvent.objects.filter(event="subscribers:password:verify")
    assert (event.outcome, event.subject) == ("success", key)
    [signin] = AuditEvent.objects.filter(event="subscribers:session:signin")
    assert (signin.subject, signin.ip, signin.detail) == (key, "127.0.0.1", {"stay": False})


def test_a_signed_in_customer_skips_the_signin_page(contract):
    client = signed_in_client(MARIE, PASSWORD)
    response = client.get("/account/signin/?next=/pay/pay_9/")
    assert (response.status_code, response["Location"]) == (302, "/pay/pay_9/")


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_next_must_be_a_local_path(contract, next_url):
    response = post_signin(Client(), MARIE, PASSWORD, next_url=next_url)
    assert (response.status_code, response["Location"]) == (302, "/account/")


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(contract, monkeypatch):
    # given: count the Argon2id verifications
    verified: list[str] = []
    real = PasswordHasher.verify

    def spy(self, hash, password):
        verified.append(hash[:10])
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    # when
    wrong_client, unknown_client = Client(), Client()
    wrong = post_signin(wrong_client, MARIE, "Wrong-2026")
    unknown = post_signin(unknown_client, "nobody@lagon.example", "Wrong-2026")
    # then: same status, same message, and each checked one Argon2id hash
    assert wrong.status_code == unknown.status_code == 400
    assert error(wrong) == error(unknown) == FAILED_FR
    assert verified == ["$argon2id$", "$argon2id$"]
    # and the address typed is kept, never the password
    for response, login in ((wrong, MARIE), (unknown, "nobody@lagon.example")):
        assert f'value="{login}"' in text(response)
        assert "Wrong-2026" not in text(response)
    assert "sub_mailbox" not in wrong_client.session
    assert "sub_mailbox" not in unknown_client.session
    assert set(
        AuditEvent.objects.filter(event="subscribers:password:verify").values_list("outcome", flat=True)
    ) == {"failure"}
    assert not any("nobody" in e.subject for e in AuditEvent.objects.all())


def test_five_failures_block_the_mailbox_and_alert_its_owner(contract, outbound, clock):
    smtp, sms = outbound
    client = Client()
    # when: five wrong passwords
    for _ in range(5):
        assert error(post_signin(client, MARIE, "Wrong-2026")) == FAILED_FR
    # then: even the right one is refused now, with the block message
    blocked = post_signin(client, MARIE, PASSWORD)
    assert blocked.status_code == 429
    assert error(blocked) == BLOCKED_FR
    assert "sub_mailbox" not in client.session
    # and the owner got one alert email, through the real SMTP server
    deliver_all()
    [mail] = smtp.to(MARIE)
    assert mail.subject == "Lagon - accès temporairement bloqué"
    assert (
        "Après plusieurs saisies erronées du mot de passe de votre adresse marie@lagon.example" in mail.body
    )
    assert PASSWORD not in mail.body
    assert smtp.to("paul@lagon.example") == []
    assert sms.state.received == []
    # when: the block is over (15 minutes)
    clock.advance(seconds=15 * 60 + 1)
    # then: the right password works again
    assert post_signin(client, MARIE, PASSWORD).status_code == 302


def test_an_unknown_address_is_blocked_the_same_way_and_nobody_is_told(contract, outbound):
    smtp, _ = outbound
    client = Client()
    for _ in range(5):
        assert error(post_signin(client, "nobody@lagon.example", "Wrong-2026")) == FAILED_FR
    blocked = post_signin(client, "nobody@lagon.example", "Wrong-2026")
    assert (blocked.status_code, error(blocked)) == (429, BLOCKED_FR)
    deliver_all()
    assert smtp.received == []
    assert OutboxMessage.objects.count() == 0
    # and the real mailbox is not affected
    assert post_signin(Client(), MARIE, PASSWORD).status_code == 302


def test_the_alert_reaches_the_owner_through_the_delivery_thread(transactional_db, outbound, delivery_thread):
    # given
    multi_bal(MARIE, password=PASSWORD)
    smtp, _ = outbound
    # when
    for _ in range(5):
        post_signin(Client(), MARIE, "Wrong-2026")
    # then
    [mail] = smtp.wait_for(MARIE)
    assert mail.subject == "Lagon - accès temporairement bloqué"


def test_sign_ins_are_rate_limited_per_client_address(contract, settings):
    # given
    subscriber_settings(settings, signin_ip_limit=3)
    client = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(3):
        post_signin(client, MARIE, "Wrong-2026")
    # when
    refused = post_signin(client, MARIE, PASSWORD)
    # then: refused before any check; another address still signs in
    assert (refused.status_code, error(refused)) == (429, RATE_LIMITED_FR)
    assert AuditEvent.objects.filter(event="subscribers:password:verify").count() == 3
    assert CredentialThrottle.objects.get(key__startswith="mailbox:").failures == 3
    assert post_signin(Client(REMOTE_ADDR="198.51.100.8"), MARIE, PASSWORD).status_code == 302


def test_an_empty_form_is_refused_without_any_check(contract):
    response = Client().post("/account/signin/", {"login": "", "password": ""})
    assert response.status_code == 400
    assert "Veuillez saisir votre adresse email." in text(response)
    assert "Veuillez saisir votre mot de passe." in text(response)
    assert AuditEvent.objects.filter(event="subscribers:password:verify").count() == 0


def test_an_old_cost_is_replaced_at_the_next_sign_in(contract, settings):
    # given a hash made with another cost
    before = Mailbox.objects.get(login=MARIE).password_hash
    subscriber_settings(settings, argon2_time_cost=2)
    # when
    result = mailbox_signin(login=MARIE, password=PASSWORD, ip="::1", language="fr")
    # then
    assert result.mailbox is not None
    after = Mailbox.objects.get(login=MARIE).password_hash
    assert before.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert after.startswith("$argon2id$v=19$m=8192,t=2,p=1$")


# --- "mémoriser l'adresse mail" -------------------------------------------------------------------


def test_remember_my_address_keeps_the_address_and_nothing_else(contract):
    # given
    client = Client()
    # when
    response = post_signin(client, MARIE, PASSWORD, remember=True)
    # then: a long-lived cookie holding the address only
    cookie = response.cookies[REMEMBER]
    assert cookie.value == MARIE
    assert cookie["max-age"] == 365 * 86400
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/account/"
    # when the browser comes back after signing out
    client.post("/account/signout/")
    page = text(client.get("/account/signin/"))
    # then the address is filled in and the box ticked, and nobody is signed in
    assert f'value="{MARIE}"' in page
    assert 'name="remember_email" id="id_remember_email" checked' in page
    assert client.get("/account/").status_code == 302


def test_the_remembered_address_alone_does_not_sign_in(contract):
    client = Client()
    client.cookies[REMEMBER] = MARIE
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/account/signin/?next=%2Faccount%2F"


def test_signing_in_without_the_box_forgets_the_address(contract):
    client = Client()
    post_signin(client, MARIE, PASSWORD, remember=True)
    client.post("/account/signout/")
    response = post_signin(client, MARIE, PASSWORD, remember=False)
    assert response.cookies[REMEMBER].value == ""
    assert response.cookies[REMEMBER]["max-age"] == 0


def test_no_address_is_remembered_after_a_failure(contract):
    response = post_signin(Client(), MARIE, "Wrong-2026", remember=True)
    assert REMEMBER not in response.cookies


# --- "rester identifié" ---------------------------------------------------------------------------


def test_without_stay_signed_in_the_session_ends_with_the_browser_and_after_inactivity(contract, clock):
    # when
    client = signed_in_client(MARIE, PASSWORD)
    cookie = client.cookies[SESSION]
    # then: a browser-session cookie
    assert (cookie["max-age"], cookie["expires"]) == ("", "")
    assert fresh_browser(client).get("/account/").status_code == 302
    # and inactivity ends it
    clock.advance(seconds=299)
    assert client.get("/account/").status_code == 200
    clock.advance(seconds=301)
    response = client.get("/account/")
    assert response.status_code == 302
    assert shown_messages(client.get(response["Location"])) == [
        "Votre session a pris fin. Veuillez vous identifier à nouveau."
    ]


def test_stay_signed_in_survives_a_browser_restart_for_the_configured_days(contract, clock):
    # when
    client = signed_in_client(MARIE, PASSWORD, stay=True)
    # then: a persistent cookie of 30 days, still good after a restart and hours of inactivity
    assert client.cookies[SESSION]["max-age"] == 30 * 86400
    restarted = fresh_browser(client)
    clock.advance(seconds=3 * 86400)
    assert restarted.get("/account/").status_code == 200
    assert restarted.get("/account/signin/?next=/pay/p1/")["Location"] == "/pay/p1/"
    # and it ends after 30 days
    clock.advance(seconds=27 * 86400 + 1)
    assert restarted.get("/account/").status_code == 302


def test_sign_out_ends_a_stay_signed_in_session(contract):
    client = signed_in_client(MARIE, PASSWORD, stay=True)
    old = client.cookies[SESSION].value
    response = client.post("/account/signout/")
    assert (response.status_code, response["Location"]) == (302, "/account/signin/")
    assert client.get("/account/").status_code == 302
    assert AuditEvent.objects.filter(event="subscribers:session:signout").count() == 1
    assert AuditEvent.objects.get(event="subscribers:session:signin").detail == {"stay": True}
    # the old session id is of no use to anyone
    thief = Client()
    thief.cookies[SESSION] = old
    assert thief.get("/account/").status_code == 302


def test_sign_out_everywhere_ends_every_session_of_the_mailbox(contract):
    # given: Marie on two browsers (one "rester identifié"), Paul on a third
    laptop = signed_in_client(MARIE, PASSWORD, stay=True)
    phone = signed_in_client(MARIE, PASSWORD)
    paul = signed_in_client("paul@lagon.example", PASSWORD)
    # when
    response = phone.post("/account/signout-everywhere/")
    # then
    assert (response.status_code, response["Location"]) == (302, "/account/signin/")
    assert shown_messages(phone.get("/account/signin/")) == ["Vous êtes déconnecté de tous vos appareils."]
    assert laptop.get("/account/").status_code == 302
    assert fresh_browser(laptop).get("/account/").status_code == 302
    assert phone.get("/account/").status_code == 302
    assert paul.get("/account/").status_code == 200
    assert AuditEvent.objects.filter(event="subscribers:session:signout_everywhere").count() == 1


def test_forms_need_the_csrf_token(contract):
    # given a browser that enforces CSRF like a real one
    client = Client(enforce_csrf_checks=True)
    page = text(client.get("/account/signin/"))
    token = found(CSRF, page)
    # when: a sign-in without the token, then with it
    without = client.post("/account/signin/", {"login": MARIE, "password": PASSWORD})
    signed = client.post(
        "/account/signin/", {"login": MARIE, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    # then
    assert without.status_code == 403
    assert signed.status_code == 302
    # and signing out needs a POST with the token too
    token = found(CSRF, text(client.get("/account/")))
    assert client.get("/account/signout/").status_code == 405
    assert client.post("/account/signout/").status_code == 403
    assert client.get("/account/").status_code == 200
    assert client.post("/account/signout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/account/").status_code == 302


def test_parallel_guesses_get_no_more_than_five_answers(transactional_db):
    # given
    multi_bal(MARIE, password=PASSWORD)

    def attempt(password: str) -> int:
        try:
            return post_signin(Client(), MARIE, password).status_code
        finally:
            connection.close()

    # when 12 browsers try wrong passwords at the same moment
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, ["Wrong-2026"] * 12))
    # then the attempts were counted one after the other: 5 answers, the others refused
    assert sorted(statuses) == [400] * 5 + [429] * 7
    assert AuditEvent.objects.filter(event="subscribers:password:verify", outcome="failure").count() == 5
    assert attempt(PASSWORD) == 429


def test_recognising_a_signed_in_customer_costs_one_query(contract, rf, django_assert_num_queries):
    # given a browser signed in with "rester identifié" (the checkout asks on every page)
    client = signed_in_client(MARIE, PASSWORD, stay=True)
    request = rf.get("/pay/pay_1/")
    request.session = client.session
    assert request.session.get("sub_mailbox")  # the session is read before counting
    # when / then: the mailbox with its contract, in one query (the session was loaded above)
    with django_assert_num_queries(1):
        mailbox = subscribers_current(request)
    assert mailbox is not None
    assert (mailbox.login, mailbox.contract.number) == (MARIE, contract.number)
