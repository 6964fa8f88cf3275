"""PSD2 RTS art. 4(3)(d): a challenge page left more than GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT (300 s
by default) ends the challenge like the 10-minute limit: RReq N / 14 / challengeCancel 04
(docs/emv-3ds.md §6), final CRes N, and no SMS afterwards. Detected by the next form, by a reload, or
by the periodic expiry when the browser never comes back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
from guichet.delivery.worker import deliver_due
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.timeouts import challenge_expire_due
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from tests.issuer.acs.challenge.support import (
    NOTIFICATION_URL,
    DirectoryServer,
    Started,
    after_rres,
    b64url_json,
    form_action,
    hidden,
    post_creq,
    start,
    step,
)
from tests.support.fixtures import sms_code

pytestmark = pytest.mark.django_db

TIMEOUT_FR = "Le temps accordé pour l'authentification est écoulé."


def deliver_all() -> None:
    while deliver_due():
        pass


def rreqs(ds: DirectoryServer) -> list[dict[str, Any]]:
    deliver_all()
    return ds.received


def timeout_rreq(started: Started) -> dict[str, str]:
    """The RReq of a challenge ended by a timer before any code was checked."""
    return {
        "messageType": "RReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": started.areq["threeDSServerTransID"],
        "acsTransID": started.acs_trans_id,
        "dsTransID": started.areq["dsTransID"],
        "messageCategory": "01",
        "transStatus": "N",
        "transStatusReason": "14",
        "authenticationType": "02",
        "interactionCounter": "00",
        "challengeCancel": "04",
    }


def final_cres_n(started: Started) -> dict[str, str]:
    return {
        "messageType": "CRes",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": started.areq["threeDSServerTransID"],
        "acsTransID": started.acs_trans_id,
        "transStatus": "N",
        "challengeCompletionInd": "Y",
    }


def assert_final_page_n(html: str, started: Started, text: str = TIMEOUT_FR) -> None:
    assert text in html
    assert form_action(html) == NOTIFICATION_URL
    assert b64url_json(hidden(html, "cres") or "") == final_cres_n(started)
    assert hidden(html, "threeDSSessionData") == "c2Vzc2lvbg"


def timer_of(started: Started) -> str:
    [result] = AuditEvent.objects.filter(event="acs:challenge:result", subject=started.acs_trans_id)
    return str(result.detail["timer"])


def sms_queued() -> int:
    return OutboxMessage.objects.filter(channel=OutboxMessage.Channel.SMS).count()


def test_epin_page_left_too_long_ends_the_challenge_without_an_sms(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    first = post_creq(client, started.creq()).content.decode()
    clock.advance(seconds=301)
    html = step(client, first, action="validate", epin="1234").content.decode()
    assert TIMEOUT_FR in html  # the progress page, until the RRes
    assert_final_page_n(after_rres(client, html), started)
    assert rreqs(ds) == [timeout_rreq(started)]
    assert timer_of(started) == "inactivity"
    # The ePin posted after the end was not looked at: no SMS, nothing kept.
    assert sms_queued() == 0
    assert sms.state.received == []
    challenge = Challenge.objects.get(pk=started.tx_id)
    assert (challenge.step, challenge.epin_encrypted, challenge.attempts_used) == ("done", None, 0)
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.COMPLETED
    # The ePin page's form, posted again, is refused; nothing more is sent.
    assert step(client, first, action="validate", epin="1234").status_code == 403
    assert len(rreqs(ds)) == 1
    assert sms_queued() == 0


def test_just_under_the_limit_is_still_active(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    clock.advance(seconds=299)  # the clock runs on: a few milliseconds more pass
    challenge_expire_due()
    html = step(client, html, action="validate", epin="1234").content.decode()
    assert "Étape 2 sur 2" in html
    deliver_all()
    [message] = sms.state.received
    clock.advance(seconds=299)  # counted again from the SMS page
    challenge_expire_due()
    html = step(client, html, action="validate", otp=sms_code(message["text"])).content.decode()
    assert "Authentification en cours" in html
    html = after_rres(client, html)
    assert b64url_json(hidden(html, "cres") or "")["transStatus"] == "Y"
    [rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["interactionCounter"]) == ("Y", "01")
    assert "challengeCancel" not in rreq


def test_sms_page_left_alone_is_ended_by_the_periodic_expiry(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    html = step(client, html, action="validate", epin="1234").content.decode()
    deliver_all()
    [message] = sms.state.received
    clock.advance(seconds=299)
    challenge_expire_due()
    assert rreqs(ds) == []
    clock.advance(seconds=2)
    challenge_expire_due()
    challenge_expire_due()  # idempotent
    assert rreqs(ds) == [timeout_rreq(started)]
    assert timer_of(started) == "inactivity"
    tx = AcsTransaction.objects.get(pk=started.tx_id)
    assert (tx.state, tx.trans_status, tx.challenge_cancel) == (AcsTransaction.State.COMPLETED, "N", "04")
    assert Challenge.objects.get(pk=started.tx_id).epin_encrypted is None
    # The cardholder comes back with the right code: too late, the final CRes says N, at once (the
    # RRes is already in).
    html = step(client, html, action="validate", otp=sms_code(message["text"])).content.decode()
    assert_final_page_n(html, started)
    assert len(rreqs(ds)) == 1
    assert (sms_queued(), len(sms.state.received)) == (1, 1)
    kinds = list(AcsMessage.objects.filter(transaction=tx).values_list("kind", flat=True))
    assert kinds == ["AReq", "ARes", "CReq", "RReq", "RRes", "CRes"]


def test_an_sms_not_delivered_before_the_end_is_never_sent(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    step(client, html, action="validate", epin="1234")
    assert sms_queued() == 1  # queued with the SMS page, not delivered yet
    clock.advance(seconds=301)
    deliver_all()  # the delivery pass runs the expiry, then finds the SMS out of date
    assert rreqs(ds) == [timeout_rreq(started)]
    assert sms.state.received == []
    message = OutboxMessage.objects.get(channel=OutboxMessage.Channel.SMS)
    assert message.status == OutboxMessage.Status.GIVEN_UP


def test_reloading_the_iframe_after_the_limit_ends_the_challenge(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    started = start(client, ds_url=ds.url)
    post_creq(client, started.creq())
    clock.advance(seconds=301)
    html = post_creq(client, started.creq()).content.decode()
    assert_final_page_n(after_rres(client, html), started)
    assert rreqs(ds) == [timeout_rreq(started)]
    assert timer_of(started) == "inactivity"


def test_wrong_codes_count_as_activity_and_in_the_rreq(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any
) -> None:
    _, sms = outbound
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    html = step(client, html, action="validate", epin="0000").content.decode()
    deliver_all()
    clock.advance(seconds=200)
    code = sms_code(sms.state.received[-1]["text"])
    html = step(client, html, action="validate", otp=code).content.decode()
    assert "Il vous reste 2 essais." in html
    clock.advance(seconds=200)  # 400 s after the CReq, 200 s after the last page
    challenge_expire_due()
    assert rreqs(ds) == []
    clock.advance(seconds=101)
    challenge_expire_due()
    [rreq] = rreqs(ds)
    assert rreq == timeout_rreq(started) | {"interactionCounter": "01", "authenticationMethod": "02"}
    assert len(sms.state.received) == 1


def test_the_limit_is_configurable(
    client: Client, outbound: Any, ds: DirectoryServer, clock: Any, settings: Any
) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, challenge_idle_timeout_s=60)
    )
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    clock.advance(seconds=59)
    challenge_expire_due()
    assert rreqs(ds) == []
    clock.advance(seconds=2)
    html = step(client, html, action="cancel").content.decode()
    # Too late even to cancel: the timeout is what ended it.
    assert_final_page_n(after_rres(client, html), started)
    assert rreqs(ds) == [timeout_rreq(started)]


def test_english_final_page(client: Client, outbound: Any, ds: DirectoryServer, clock: Any) -> None:
    started = start(client, ds_url=ds.url, language="en-GB")
    html = post_creq(client, started.creq()).content.decode()
    clock.advance(seconds=301)
    html = step(client, html, action="validate", epin="1234").content.decode()
    assert "The time allowed for authentication is over." in html
    assert "Please wait a few seconds: you will then be taken back to the merchant's site." in html
    html = after_rres(client, html)
    assert_final_page_n(html, started, text="The time allowed for authentication is over.")
    assert "Your payment is cancelled" in html
