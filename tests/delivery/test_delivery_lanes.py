"""The running deliverer's lanes: a peer that hangs delays only its own kind of message.

These run the real `DeliveryThread` (as `guichet serve` and `guichet worker` do) against real peers:
an SMTP server, an SMS receiver, an HTTP receiver, a socket that accepts and never answers, and one
that never takes the connection.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.conf import settings

from guichet.delivery.http import CONNECT_TIMEOUT_S, register_http_kind
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_enqueue_email, outbox_enqueue_http, outbox_enqueue_sms
from guichet.delivery.worker import HTTP_LANE_CONCURRENCY, deliver_due, lane_of
from tests.support.fixtures import sms_code
from tests.support.servers import FullListener, HttpReceiver, SilentListener, SmsGateway, SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)

register_http_kind("test.lane.hung")
register_http_kind("test.lane.other")


def _sms(to: str, code: str) -> OutboxMessage:
    return outbox_enqueue_sms(
        to=to,
        template="enrollment_code",
        language="en",
        context={"code": code, "brand": settings.GUICHET.branding},
    )


def _wait(condition: object, timeout: float) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def test_each_kind_of_message_has_its_own_lane() -> None:
    assert lane_of("sms", "enrollment_code") == "sms"
    assert lane_of("email", "enrollment_code") == "email"
    assert lane_of("http", "test.lane.hung") == "http:test.lane.hung"
    assert lane_of("http", "test.lane.other") == "http:test.lane.other"
    assert lane_of("http", "never.registered") == "http"


def test_a_peer_that_never_answers_does_not_delay_sms_email_or_other_posts(
    outbound: tuple[SmtpServer, SmsGateway],
    http_receiver: HttpReceiver,
    delivery_thread: None,
    silent_listener: SilentListener,
) -> None:
    # given 12 posts to a peer that accepts the connection and never answers (12 hung AReqs' RReqs)
    smtp, sms = outbound
    for n in range(12):
        outbox_enqueue_http(
            kind="test.lane.hung",
            key=f"hung:{n}",
            url=silent_listener.url(),
            body=b"{}",
            valid_for=dt.timedelta(hours=1),
        )
    _wait(lambda: silent_listener.open_connections == HTTP_LANE_CONCURRENCY, timeout=5)
    # when an SMS, an email and a post of another kind are written
    _sms("+687751111", "31415926")
    outbox_enqueue_email(
        to="lanes@example.com",
        template="enrollment_code",
        language="en",
        context={"code": "K7P2Q", "brand": settings.GUICHET.branding, "name": "Marie Kafeat"},
    )
    outbox_enqueue_http(
        kind="test.lane.other",
        key="merchant:1",
        url=http_receiver.url("/notify"),
        body=b'{"ok": 1}',
        valid_for=dt.timedelta(hours=1),
    )
    # then each is delivered within 2 s
    assert _wait(lambda: len(sms.to("+687751111")) == 1, timeout=2) < 2
    assert _wait(lambda: len(smtp.to("lanes@example.com")) == 1, timeout=2) < 2
    assert _wait(lambda: len(http_receiver.accepted()) == 1, timeout=2) < 2
    assert "31415926" in sms.to("+687751111")[0]["text"]
    # and the hung peer never holds more connections than its lane has threads
    assert silent_listener.most_at_once == HTTP_LANE_CONCURRENCY
    hung = OutboxMessage.objects.filter(template="test.lane.hung")
    assert hung.filter(status=OutboxMessage.Status.SENT).count() == 0
    assert hung.filter(status=OutboxMessage.Status.SENDING).count() == HTTP_LANE_CONCURRENCY


def test_one_recipients_messages_keep_their_order_while_the_lane_sends_several_at_once(
    outbound: tuple[SmtpServer, SmsGateway], delivery_thread: None
) -> None:
    # given 8 SMS to one number, interleaved with 8 to other numbers
    _, sms = outbound
    for n in range(8):
        _sms("+687752222", f"2000000{n}")
        _sms(f"+68775300{n}", f"3000000{n}")
    # when the lane delivers them
    received = sms.wait_for("+687752222", count=8, timeout=10)
    # then that number got them in the order they were written, each once
    assert [sms_code(m["text"]) for m in received] == [f"2000000{n}" for n in range(8)]
    for n in range(8):
        assert len(sms.wait_for(f"+68775300{n}", count=1)) == 1
    # (the receiver may have the last SMS a moment before the deliverer records the answer)
    _wait(lambda: not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists(), timeout=5)
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT, attempts=1).count() == 16


def test_a_peer_that_does_not_take_the_connection_is_given_up_on_after_the_connect_timeout(
    full_listener: FullListener,
) -> None:
    # given a post to a peer that never completes the TCP handshake
    message = outbox_enqueue_http(
        kind="test.lane.other",
        key="slow",
        url=full_listener.url(),
        body=b"{}",
        valid_for=dt.timedelta(hours=1),
    )
    # when one pass tries it
    started = time.monotonic()
    assert deliver_due() == 0
    elapsed = time.monotonic() - started
    # then the attempt ends after the 3 s connect timeout, not the 10 s answer timeout
    assert CONNECT_TIMEOUT_S <= elapsed < CONNECT_TIMEOUT_S + 2
    row = OutboxMessage.objects.get(seq=message.seq)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "unreachable: TimeoutError")
