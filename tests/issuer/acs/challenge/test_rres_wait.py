"""RReq first, then the final CRes (EMV 3DS: "at the end of the challenge and receipt of the RRes").

The end of a challenge shows a progress page; its status URL says ready once the DS's RRes is in, or
once GUICHET_ACS_RRES_WAIT is over; its form gets the final CRes only then. The DS is a real HTTP
server; the RReq goes through the outbox as in production.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
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


def wait_for(condition: Any, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


def status(client: Client, acs_trans_id: str) -> tuple[int, dict[str, Any]]:
    answer = client.get(f"/3ds/challenge/{acs_trans_id}/status")
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.status_code, answer.json()


def ready(client: Client, started: Started) -> bool:
    code, body = status(client, started.acs_trans_id)
    assert code == 200
    return bool(body["ready"])


def end_challenge(client: Client, started: Started, outcome: str, sms: Any) -> str:
    """The challenge's page up to its outcome ("success" or "cancel"): the progress page."""
    html = post_creq(client, started.creq()).content.decode()
    if outcome == "cancel":
        return str(step(client, html, action="cancel").content.decode())
    html = step(client, html, action="validate", epin="1234").content.decode()
    wait_for(lambda: len(sms.state.received) == 1, timeout=10.0)
    return str(
        step(client, html, action="validate", otp=sms_code(sms.state.received[0]["text"])).content.decode()
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("outcome", "trans_status"), [("success", "Y"), ("cancel", "N")])
def test_the_final_cres_waits_for_a_ds_that_answers_after_one_second(
    client: Client, outbound: Any, ds: DirectoryServer, delivery_thread: None, outcome: str, trans_status: str
) -> None:
    # given a DS that answers each RReq one second after it came in
    ds.delay = 1.0
    started = start(client, ds_url=ds.url)
    # when the challenge ends
    html = end_challenge(client, started, outcome, outbound[1])
    ended = time.time()
    # then the progress page comes, without a CRes, and the status says not ready
    assert progress_form(html)
    assert not ready(client, started)
    # and its form posted now, before the RRes, gets the progress page again, still without a CRes
    html = step(client, html, action="finish").content.decode()
    assert progress_form(html)
    # until the RRes is in, well before the 10 s wait
    wait_for(lambda: ready(client, started), timeout=8.0)
    assert time.time() - ended >= 0.9
    tx = AcsTransaction.objects.get(pk=started.tx_id)
    assert tx.state == AcsTransaction.State.COMPLETED
    # then the form gets the final CRes
    html = step(client, html, action="finish").content.decode()
    assert b64url_json(hidden(html, "cres") or "")["transStatus"] == trans_status
    # after the RRes: in the message log, in the audit log, and in time
    log = list(AcsMessage.objects.filter(transaction=tx).order_by("id").values_list("kind", "created_at"))
    assert [kind for kind, _ in log] == ["AReq", "ARes", "CReq", "RReq", "RRes", "CRes"]
    (_, rres_at), (_, cres_at) = log[-2:]
    assert rres_at <= cres_at
    [answered] = ds.answered_at
    assert cres_at.timestamp() >= answered
    events = list(
        AuditEvent.objects.filter(
            subject=started.acs_trans_id, event__in=["acs:rres:received", "acs:cres:posted"]
        ).order_by("id")
    )
    assert [e.event for e in events] == ["acs:rres:received", "acs:cres:posted"]
    assert events[1].detail == {"trans_status": trans_status, "rres_received": True}
    assert len(ds.received) == 1


@pytest.mark.django_db
def test_the_finish_form_before_the_rres_and_before_the_wait_gets_no_cres(client: Client, clock: Any) -> None:
    # given a challenge cancelled, whose DS has not answered (nothing delivered the RReq)
    started = start(client)
    html = post_creq(client, started.creq()).content.decode()
    html = step(client, html, action="cancel").content.decode()
    first = html
    # when its form is posted 9 s later
    clock.advance(seconds=9)
    page = step(client, html, action="finish")
    # then it gets the progress page again, with a new token and the time left, and no CRes anywhere
    html = page.content.decode()
    assert page.status_code == 200
    assert progress_form(html)
    assert 'data-wait="' in html
    assert 0 < int(html.split('data-wait="')[1].split('"')[0]) <= 1000
    assert "Vous avez annulé votre paiement." in html
    assert not AcsMessage.objects.filter(transaction_id=started.tx_id, kind="CRes").exists()
    assert not AuditEvent.objects.filter(event="acs:cres:posted").exists()
    assert status(client, started.acs_trans_id) == (200, {"ready": False})
    assert step(client, first, action="finish").status_code == 403  # the replaced token
    # once the 10 s are over: ready, and the CRes, though the RRes never came
    clock.advance(seconds=1)
    assert status(client, started.acs_trans_id) == (200, {"ready": True})
    html = step(client, html, action="finish").content.decode()
    assert b64url_json(hidden(html, "cres") or "")["transStatus"] == "N"
    posted = AuditEvent.objects.get(event="acs:cres:posted", subject=started.acs_trans_id)
    assert posted.detail == {"trans_status": "N", "rres_received": False}
    # while the RReq stays queued for the outbox to retry
    message = OutboxMessage.objects.get(channel="http", template="3ds.rreq")
    assert (message.status, message.recipient) == (
        OutboxMessage.Status.PENDING,
        f"rreq:{started.acs_trans_id}",
    )


@pytest.mark.django_db
def test_the_status_url_is_one_query_and_says_only_ready(
    client: Client, django_assert_num_queries: Any
) -> None:
    # given a challenge under way
    started = start(client)
    post_creq(client, started.creq())
    # then its status is one query, and not ready while the cardholder is still at it
    with django_assert_num_queries(1):
        answer = client.get(f"/3ds/challenge/{started.acs_trans_id}/status")
    assert (answer.status_code, answer.json()) == (200, {"ready": False})
    # an unknown transaction is not found; the URL takes GET alone
    assert status(client, "11111111-2222-4333-8444-555555555555") == (404, {"ready": False})
    assert client.post(f"/3ds/challenge/{started.acs_trans_id}/status").status_code == 405
    assert client.get("/3ds/challenge/not-a-uuid/status").status_code == 404


@pytest.mark.django_db
def test_the_wait_is_the_setting(client: Client, clock: Any, settings: Any) -> None:
    import dataclasses

    # given GUICHET_ACS_RRES_WAIT=3
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, rres_wait_s=3)
    )
    started = start(client)
    html = post_creq(client, started.creq()).content.decode()
    # when the challenge is cancelled
    html = step(client, html, action="cancel").content.decode()
    # then the page waits at most 3 s, and is ready after them
    assert 2000 < int(html.split('data-wait="')[1].split('"')[0]) <= 3000
    clock.advance(seconds=2.9)
    assert not ready(client, started)
    clock.advance(seconds=0.1)
    assert ready(client, started)
    finished = AcsTransaction.objects.get(pk=started.tx_id).finished_at
    assert finished is not None
    assert clock.now() - finished >= dt.timedelta(seconds=3)
