"""RReq delivery with the DS down, then answering garbage, then up: delivered exactly once, and the
cardholder got the final CRes once GUICHET_ACS_RRES_WAIT was over, without waiting for the DS any
longer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.core.egress import EgressPolicy
from guichet.delivery.models import OutboxMessage
from guichet.delivery.worker import deliver_due
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from tests.issuer.acs.challenge.support import (
    DirectoryServer,
    Started,
    b64url_json,
    hidden,
    post_creq,
    progress_form,
    start,
    step,
)
from tests.support.fixtures import sms_code


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


def rres_wait(settings: Any, seconds: int) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, rres_wait_s=seconds)
    )


def ready(client: Client, started: Started) -> bool:
    answer = client.get(f"/3ds/challenge/{started.acs_trans_id}/status")
    assert answer.status_code == 200
    return bool(answer.json()["ready"])


@pytest.mark.django_db(transaction=True)
def test_ds_down_then_up(
    client: Client, outbound: Any, ds: DirectoryServer, delivery_thread: None, clock: Any, settings: Any
) -> None:
    # given a DS that refuses every RReq, and a wait for its RRes of 1 s
    rres_wait(settings, 1)
    _, sms = outbound
    ds.mode = "error"
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    html = step(client, html, action="validate", epin="1234").content.decode()
    wait_for(lambda: len(sms.state.received) == 1)
    # when the right code ends the challenge
    html = step(client, html, action="validate", otp=sms_code(sms.state.received[0]["text"])).content.decode()
    # then the progress page waits, not ready until the second is over, ready then
    assert progress_form(html)
    assert not ready(client, started)
    wait_for(lambda: ready(client, started), timeout=5.0)
    waited = clock.now() - AcsTransaction.objects.get(pk=started.tx_id).finished_at
    assert dt.timedelta(seconds=1) <= waited < dt.timedelta(seconds=2.5)
    # and its form gets the final CRes while the DS still refuses the RReq
    html = step(client, html, action="finish").content.decode()
    assert b64url_json(hidden(html, "cres") or "")["transStatus"] == "Y"
    posted = AuditEvent.objects.get(event="acs:cres:posted", subject=started.acs_trans_id)
    assert posted.detail == {"trans_status": "Y", "rres_received": False}
    assert AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.RESULT_SENT
    message = OutboxMessage.objects.get(channel="http", template="3ds.rreq")
    assert message.status == OutboxMessage.Status.PENDING  # retried, not abandoned at the deadline

    def settled(error: str) -> bool:
        message.refresh_from_db()
        return message.status == OutboxMessage.Status.PENDING and message.last_error == error

    wait_for(lambda: settled("DS answered 503"))
    assert ds.received == []
    assert ds.refused >= 1
    # The DS answers 200 with something that is not an RRes: still not accepted.
    ds.mode = "erro"
    refused = ds.refused
    clock.advance(seconds=5)
    wait_for(lambda: ds.refused > refused)
    wait_for(lambda: settled("DS answer is not a valid RRes"))
    # Up again: delivered, the RRes recorded, and never sent again.
    ds.mode = "ok"
    clock.advance(seconds=60)
    wait_for(lambda: len(ds.received) == 1)
    wait_for(lambda: AcsTransaction.objects.get(pk=started.tx_id).state == AcsTransaction.State.COMPLETED)
    clock.advance(seconds=3600)
    time.sleep(0.5)
    assert len(ds.received) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == ds.refused + 1
    assert AcsMessage.objects.filter(transaction_id=started.tx_id, kind="RRes").count() == 1
    assert ds.received[0]["transStatus"] == "Y"


@pytest.mark.django_db
def test_a_listed_ds_the_egress_policy_refuses_is_given_up_at_once_never_connected_to(
    client: Client, outbound: Any, ds: DirectoryServer, settings: Any
) -> None:
    # given a DS listed in GUICHET_ACS_DS_URLS (the fixture) on an address the policy now refuses
    started = start(client, ds_url=ds.url)
    settings.GUICHET = dataclasses.replace(settings.GUICHET, egress=EgressPolicy())
    html = post_creq(client, started.creq()).content.decode()
    step(client, html, action="cancel", epin="")
    # when
    deliver_due()
    # then
    message = OutboxMessage.objects.get(channel="http", template="3ds.rreq")
    assert (message.status, message.attempts) == (OutboxMessage.Status.GIVEN_UP, 1)
    assert message.last_error.startswith("destination refused: loopback address 127.0.0.1")
    assert ds.received == []
    assert ds.refused == 0
