"""The enrollment portal's server side, through Django's test Client.

Codes are read from what the real SMTP server and SMS receiver got, never from the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.codes import policy
from guichet.codes.models import CredentialThrottle, OneTimeCode, RateBucket
from guichet.core.masking import mask_pan
from guichet.delivery.models import OutboxMessage
from guichet.delivery.worker import deliver_due
from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import epin_set, epin_verify
from tests.support.factories import make_cardholder, make_pan
from tests.support.fixtures import email_code, sms_code
from tests.support.paths import ROOT
from tests.support.servers import SmsGateway, SmtpServer

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as HttpResponse

pytestmark = pytest.mark.django_db

SESSION = "guichet_session"
FAILED_FR = "La connexion avec la vérification SMS et Email a échoué."
FAILED_EN = "The connection with SMS and Email verification failed."
UNKNOWN_FR = (
    "Votre email n'est pas reconnu. Veuillez consulter la rubrique Aide ci-dessous "
    "pour connaître la démarche à suivre."
)
EXPIRED_FR = (
    "Vos codes ont expiré. Cliquez sur «\u00a0Renvoyer les codes\u00a0» pour en recevoir de nouveaux."
)
BLOCKED_FR = (
    "Après trop de tentatives infructueuses, l'accès est temporairement bloqué. Veuillez réessayer plus tard."
)
RATE_LIMITED_FR = "Trop de tentatives depuis votre connexion. Veuillez réessayer dans quelques minutes."
TOO_LONG_FR = "Ce champ est trop long."
EPIN_FORMAT_FR = "Le mot de passe comporte exactement 4 chiffres."
EPIN_MISMATCH_FR = "Veuillez confirmer le mot de passe défini en le saisissant à nouveau."
EPIN_CONFIRM_REQUIRED_FR = "Veuillez confirmer le mot de passe en le saisissant à nouveau."
ALREADY_SUBMITTED_FR = "Ce formulaire a déjà été envoyé. Veuillez vérifier la page et recommencer."
IDLE_FR = "Votre session a pris fin après 5 minutes d'inactivité. Veuillez recommencer."
SIGNED_OUT_FR = "Vous êtes déconnecté."
FORM_EXPIRED_FR = "Ce formulaire a expiré"

NONCE = re.compile(r'name="nonce" value="([^"]+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ERROR = re.compile(r'<p class="error" role="alert" id="error">.*?</p>', re.S)

Outbound = tuple[SmtpServer, SmsGateway]


def text(response: HttpResponse) -> str:
    return html.unescape(response.content.decode())


def nonce(response: HttpResponse) -> str:
    match = NONCE.search(response.content.decode())
    assert match, "no nonce in the page"
    return match.group(1)


def csrf(response: HttpResponse) -> str:
    match = CSRF.search(response.content.decode())
    assert match, "no CSRF token in the page"
    return match.group(1)


def submit_email(client: Client, email: str, **extra: Any) -> HttpResponse:
    page = client.get("/enrollment/", **extra)
    return client.post("/enrollment/", {"email": email, "csrfmiddlewaretoken": csrf(page)}, **extra)


def received_codes(outbound: Outbound, holder: Cardholder) -> tuple[str, str]:
    """Deliver the outbox and read the latest SMS and email codes the holder received."""
    smtp, sms = outbound
    deliver_due()
    return sms_code(sms.to(holder.phone)[-1]["text"]), email_code(smtp.to(holder.email)[-1].body)


def submit_codes(client: Client, sms: str, email: str, **extra: Any) -> HttpResponse:
    page = client.get("/enrollment/verify/")
    data = {"nonce": nonce(page), "csrfmiddlewaretoken": csrf(page), "action": "verify"}
    return client.post("/enrollment/verify/", {**data, "sms_code": sms, "email_code": email}, **extra)


def resend(client: Client) -> HttpResponse:
    page = client.get("/enrollment/verify/")
    data = {"nonce": nonce(page), "csrfmiddlewaretoken": csrf(page), "action": "resend"}
    return client.post("/enrollment/verify/", data)


def sign_in(client: Client, outbound: Outbound, holder: Cardholder) -> None:
    assert submit_email(client, holder.email)["Location"] == "/enrollment/verify/"
    response = submit_codes(client, *received_codes(outbound, holder))
    assert response.status_code == 302
    assert response["Location"] == "/enrollment/methods/"


def wrong_sms(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def wrong_email(code: str) -> str:
    return ("3" if code[0] == "2" else "2") + code[1:]


def signed_in(client: Client) -> bool:
    return client.get("/enrollment/methods/").status_code == 200


def sent_count() -> tuple[int, int]:
    return OutboxMessage.objects.count(), OneTimeCode.objects.count()


# --- step 1: the email ----------------------------------------------------------------------------


def test_unknown_email_shows_the_original_message_and_sends_nothing(outbound):
    # given
    smtp, sms = outbound
    make_cardholder(email="known@example.com", phone="+687750101")
    # when
    response = submit_email(Client(), "s.bonino@lagoon.nc")
    deliver_due()
    # then
    assert response.status_code == 200
    assert text(response).count(UNKNOWN_FR) == 1
    assert sent_count() == (0, 0)
    assert smtp.received == []
    assert sms.state.received == []


def test_known_email_sends_exactly_one_sms_code_and_one_email_code(outbound):
    # given
    smtp, sms = outbound
    holder = make_cardholder(email="marie@example.com", phone="+687750102")
    # when
    response = submit_email(Client(), "Marie@Example.com")
    delivered = deliver_due()
    # then
    assert response.status_code == 302
    assert response["Location"] == "/enrollment/verify/"
    assert delivered == 2
    [sms_message] = sms.state.received
    [mail] = smtp.received
    assert sms_message["to"] == "+687750102"
    assert mail.to == "marie@example.com"
    sms_value, email_value = sms_code(sms_message["text"]), email_code(mail.body)
    assert re.fullmatch(r"[0-9]{8}", sms_value)
    assert re.fullmatch(r"[0-9A-Za-z]{5}", email_value)
    # and the database holds no clear code
    rows = list(OneTimeCode.objects.filter(subject=holder.portal_throttle_key).values())
    assert len(rows) == 2
    assert not any(
        code in str(value) for row in rows for value in row.values() for code in (sms_value, email_value)
    )


# --- step 2: the two codes ------------------------------------------------------------------------


def test_wrong_sms_code_and_wrong_email_code_give_the_same_single_error(outbound):
    # given
    holder = make_cardholder(email="same@example.com", phone="+687750103")
    client = Client()
    submit_email(client, holder.email)
    right_sms, right_email = received_codes(outbound, holder)
    # when
    bad_sms = submit_codes(client, wrong_sms(right_sms), right_email)
    bad_email = submit_codes(client, right_sms, wrong_email(right_email))
    # then both answers are the same page, with the one French error and no typed code echoed
    assert bad_sms.status_code == bad_email.status_code == 400
    [error_sms] = ERROR.findall(bad_sms.content.decode())
    [error_email] = ERROR.findall(bad_email.content.decode())
    assert error_sms.encode() == error_email.encode()
    assert html.unescape(error_sms) == f'<p class="error" role="alert" id="error">{FAILED_FR}</p>'

    def without_tokens(response: HttpResponse) -> bytes:
        body = response.content.decode()
        return CSRF.sub("", NONCE.sub("", body)).encode()

    assert without_tokens(bad_sms) == without_tokens(bad_email)
    assert right_sms not in bad_sms.content.decode()
    assert right_email not in bad_email.content.decode()
    assert not signed_in(client)
    assert CredentialThrottle.objects.get(key=holder.portal_throttle_key).failures == 2


def test_right_codes_renew_the_session_id_and_show_the_masked_cards(outbound):
    # given a holder with two cards
    pans = [make_pan(), make_pan("497072")]
    holder = make_cardholder(email="two@example.com", phone="+687750123", pans=pans)
    client = Client()
    submit_email(client, holder.email)
    before = client.cookies[SESSION].value
    # when
    response = submit_codes(client, *received_codes(outbound, holder))
    # then
    assert response.status_code == 302
    assert response["Location"] == "/enrollment/methods/"
    after = client.cookies[SESSION].value
    assert after != before
    methods = client.get("/enrollment/methods/")
    assert methods.status_code == 200
    page = text(methods)
    for pan in pans:
        assert mask_pan(pan[:6], pan[-4:], len(pan)) in page
        assert pan not in page
    assert "xxxxxxx23" in page
    assert "750123" not in page
    # and the session id from before sign-in gives no access
    old = Client()
    old.cookies[SESSION] = before
    assert old.get("/enrollment/methods/")["Location"] == "/enrollment/"


def test_codes_are_accepted_9_minutes_59_after_sending(outbound, clock):
    # given
    holder = make_cardholder(email="late@example.com", phone="+687750104")
    client = Client()
    submit_email(client, holder.email)
    codes = received_codes(outbound, holder)
    clock.advance(seconds=599)
    # when
    response = submit_codes(client, *codes)
    # then
    assert response["Location"] == "/enrollment/methods/"
    assert signed_in(client)


def test_codes_10_minutes_01_after_sending_show_the_expired_message_and_count_no_failure(outbound, clock):
    # given
    holder = make_cardholder(email="expired@example.com", phone="+687750105")
    client = Client()
    submit_email(client, holder.email)
    codes = received_codes(outbound, holder)
    clock.advance(seconds=601)
    # when
    response = submit_codes(client, *codes)
    # then
    assert response.status_code == 400
    assert text(response).count(EXPIRED_FR) == 1
    assert FAILED_FR not in text(response)
    assert not signed_in(client)
    assert CredentialThrottle.objects.get(key=holder.portal_throttle_key).failures == 0
    assert not AuditEvent.objects.filter(event="enrollment:code:verify").exists()


def test_resent_codes_replace_the_earlier_ones(outbound, clock):
    # given
    holder = make_cardholder(email="resend@example.com", phone="+687750106")
    client = Client()
    submit_email(client, holder.email)
    old = received_codes(outbound, holder)
    clock.advance(seconds=31)
    # when
    response = resend(client)
    new = received_codes(outbound, holder)
    # then the old pair fails and the new pair signs in
    assert response.status_code == 200
    assert new != old
    assert text(submit_codes(client, *old)).count(FAILED_FR) == 1
    assert submit_codes(client, *new)["Location"] == "/enrollment/methods/"


COOLDOWN_FR = (
    "Des codes vous ont été envoyés il y a moins de {} secondes. Veuillez les utiliser, "
    "ou patienter avant d'en demander de nouveaux."
)


def test_a_resend_within_the_cooldown_says_how_long_the_cooldown_is(outbound, clock):
    # given codes just sent
    holder = make_cardholder(email="cooldown@example.com", phone="+687750107")
    client = Client()
    submit_email(client, holder.email)
    clock.advance(seconds=29)
    # when new codes are asked for within the 30 s
    response = resend(client)
    # then the message names the cooldown the codes core applies, and nothing more is queued
    assert response.status_code == 200
    assert ERROR.findall(text(response)) == [
        f'<p class="error" role="alert" id="error">{COOLDOWN_FR.format(30)}</p>'
    ]
    assert sent_count() == (2, 2)
    # and typing the email again says the same, on the codes page
    again = submit_email(client, holder.email)
    assert again["Location"] == "/enrollment/verify/"
    assert text(client.get("/enrollment/verify/")).count(COOLDOWN_FR.format(30)) == 1


def test_the_cooldown_message_follows_the_cooldown(outbound, clock, monkeypatch):
    monkeypatch.setattr(policy, "RESEND_COOLDOWN", dt.timedelta(seconds=45))
    holder = make_cardholder(email="cooldown45@example.com", phone="+687750108")
    client = Client()
    submit_email(client, holder.email)
    clock.advance(seconds=40)
    assert text(resend(client)).count(COOLDOWN_FR.format(45)) == 1
    client.post("/i18n/setlang/", {"language": "en", "next": "/enrollment/verify/"})
    clock.advance(seconds=1)
    assert (
        "Codes were sent less than 45 seconds ago. Please use them, or wait before asking for new ones."
        in text(resend(client))
    )


def test_the_docs_give_the_cooldown_the_code_applies():
    readme = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    seconds = int(policy.RESEND_COOLDOWN.total_seconds())
    said = re.findall(r"(\d+) s cooldown", readme)
    assert said
    assert set(said) == {str(seconds)}


def test_five_wrong_attempts_block_the_sixth_even_with_the_right_codes_and_alert_the_owner(outbound, clock):
    # given
    smtp, _ = outbound
    holder = make_cardholder(email="blocked@example.com", phone="+687750107")
    client = Client()
    submit_email(client, holder.email)
    right_sms, right_email = received_codes(outbound, holder)
    # when 5 wrong pairs are typed
    for _ in range(5):
        response = submit_codes(client, wrong_sms(right_sms), right_email)
        assert response.status_code == 400
        assert text(response).count(FAILED_FR) == 1
    # then the 6th attempt, with the right codes, is refused
    sixth = submit_codes(client, right_sms, right_email)
    assert sixth.status_code == 429
    assert text(sixth).count(BLOCKED_FR) == 1
    assert not signed_in(client)
    # and the owner is told by email, once
    [alert] = OutboxMessage.objects.filter(template="credential_blocked")
    assert (alert.channel, alert.recipient) == ("email", "blocked@example.com")
    deliver_due()
    [mail] = [m for m in smtp.to("blocked@example.com") if "bloqué" in m.subject]
    assert (
        mail.subject == f"{django_settings.GUICHET.branding.issuer_short_name} - accès temporairement bloqué"
    )
    assert (
        AuditEvent.objects.filter(
            event="credential:holder:blocked", subject=holder.portal_throttle_key
        ).count()
        == 1
    )


def test_oversized_code_gets_a_clear_message_and_counts_no_failure(outbound):
    # given
    holder = make_cardholder(email="bigcode@example.com", phone="+687750108")
    client = Client()
    submit_email(client, holder.email)
    right_sms, right_email = received_codes(outbound, holder)
    # when
    response = submit_codes(client, "1" * 1000, right_email)
    # then
    assert response.status_code == 400
    assert text(response).count(TOO_LONG_FR) == 1
    assert CredentialThrottle.objects.get(key=holder.portal_throttle_key).failures == 0
    assert OneTimeCode.objects.filter(consumed_at__isnull=False).count() == 0
    assert submit_codes(client, right_sms, right_email)["Location"] == "/enrollment/methods/"


# --- the ePin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epin", "confirmation", "messages"),
    [
        ("12a4", "12a4", [EPIN_FORMAT_FR]),
        ("123", "123", [EPIN_FORMAT_FR]),
        ("12345", "12345", [EPIN_FORMAT_FR]),
        ("1234\n", "1234\n", [EPIN_FORMAT_FR]),
        ("١٢٣٤", "١٢٣٤", [EPIN_FORMAT_FR]),
        ("1234", "1243", [EPIN_MISMATCH_FR]),
        ("", "", [EPIN_FORMAT_FR, EPIN_CONFIRM_REQUIRED_FR]),
    ],
)
def test_bad_epin_is_refused_with_the_right_message_and_changes_nothing(
    outbound, epin, confirmation, messages
):
    # given a signed-in holder who already has an ePin
    holder = make_cardholder(email="badpin@example.com", phone="+687750109")
    epin_set(cardholder=holder, epin="4321", confirmation="4321", ip="127.0.0.1")
    before = Cardholder.objects.get(pk=holder.pk)
    client = Client()
    sign_in(client, outbound, holder)
    page = client.get("/enrollment/password/")
    # when
    response = client.post(
        "/enrollment/password/",
        {"nonce": nonce(page), "csrfmiddlewaretoken": csrf(page), "epin": epin, "confirmation": confirmation},
    )
    # then
    assert response.status_code == 400
    [error] = ERROR.findall(response.content.decode())
    for message in messages:
        assert message in html.unescape(error)
    after = Cardholder.objects.get(pk=holder.pk)
    assert (after.epin_hash, after.epin_set_at) == (before.epin_hash, before.epin_set_at)
    assert not AuditEvent.objects.filter(event="cards:epin:changed").exists()


def test_epin_is_saved_once_and_a_replayed_form_changes_nothing(outbound):
    # given
    holder = make_cardholder(email="replay@example.com", phone="+687750110")
    client = Client()
    sign_in(client, outbound, holder)
    page = client.get("/enrollment/password/")
    form = {"nonce": nonce(page), "csrfmiddlewaretoken": csrf(page), "epin": "1234", "confirmation": "1234"}
    first = client.post("/enrollment/password/", form)
    saved = Cardholder.objects.get(pk=holder.pk)
    assert first["Location"] == "/enrollment/methods/"
    assert saved.has_epin
    # when the same form is sent again, as is and with other digits
    replay = client.post("/enrollment/password/", form)
    replay_page = client.get(replay["Location"])
    other = client.post("/enrollment/password/", {**form, "epin": "5678", "confirmation": "5678"})
    # then
    assert replay["Location"] == other["Location"] == "/enrollment/methods/"
    assert text(replay_page).count(ALREADY_SUBMITTED_FR) == 1
    after = Cardholder.objects.get(pk=holder.pk)
    assert (after.epin_hash, after.epin_set_at) == (saved.epin_hash, saved.epin_set_at)
    with transaction.atomic():
        assert epin_verify(cardholder=after, epin="1234", ip="127.0.0.1") is True
    assert AuditEvent.objects.filter(event="cards:epin:set").count() == 1
    assert not AuditEvent.objects.filter(event="cards:epin:changed").exists()


# --- hostile input --------------------------------------------------------------------------------


def test_oversized_email_gets_a_clear_message_and_changes_nothing():
    # given
    make_cardholder(email="known@example.com", phone="+687750111")
    # when
    response = submit_email(Client(), "a" * 9988 + "@example.com")
    # then
    assert response.status_code == 400
    assert text(response).count(TOO_LONG_FR) == 1
    assert sent_count() == (0, 0)
    assert not AuditEvent.objects.filter(event="enrollment:email:lookup").exists()
    assert not RateBucket.objects.exists()


def test_request_body_over_64_kib_is_refused_without_server_error():
    # given
    holder = make_cardholder(email="huge@example.com", phone="+687750112")
    client = Client()
    page = client.get("/enrollment/")
    # when the known email comes with 70 KB of padding
    response = client.post(
        "/enrollment/", {"email": holder.email, "csrfmiddlewaretoken": csrf(page), "pad": "x" * 70_000}
    )
    # then
    assert response.status_code == 400
    assert "Le formulaire envoyé était trop volumineux ou mal formé. Rien n'a été modifié." in html.unescape(
        response.content.decode()
    )
    assert sent_count() == (0, 0)


def test_signed_in_request_body_over_64_kib_changes_no_epin(outbound):
    # given
    holder = make_cardholder(email="hugepin@example.com", phone="+687750113")
    client = Client()
    sign_in(client, outbound, holder)
    page = client.get("/enrollment/password/")
    # when
    response = client.post(
        "/enrollment/password/",
        {"nonce": nonce(page), "epin": "1234", "confirmation": "1234", "pad": "x" * 70_000},
    )
    # then
    assert response.status_code == 400
    assert Cardholder.objects.get(pk=holder.pk).epin_hash == ""


def test_email_form_without_csrf_token_gets_the_form_expired_page():
    # given
    make_cardholder(email="csrf@example.com", phone="+687750114")
    client = Client(enforce_csrf_checks=True)
    client.get("/enrollment/")
    # when
    response = client.post("/enrollment/", {"email": "csrf@example.com"})
    # then
    assert response.status_code == 403
    assert text(response).count(FORM_EXPIRED_FR) == 1
    assert sent_count() == (0, 0)
    assert not AuditEvent.objects.filter(event="enrollment:email:lookup").exists()


def test_epin_form_without_csrf_token_gets_the_form_expired_page(outbound):
    # given a holder signed in with CSRF checks on
    holder = make_cardholder(email="csrfpin@example.com", phone="+687750115")
    client = Client(enforce_csrf_checks=True)
    sign_in(client, outbound, holder)
    page = client.get("/enrollment/password/")
    # when
    response = client.post(
        "/enrollment/password/", {"nonce": nonce(page), "epin": "1234", "confirmation": "1234"}
    )
    # then
    assert response.status_code == 403
    assert text(response).count(FORM_EXPIRED_FR) == 1
    assert Cardholder.objects.get(pk=holder.pk).epin_hash == ""


def test_email_lookups_are_rate_limited_per_client_address(outbound, settings):
    # given a limit of 3 look-ups per client address
    settings.GUICHET = dataclasses.replace(settings.GUICHET, email_lookup_limit=3)
    holder = make_cardholder(email="limited@example.com", phone="+687750116")
    client = Client()
    for n in range(3):
        assert submit_email(client, f"nobody{n}@example.com").status_code == 200
    # when the 4th look-up is for a known email
    fourth = submit_email(client, holder.email)
    # then it is refused and nothing is sent
    assert fourth.status_code == 429
    assert text(fourth).count(RATE_LIMITED_FR) == 1
    assert sent_count() == (0, 0)
    # and another client address is not affected
    other = submit_email(Client(), holder.email, REMOTE_ADDR="198.51.100.9")
    assert other["Location"] == "/enrollment/verify/"
    assert sent_count() == (2, 2)


def test_resends_count_against_the_client_address_limit_and_are_audited(outbound, settings, clock):
    # given a limit of 3 look-ups per client address, and one look-up that sent codes
    settings.GUICHET = dataclasses.replace(settings.GUICHET, email_lookup_limit=3)
    holder = make_cardholder(email="resender@example.com", phone="+687750117")
    client = Client()
    assert submit_email(client, holder.email)["Location"] == "/enrollment/verify/"
    # when codes are resent 3 times, past each cooldown
    answers = []
    for _ in range(3):
        clock.advance(seconds=31)
        answers.append(resend(client))
    # then the first 2 resends sent codes and the 3rd, over the address's limit, sent nothing
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert text(answers[2]).count(RATE_LIMITED_FR) == 1
    assert OutboxMessage.objects.filter(channel="sms", recipient=holder.phone).count() == 3
    assert OutboxMessage.objects.filter(channel="email", recipient=holder.email).count() == 3
    [refused] = AuditEvent.objects.filter(event="enrollment:code:resend")
    assert (refused.subject, refused.outcome, refused.detail) == (
        holder.portal_throttle_key,
        "refused",
        {"reason": "rate_limited"},
    )
    # and the address's look-ups are refused too, until the window ends
    assert submit_email(Client(), holder.email).status_code == 429
    clock.advance(seconds=settings.GUICHET.email_lookup_window_s)
    assert resend(client).status_code == 200


# --- the session ----------------------------------------------------------------------------------


def test_session_ends_after_5_minutes_without_activity(outbound, clock):
    # given
    holder = make_cardholder(email="idle@example.com", phone="+687750117")
    client = Client()
    sign_in(client, outbound, holder)
    # when idle for 299 s, the holder is still signed in
    clock.advance(seconds=299)
    assert client.get("/enrollment/methods/").status_code == 200
    # and after 301 s more without activity
    clock.advance(seconds=301)
    response = client.get("/enrollment/methods/")
    # then
    assert response["Location"] == "/enrollment/"
    assert text(client.get("/enrollment/")).count(IDLE_FR) == 1
    assert client.get("/enrollment/password/")["Location"] == "/enrollment/"
    assert (
        AuditEvent.objects.filter(event="enrollment:session:expired", subject=holder.throttle_key).count()
        == 1
    )


def test_the_sms_method_links_to_a_page_that_says_how_to_change_the_phone(outbound, settings):
    # given a signed-in cardholder and the issuer's support phone
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        branding=dataclasses.replace(settings.GUICHET.branding, support_phone="(+687) 27 12 34"),
    )
    holder = make_cardholder(email="phone@example.com", phone="+687750123")
    client = Client()
    sign_in(client, outbound, holder)
    # the methods page: the original sentence and its "Modifier" link
    methods = text(client.get("/enrollment/methods/"))
    assert "Vous pouvez désactiver ou modifier cette méthode ici." in methods
    assert '<a class="button secondary" href="/enrollment/phone/" id="change-phone">Modifier</a>' in methods
    # when they follow it
    response = client.get("/enrollment/phone/")
    # then the page says to call the support phone, and offers no form but sign-out and language
    assert response.status_code == 200
    page = text(response)
    assert (
        "Pour le modifier, veuillez appeler le Service Relation Clientèle des Services Bancaires de "
        'Banque Corail (démo) au <strong class="support-phone">(+687) 27 12 34</strong>.'
    ) in page
    assert "xxxxxxx23" in page
    assert "750123" not in page
    actions = re.findall(r'<form[^>]*action="([^"]*)"', page)
    assert actions == ["/i18n/setlang/", "/enrollment/logout/"]
    assert "<input" not in page.split("</header>", 1)[1]  # no field in the page itself


def test_the_phone_page_changes_nothing_and_takes_no_post(outbound):
    holder = make_cardholder(email="phone2@example.com", phone="+687750124")
    client = Client()
    sign_in(client, outbound, holder)
    page = client.get("/enrollment/phone/")
    before = Cardholder.objects.filter(pk=holder.pk).values().get()
    response = client.post("/enrollment/phone/", {"csrfmiddlewaretoken": csrf(page), "phone": "+687990000"})
    assert response.status_code == 405
    assert Cardholder.objects.filter(pk=holder.pk).values().get() == before


def test_the_phone_page_needs_a_signed_in_session(outbound):
    assert Client().get("/enrollment/phone/")["Location"] == "/enrollment/"


def test_the_phone_page_in_english(outbound):
    holder = make_cardholder(email="phone3@example.com", phone="+687750125")
    client = Client()
    sign_in(client, outbound, holder)
    client.post("/i18n/setlang/", {"language": "en", "next": "/enrollment/"})
    methods = text(client.get("/enrollment/methods/"))
    assert "You can deactivate or change this method here." in methods
    assert 'id="change-phone">Change</a>' in methods
    page = text(client.get("/enrollment/phone/"))
    assert "<h1>Change the SMS method</h1>" in page
    assert '<strong class="support-phone">(+687) 00 00 00</strong>' in page


def test_sign_out_ends_the_session(outbound):
    # given
    holder = make_cardholder(email="bye@example.com", phone="+687750118")
    client = Client()
    sign_in(client, outbound, holder)
    signed_in_cookie = client.cookies[SESSION].value
    page = client.get("/enrollment/methods/")
    # when
    response = client.post("/enrollment/logout/", {"csrfmiddlewaretoken": csrf(page)})
    # then
    assert response["Location"] == "/enrollment/"
    assert text(client.get("/enrollment/")).count(SIGNED_OUT_FR) == 1
    assert client.get("/enrollment/methods/")["Location"] == "/enrollment/"
    old = Client()
    old.cookies[SESSION] = signed_in_cookie
    assert old.get("/enrollment/methods/")["Location"] == "/enrollment/"


def test_pages_are_french_whatever_the_browser_asks_until_english_is_chosen():
    # given a browser that prefers English
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    # when
    before = client.get("/enrollment/")
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/enrollment/"})
    after = client.get("/enrollment/")
    # then
    assert before["Content-Language"] == "fr"
    assert "Bienvenue sur l'espace de création de votre mot de passe" in text(before)
    assert switched.status_code == 302
    assert after["Content-Language"] == "en"
    assert "Welcome to the space where you create your password" in text(after)


def test_english_shows_the_same_error_in_english(outbound):
    # given
    holder = make_cardholder(email="english@example.com", phone="+687750119")
    client = Client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    submit_email(client, holder.email)
    right_sms, right_email = received_codes(outbound, holder)
    # when
    response = submit_codes(client, right_sms, wrong_email(right_email))
    # then
    assert response.status_code == 400
    assert text(response).count(FAILED_EN) == 1
    assert FAILED_FR not in text(response)


# --- headers and cookies --------------------------------------------------------------------------


def assert_strict_headers(response: HttpResponse) -> None:
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"


def test_portal_pages_send_strict_security_headers(outbound):
    # given
    holder = make_cardholder(email="headers@example.com", phone="+687750120")
    client = Client()
    # when / then, before and after signing in
    for path in ("/enrollment/", "/enrollment/help/", "/enrollment/secure-shopping/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_headers(response)
    assert_strict_headers(submit_email(client, holder.email))
    assert_strict_headers(client.get("/enrollment/verify/"))
    sign_in(client, outbound, holder)
    for path in ("/enrollment/methods/", "/enrollment/password/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_headers(response)


def test_session_cookie_is_httponly_and_samesite_lax(outbound):
    # given
    holder = make_cardholder(email="cookie@example.com", phone="+687750121")
    # when
    response = submit_email(Client(), holder.email)
    # then over plain HTTP: no HSTS, no Secure flag
    cookie = response.cookies[SESSION]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]
    assert not response.has_header("Strict-Transport-Security")


def test_https_deployment_sends_hsts_and_secure_cookies(outbound, settings):
    # given the settings an https GUICHET_PUBLIC_URL gives
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://guichet.example")
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    holder = make_cardholder(email="https@example.com", phone="+687750122")
    client = Client()
    # when
    page = client.get("/enrollment/", secure=True)
    response = client.post(
        "/enrollment/", {"email": holder.email, "csrfmiddlewaretoken": csrf(page)}, secure=True
    )
    # then
    assert page["Strict-Transport-Security"] == "max-age=31536000"
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert page.cookies[django_settings.CSRF_COOKIE_NAME]["secure"] is True
    session = response.cookies[SESSION]
    assert (session["secure"], session["httponly"], session["samesite"]) == (True, True, "Lax")


def test_healthz_reports_the_database_ok():
    # when
    response = Client().get("/healthz")
    # then
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}


def test_the_portals_script_is_a_static_file_the_csp_allows_and_no_script_is_inline(outbound):
    holder = make_cardholder(email="script@example.com", phone="+687750126")
    client = Client()
    sign_in(client, outbound, holder)
    response = client.get("/enrollment/password/")
    page = response.content.decode()
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/guichet/portal.js" defer>']
    assert "</script>" in page.split('portal.js" defer>', 1)[1][:9]  # an empty element: nothing inline
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert 'data-match-with="id_epin"' in page
    assert 'data-active="actif"' in page
    assert client.get("/static/guichet/portal.js").status_code == 200
