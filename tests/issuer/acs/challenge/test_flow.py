"""The challenge through Django's test client: each outcome, its RReq, its final CRes, its pages.

The SMS code is read from what the real SMS receiver got; the RReq from what the test's DS got.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.codes.models import CredentialThrottle
from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.timeouts import challenge_expire_due
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from tests.issuer.acs.challenge.support import (
    DirectoryServer,
    Started,
    after_rres,
    after_wait,
    b64url_json,
    deliver_all,
    erro_shown,
    form_action,
    hidden,
    post_creq,
    start,
    step,
)
from tests.support.fixtures import sms_code

pytestmark = pytest.mark.django_db

STEP_1 = '<h1 class="acs-title">Étape 1 sur 2\u00a0: Authentification par Mot de passe</h1>'
TIMEOUT_FR = "Le temps accordé pour l'authentification est écoulé."
STEP_2 = '<h1 class="acs-title">Étape 2 sur 2\u00a0: Authentification par SMS</h1>'


def last_sms(sms: Any) -> str:
    deliver_all()
    return str(sms.state.received[-1]["text"])


def to_sms_step(client: Client, started: Started, epin: str = "1234") -> str:
    page = post_creq(client, started.creq())
    assert page.status_code == 200
    page = step(client, page.content.decode(), action="validate", epin=epin)
    html: str = page.content.decode()
    assert "Étape 2 sur 2" in html
    return html


def final_cres(html: str) -> dict[str, Any]:
    return b64url_json(hidden(html, "cres") or "")


def rreqs(ds: DirectoryServer) -> list[dict[str, Any]]:
    deliver_all()
    return ds.received


def test_success_sends_one_rreq_y_and_posts_cres_y(
    client: Client, outbound: Any, ds: DirectoryServer
) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    first = post_creq(client, started.creq()).content.decode()
    # The original summary: merchant, amount, date GMT, masked card and phone.
    for shown in (
        "Marchand\u00a0:", "MyTestMerchantACS3", "Montant\u00a0:", "299,00\u00a0€",
        "07/02/2022 21:28:18 GMT", "N° de carte\u00a0:", f"xxxxxxxxxxxxx{started.pan[-3:]}",
        "N° de téléphone\u00a0:", "+68xxxxx23", "Annuler votre paiement", "Informations",
    ):  # fmt: skip
        assert shown in first, shown
    html = step(client, first, action="validate", epin="1234").content.decode()
    text = last_sms(sms)
    assert len(sms.state.received) == 1
    assert sms.state.received[0]["to"] == "+687751123"
    # The SMS names the merchant and the amount (dynamic linking).
    assert "MyTestMerchantACS3" in text
    assert "299,00\u00a0€" in text
    page = step(client, html, action="validate", otp=sms_code(text))
    html = page.content.decode()
    assert "Authentification en cours" in html
    # Its script asks the status URL, for at most the rest of GUICHET_ACS_RRES_WAIT (10 s by default).
    wait = re.search(
        rf'data-status="/3ds/challenge/{started.acs_trans_id}/status" data-wait="([0-9]+)"', html
    )
    assert wait is not None
    assert 9000 < int(wait.group(1)) <= 10000
    assert hidden(html, "cres") is None
    html = after_rres(client, html)
    assert "<h2>Authentification Réussie!</h2>" in html  # as the original page writes it
    assert STEP_2 in html
    assert "Retour à la boutique" in html
    assert form_action(html) == started.areq["notificationURL"]
    assert final_cres(html) == {
        "messageType": "CRes",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": started.areq["threeDSServerTransID"],
        "acsTransID": started.acs_trans_id,
        "transStatus": "Y",
        "challengeCompletionInd": "Y",
    }
    assert hidden(html, "threeDSSessionData") == "c2Vzc2lvbg"
    [rreq] = rreqs(ds)
    assert set(rreq) == {
        "messageType", "messageVersion", "threeDSServerTransID", "acsTransID", "dsTransID",
        "messageCategory", "transStatus", "authenticationType", "authenticationMethod",
        "authenticationValue", "eci", "interactionCounter",
    }  # fmt: skip
    assert (rreq["transStatus"], rreq["eci"], rreq["interactionCounter"]) == ("Y", "05", "01")
    assert (rreq["authenticationType"], rreq["authenticationMethod"]) == ("02", "02")
    assert len(rreq["authenticationValue"]) == 28
    assert rreq["dsTransID"] == started.areq["dsTransID"]
    tx = AcsTransaction.objects.get(pk=started.tx_id)
    assert tx.state == AcsTransaction.State.COMPLETED
    kinds = list(AcsMessage.objects.filter(transaction=tx).order_by("id").values_list("kind", "direction"))
    # The final CRes after the RRes (EMV 3DS: "at the end of the challenge and receipt of the RRes").
    assert kinds == [
        ("AReq", "in"), ("ARes", "out"), ("CReq", "in"), ("RReq", "out"), ("RRes", "in"), ("CRes", "out"),
    ]  # fmt: skip
    events = set(AuditEvent.objects.filter(subject=started.acs_trans_id).values_list("event", flat=True))
    assert {"acs:challenge:started", "acs:challenge:epin_entered", "acs:challenge:result"} <= events
    # The page's form cannot be posted again: its token was used.
    assert step(client, html, action="finish").status_code == 403


def test_wrong_epin_then_right_codes(client: Client, outbound: Any, ds: DirectoryServer) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = to_sms_step(client, started, epin="9999")
    page = step(client, html, action="validate", otp=sms_code(last_sms(sms)))
    html = page.content.decode()
    # Back to step 1 with the original page's error, which never says which code was wrong.
    assert "Étape 1 sur 2" in html
    assert "L'un des 2 codes saisis n'est pas correct." in html
    assert "Il vous reste 2 essais." in html
    assert rreqs(ds) == []
    page = step(client, html, action="validate", epin="1234")
    html = page.content.decode()
    assert len(sms.state.received) == 1  # the second attempt's code is not delivered yet
    code = sms_code(last_sms(sms))
    assert len(sms.state.received) == 2
    page = step(client, html, action="validate", otp=code)
    assert final_cres(after_rres(client, page.content.decode()))["transStatus"] == "Y"
    [rreq] = rreqs(ds)
    assert rreq["interactionCounter"] == "02"


def test_wrong_sms_code(client: Client, outbound: Any, ds: DirectoryServer) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = to_sms_step(client, started)
    right = sms_code(last_sms(sms))
    wrong = f"{(int(right) + 1) % 10**8:08d}"
    html = step(client, html, action="validate", otp=wrong).content.decode()
    assert "L'un des 2 codes saisis n'est pas correct." in html
    assert "Étape 1 sur 2" in html
    assert Challenge.objects.get(pk=started.tx_id).attempts_used == 1


def test_attempts_used_up_gives_n_19(
    client: Client, outbound: Any, ds: DirectoryServer, settings: Any
) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, challenge_attempts=2)
    )
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = to_sms_step(client, started, epin="0000")
    html = step(client, html, action="validate", otp=sms_code(last_sms(sms))).content.decode()
    assert "Il vous reste 1 essai." in html
    html = step(client, html, action="validate", epin="0000").content.decode()
    html = step(client, html, action="validate", otp=sms_code(last_sms(sms))).content.decode()
    assert "Votre paiement est annulé" in html
    assert "Vous avez épuisé vos essais." in html
    html = after_rres(client, html)
    assert "Vous avez épuisé vos essais." in html
    assert final_cres(html)["transStatus"] == "N"
    assert form_action(html) == started.areq["notificationURL"]
    [rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["interactionCounter"]) == ("N", "19", "02")
    assert "challengeCancel" not in rreq
    assert "authenticationValue" not in rreq
    assert "eci" not in rreq


def test_cancel_gives_n_01_cancel_01(client: Client, outbound: Any, ds: DirectoryServer) -> None:
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    html = step(client, html, action="cancel", epin="").content.decode()
    assert "Vous avez annulé votre paiement." in html
    html = after_rres(client, html)
    # cancelled at step 1: the final page keeps step 1's heading
    assert STEP_1 in html
    assert "Étape 2 sur 2" not in html
    assert "Vous avez annulé votre paiement." in html
    assert final_cres(html)["transStatus"] == "N"
    [rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "01", "01")
    assert rreq["interactionCounter"] == "00"
    assert outbound[1].state.received == []  # no SMS was ever sent


def test_cancel_at_the_sms_step_keeps_step_2s_heading(
    client: Client, outbound: Any, ds: DirectoryServer
) -> None:
    started = start(client, ds_url=ds.url)
    html = to_sms_step(client, started)
    html = step(client, html, action="cancel").content.decode()
    assert "Vous avez annulé votre paiement." in html
    assert STEP_2 in html
    assert "Étape 1 sur 2" not in html


def test_creq_timeout_detected_without_browser(client: Client, ds: DirectoryServer, clock: Any) -> None:
    started = start(client, ds_url=ds.url)
    clock.advance(seconds=29)
    challenge_expire_due()
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.AWAITING_CREQ
    clock.advance(seconds=2)
    challenge_expire_due()
    challenge_expire_due()  # idempotent
    [rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "14", "05")
    # The CReq coming late gets an Erro 402 posted back to the notificationURL.
    html = post_creq(client, started.creq()).content.decode()
    erro = b64url_json(hidden(html, "cres") or "")
    assert (erro["messageType"], erro["errorCode"], erro["errorMessageType"]) == ("Erro", "402", "CReq")
    assert hidden(html, "threeDSSessionData") == "c2Vzc2lvbg"
    assert len(rreqs(ds)) == 1


def test_late_creq_ends_the_transaction_itself(client: Client, ds: DirectoryServer, clock: Any) -> None:
    started = start(client, ds_url=ds.url)
    clock.advance(seconds=31)
    html = post_creq(client, started.creq()).content.decode()
    assert b64url_json(hidden(html, "cres") or "")["errorCode"] == "402"
    [rreq] = rreqs(ds)
    assert rreq["challengeCancel"] == "05"


def test_challenge_timeout_then_browser_comes_back(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    started = start(client, ds_url=ds.url)
    html = to_sms_step(client, started)
    # A page served every 290 s keeps the cardholder active (inactivity limit: 300 s), yet the
    # challenge still ends 10 minutes after the CReq.
    for _ in range(2):
        clock.advance(seconds=290)
        html = step(client, html, action="validate", otp="1").content.decode()
        assert "Le code reçu par SMS comporte 8 chiffres." in html
    clock.advance(seconds=19)  # 599 s after the CReq
    challenge_expire_due()
    assert rreqs(ds) == []
    clock.advance(seconds=2)
    challenge_expire_due()
    [rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["challengeCancel"]) == ("N", "14", "04")
    result = AuditEvent.objects.get(event="acs:challenge:result", subject=started.acs_trans_id)
    assert result.detail["timer"] == "deadline"
    html = step(client, html, action="validate", otp="12345678").content.decode()
    assert "Le temps accordé pour l'authentification est écoulé." in html
    assert final_cres(html)["transStatus"] == "N"
    assert len(rreqs(ds)) == 1


def test_challenge_timeout_seen_by_the_step_itself(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    started = start(client, ds_url=ds.url)
    html = to_sms_step(client, started)
    code = sms_code(last_sms(outbound[1]))
    for _ in range(2):  # active, but for too long
        clock.advance(seconds=299)
        html = step(client, html, action="validate", otp="1").content.decode()
    clock.advance(seconds=3)  # 601 s after the CReq, 3 s after the last page
    html = step(client, html, action="validate", otp=code).content.decode()
    assert TIMEOUT_FR in html
    assert final_cres(after_rres(client, html))["transStatus"] == "N"
    [rreq] = rreqs(ds)
    assert rreq["challengeCancel"] == "04"


def test_sms_only_card_goes_straight_to_the_sms_step(
    client: Client, outbound: Any, ds: DirectoryServer, settings: Any
) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, no_epin_policy="sms_only")
    )
    _, sms = outbound
    started = start(client, ds_url=ds.url, epin=None)
    html = post_creq(client, started.creq()).content.decode()
    assert "Authentification par SMS" in html
    assert "Étape" not in html
    assert 'name="epin"' not in html
    html = step(client, html, action="validate", otp="00000000").content.decode()
    assert "Le code saisi n'est pas correct." in html
    assert len(sms.state.received) == 0
    deliver_all()
    assert len(sms.state.received) == 2  # a new code for the second attempt
    html = step(
        client, html, action="validate", otp=sms_code(sms.state.received[-1]["text"])
    ).content.decode()
    assert final_cres(after_rres(client, html))["transStatus"] == "Y"


def test_english_from_browser_language(client: Client, outbound: Any, ds: DirectoryServer) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url, language="en-GB")
    html = post_creq(client, started.creq(challengeWindowSize="01")).content.decode()
    assert "Step 1 of 2: Authentication by Password" in html
    assert "Cancel your payment" in html
    assert 'class="acs window-01"' in html
    assert '<html lang="en">' in html
    html = step(client, html, action="validate", epin="1234").content.decode()
    text = last_sms(sms)
    assert "to pay €299.00 to MyTestMerchantACS3" in text
    html = step(client, html, action="validate", otp="1").content.decode()
    assert "The code received by SMS is made of 8 digits." in html
    assert Challenge.objects.get(pk=started.tx_id).attempts_used == 0


def test_pages_are_frameable_and_set_no_cookie(client: Client, clock: Any) -> None:
    started = start(client)
    page = post_creq(client, started.creq())
    assert "X-Frame-Options" not in page.headers
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert page.cookies == {}
    html = after_wait(client, step(client, page.content.decode(), action="cancel").content.decode(), clock)
    # Every other page keeps refusing to be framed.
    other = client.get("/enrollment/")
    assert other.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    assert 'action="https://merchant.example.test/3ds/notify"' in html


def test_the_challenge_pages_show_the_issuers_logo_and_legal_footer(client: Client, settings: Any) -> None:
    # given an issuer's logo on its own site and its legal lines
    branding = dataclasses.replace(
        settings.GUICHET.branding,
        logo_url="https://cdn.recif.example/logo.svg",
        legal=("BANQUE DU RÉCIF", "RCS Nouméa 1111 B 111 111"),
    )
    settings.GUICHET = dataclasses.replace(settings.GUICHET, branding=branding)
    started = start(client)
    # when the challenge opens, and when it ends
    page = post_creq(client, started.creq())
    final = step(client, page.content.decode(), action="cancel")
    # then both pages show them, and their CSP lets the logo load from that host
    footer = (
        '<footer class="issuer-legal" id="issuer-legal"><p>BANQUE DU RÉCIF</p>'
        "<p>RCS Nouméa 1111 B 111 111</p></footer>"
    )
    for response in (page, final):
        html = response.content.decode()
        assert '<img src="https://cdn.recif.example/logo.svg" alt="Banque Corail" class="acs-logo">' in html
        assert footer in html
        assert (
            "img-src 'self' data: https://cdn.recif.example;" in response.headers["Content-Security-Policy"]
        )


def test_the_challenge_shows_the_demo_issuers_logo_and_footer_by_default(client: Client) -> None:
    html = post_creq(client, start(client).creq()).content.decode()
    assert '<img src="/static/guichet/banque-corail.svg" alt="Banque Corail" class="acs-logo">' in html
    assert '<footer class="issuer-legal" id="issuer-legal"><p>BANQUE CORAIL (démo)</p>' in html


def test_the_challenge_pages_link_the_favicon(client: Client) -> None:
    page = post_creq(client, start(client).creq()).content.decode()
    assert page.count('<link rel="icon" href="/static/guichet/favicon.svg" type="image/svg+xml">') == 1


def test_final_page_csp_allows_the_notification_origin(client: Client, clock: Any) -> None:
    started = start(client)
    html = post_creq(client, started.creq()).content.decode()
    html = step(client, html, action="cancel").content.decode()
    clock.advance(seconds=10)
    page = step(client, html, action="finish")
    assert hidden(page.content.decode(), "cres")
    assert "form-action 'self' https://merchant.example.test;" in page.headers["Content-Security-Policy"]


def test_repeated_creq_shows_the_current_step_with_a_new_token(client: Client, outbound: Any) -> None:
    started = start(client)
    first = post_creq(client, started.creq()).content.decode()
    html = step(client, first, action="validate", epin="1234").content.decode()
    again = post_creq(client, started.creq()).content.decode()
    assert "Étape 2 sur 2" in again
    assert step(client, html, action="validate", otp="12345678").status_code == 403  # old token
    assert Challenge.objects.get(pk=started.tx_id).attempts_used == 0


def test_forged_or_replayed_step_changes_nothing(client: Client) -> None:
    started = start(client)
    html = post_creq(client, started.creq()).content.decode()
    for fields in (
        {"acsTransID": started.acs_trans_id, "token": "forged", "action": "cancel"},
        {"acsTransID": "not-a-uuid", "token": "x", "action": "cancel"},
        {"acsTransID": started.acs_trans_id, "action": "cancel"},
    ):
        page = client.post("/3ds/challenge/step", data=fields)
        assert page.status_code == 403
        assert "Cette page n'est plus valide" in page.content.decode()
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.CHALLENGE
    assert step(client, html, action="cancel").status_code == 200


def test_finished_transaction_creq_gets_erro_301_posted(client: Client) -> None:
    started = start(client)
    html = post_creq(client, started.creq()).content.decode()
    step(client, html, action="cancel")
    html = post_creq(client, started.creq()).content.decode()
    erro = b64url_json(hidden(html, "cres") or "")
    assert (erro["errorCode"], erro["acsTransID"]) == ("301", started.acs_trans_id)
    refused = AuditEvent.objects.get(event="acs:creq:refused")
    assert (refused.subject, refused.detail["posted"]) == (started.acs_trans_id, True)
    assert form_action(html) == started.areq["notificationURL"]


def test_unknown_transaction_gets_erro_301_shown(client: Client) -> None:
    started = start(client)
    page = post_creq(client, started.creq(acsTransID="11111111-2222-4333-8444-555555555555"))
    assert page.status_code == 400
    erro = erro_shown(page.content.decode())
    assert (erro["errorCode"], erro["errorDetail"], erro["errorComponent"]) == ("301", "acsTransID", "A")
    refused = AuditEvent.objects.get(event="acs:creq:refused")
    assert (refused.detail["error_code"], refused.detail["posted"]) == ("301", False)
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.AWAITING_CREQ


def test_other_server_transaction_gets_erro_301_shown(client: Client) -> None:
    started = start(client)
    page = post_creq(client, started.creq(threeDSServerTransID="11111111-2222-4333-8444-555555555555"))
    assert page.status_code == 400
    assert erro_shown(page.content.decode())["errorDetail"] == "threeDSServerTransID"
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.AWAITING_CREQ


def test_other_version_gets_erro_102_posted(client: Client) -> None:
    started = start(client)
    html = post_creq(client, started.creq(messageVersion="2.1.0")).content.decode()
    erro = b64url_json(hidden(html, "cres") or "")
    assert (erro["errorCode"], erro["messageVersion"]) == ("102", "2.1.0")
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.AWAITING_CREQ


def test_bad_session_data_gets_erro_203(client: Client) -> None:
    started = start(client)
    page = post_creq(client, started.creq(), session_data="has space")
    assert page.status_code == 400
    assert erro_shown(page.content.decode())["errorDetail"] == "threeDSSessionData"


def test_absent_session_data_is_not_invented(client: Client, clock: Any) -> None:
    started = start(client)
    html = post_creq(client, started.creq(), session_data=None).content.decode()
    html = after_wait(client, step(client, html, action="cancel").content.decode(), clock)
    assert hidden(html, "threeDSSessionData") is None
    assert hidden(html, "cres")


def test_five_failures_across_transactions_block_the_cardholder(
    client: Client, outbound: Any, ds: DirectoryServer
) -> None:
    _, sms = outbound
    first = start(client, ds_url=ds.url)
    html = to_sms_step(client, first, epin="0000")
    for _ in range(2):
        html = step(client, html, action="validate", otp=sms_code(last_sms(sms))).content.decode()
        html = step(client, html, action="validate", epin="0000").content.decode()
    html = step(client, html, action="validate", otp=sms_code(last_sms(sms))).content.decode()
    assert final_cres(after_rres(client, html))["transStatus"] == "N"
    row = CredentialThrottle.objects.get(key=first.holder.throttle_key)
    assert (row.failures, row.blocked_until) == (3, None)
    # A second payment by the same cardholder: two more failures block them.
    second = start(client, ds_url=ds.url, card=(first.holder, first.pan))
    html = post_creq(client, second.creq()).content.decode()
    html = step(client, html, action="validate", epin="0000").content.decode()
    html = step(client, html, action="validate", otp=sms_code(last_sms(sms))).content.decode()
    html = step(client, html, action="validate", epin="0000").content.decode()
    html = step(client, html, action="validate", otp=sms_code(last_sms(sms))).content.decode()
    row.refresh_from_db()
    assert row.blocked_until is not None
    # The fifth failure blocks: this challenge keeps its third attempt, yet cannot use it.
    assert "Étape 1 sur 2" in html
    assert "Il vous reste 1 essai." in html
    html = step(client, html, action="validate", epin="1234").content.decode()
    assert "Trop d'essais infructueux" in html
    assert final_cres(after_rres(client, html))["transStatus"] == "N"
    assert OutboxMessage.objects.filter(channel="email", template="credential_blocked").count() == 1
    [_, rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["transStatusReason"], rreq["interactionCounter"]) == ("N", "19", "02")


def _sms_per_hour(settings: Any, limit: int) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, sms_per_hour=limit)
    )


def test_sms_are_capped_per_cardholder_and_hour_across_transactions(
    client: Client, outbound: Any, ds: DirectoryServer, settings: Any, clock: Any
) -> None:
    # given the default cap of 10 challenge SMS per cardholder and hour
    assert settings.GUICHET.acs.sms_per_hour == 10
    _, sms = outbound
    first = start(client, ds_url=ds.url)
    card = (first.holder, first.pan)
    # when 12 payments each get as far as any 4-digit ePin (each of which sends an SMS)
    pages = []
    for n in range(12):
        started = first if n == 0 else start(client, ds_url=ds.url, card=card, language="en-US")
        html = post_creq(client, started.creq()).content.decode()
        pages.append(step(client, html, action="validate", epin=f"{n:04d}").content.decode())
    deliver_all()
    # then exactly 10 SMS went out; the 11th and 12th challenges end N / 04 and say why, in English
    assert len(sms.state.received) == 10
    assert all("Step 2 of 2" in page or "Étape 2 sur 2" in page for page in pages[:10])
    for page in pages[10:]:
        assert "Too many codes have been sent by SMS to your phone within an hour." in page
        assert final_cres(after_rres(client, page))["transStatus"] == "N"
    capped = [r for r in rreqs(ds) if r.get("transStatusReason") == "04"]
    assert [(r["transStatus"], r["interactionCounter"]) for r in capped] == [("N", "00"), ("N", "00")]
    events = AuditEvent.objects.filter(event="acs:sms:capped").order_by("id")
    assert [(e.subject, e.outcome, e.detail["limit"]) for e in events] == [
        (first.holder.throttle_key, "refused", 10),
        (first.holder.throttle_key, "refused", 10),
    ]
    # and the cap counted no failure of the cardholder's credential
    assert not CredentialThrottle.objects.filter(key=first.holder.throttle_key, failures__gt=0).exists()
    # an hour after the first SMS, codes are sent again
    clock.advance(seconds=3601)
    again = start(client, ds_url=ds.url, card=card)
    html = post_creq(client, again.creq()).content.decode()
    assert "Étape 2 sur 2" in step(client, html, action="validate", epin="1234").content.decode()
    deliver_all()
    assert len(sms.state.received) == 11


def test_the_sms_cap_is_in_french_on_a_french_page_and_holds_for_sms_only_cards(
    client: Client, outbound: Any, ds: DirectoryServer, settings: Any
) -> None:
    # given a card without an ePin under the sms_only policy, and a cap of 1 SMS per hour
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        acs=dataclasses.replace(settings.GUICHET.acs, no_epin_policy="sms_only", sms_per_hour=1),
    )
    _, sms = outbound
    first = start(client, ds_url=ds.url, epin=None)
    assert "Authentification par SMS" in post_creq(client, first.creq()).content.decode()
    # when a second payment opens its challenge (which sends the SMS at once)
    second = start(client, ds_url=ds.url, card=(first.holder, first.pan))
    html = post_creq(client, second.creq()).content.decode()
    # then it ends at once, N / 04, in French, and only the first SMS went out
    assert "Trop de codes ont été envoyés par SMS à votre téléphone en une heure." in html
    assert final_cres(after_rres(client, html))["transStatus"] == "N"
    [rreq] = rreqs(ds)
    assert (rreq["acsTransID"], rreq["transStatus"], rreq["transStatusReason"]) == (
        second.acs_trans_id,
        "N",
        "04",
    )
    assert len(sms.state.received) == 1
    assert AuditEvent.objects.filter(event="acs:sms:capped").count() == 1


def test_merchant_name_reaches_the_sms_and_the_page_as_one_line_after_the_code(
    client: Client, outbound: Any, ds: DirectoryServer
) -> None:
    # given a merchant that writes lines of its own into merchantName
    _, sms = outbound
    written = "M&S'\nVotre code est 00000000\n\u202eAppelez"
    started = start(client, ds_url=ds.url, merchantName=written)
    # when the cardholder gets as far as the SMS
    html = post_creq(client, started.creq()).content.decode()
    step(client, html, action="validate", epin="1234")
    text = last_sms(sms)
    # then the SMS is one line, the real code first, the merchant's text after it, cleaned
    assert "\n" not in text
    assert "\u202e" not in text
    assert text.startswith("Banque Corail : votre code ")
    assert sms_code(text) != "00000000"
    # as written: plain text, not HTML-escaped ("M&amp;S")
    assert text.index(sms_code(text)) < text.index("M&S' Votre code est 00000000 Appelez")
    # and the page shows the same one line
    assert "M&amp;S&#x27; Votre code est 00000000 Appelez" in html
    assert "\nVotre" not in html
    # while the AReq's own value is kept as it came (the authentication value is computed on it)
    assert AcsTransaction.objects.get(pk=started.tx_id).merchant_name == written
