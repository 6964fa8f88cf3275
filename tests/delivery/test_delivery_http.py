"""HTTP posts from the outbox: acceptance rules, signatures made at each attempt, order, back-off."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from guichet.delivery.http import register_http_kind
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError
from guichet.delivery.services import outbox_enqueue_http, outbox_http_content
from guichet.delivery.worker import deliver_due, register_periodic
from tests.support.servers import HttpReceiver, Received

pytestmark = pytest.mark.django_db

VALID = dt.timedelta(hours=1)


def _accept_ack(message: OutboxMessage, status: int, body: bytes) -> None:
    if status != 200 or body != b'{"ack": true}':
        raise DeliveryError(f"no acknowledgement ({status})")


register_http_kind("test.plain")
register_http_kind("test.ack", accept=_accept_ack)
register_http_kind("test.signed", prepare=lambda message, body: {"X-Attempt-Seq": str(message.attempts + 1)})


def test_post_is_sent_once_with_body_and_headers(http_receiver: HttpReceiver) -> None:
    outbox_enqueue_http(
        kind="test.plain",
        key="k1",
        url=http_receiver.url("/hook?x=1"),
        body=b'{"a": 1}',
        headers={"X-Extra": "yes"},
        valid_for=VALID,
    )
    assert deliver_due() == 1
    assert deliver_due() == 0
    assert len(http_receiver.received) == 1
    got = http_receiver.received[0]
    assert (got.path, got.body) == ("/hook?x=1", b'{"a": 1}')
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Extra"] == "yes"
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT


def test_content_is_encrypted_at_rest(http_receiver: HttpReceiver) -> None:
    message = outbox_enqueue_http(
        kind="test.plain", key="k", url=http_receiver.url("/secret-path"), body=b"top-secret", valid_for=VALID
    )
    stored = bytes(OutboxMessage.objects.get(seq=message.seq).content)
    assert b"top-secret" not in stored
    assert b"secret-path" not in stored
    assert outbox_http_content(message).body == b"top-secret"


def test_refused_answer_is_retried_then_accepted(http_receiver: HttpReceiver, clock: Any) -> None:
    http_receiver.respond_with(lambda r: (200, b"not an ack"))
    outbox_enqueue_http(kind="test.ack", key="k", url=http_receiver.url(), body=b"{}", valid_for=VALID)
    assert deliver_due() == 0
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert message.last_error == "no acknowledgement (200)"
    assert deliver_due() == 0  # not due before the back-off
    assert len(http_receiver.received) == 1

    http_receiver.respond_with(lambda r: (200, b'{"ack": true}'))
    clock.advance(seconds=2)
    assert deliver_due() == 1
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
    assert len(http_receiver.received) == 2


def test_server_error_and_unreachable_are_retried(http_receiver: HttpReceiver, clock: Any) -> None:
    http_receiver.respond_with(lambda r: (503, b""))
    outbox_enqueue_http(kind="test.plain", key="k", url=http_receiver.url(), body=b"{}", valid_for=VALID)
    deliver_due()
    assert OutboxMessage.objects.get().last_error == "answered 503"
    http_receiver.stop()
    clock.advance(seconds=2)
    deliver_due()
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 2
    assert message.last_error.startswith("unreachable")


def test_redirect_is_not_followed(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with(lambda r: (302, b""))
    outbox_enqueue_http(kind="test.plain", key="k", url=http_receiver.url(), body=b"{}", valid_for=VALID)
    assert deliver_due() == 0
    assert len(http_receiver.received) == 1
    assert OutboxMessage.objects.get().last_error == "answered 302"


def test_prepare_runs_at_each_attempt(http_receiver: HttpReceiver, clock: Any) -> None:
    http_receiver.respond_with(lambda r: (500, b""))
    outbox_enqueue_http(kind="test.signed", key="k", url=http_receiver.url(), body=b"{}", valid_for=VALID)
    deliver_due()
    http_receiver.respond_with(lambda r: (204, b""))
    clock.advance(seconds=2)
    deliver_due()
    assert [r.headers["X-Attempt-Seq"] for r in http_receiver.received] == ["1", "2"]


def test_same_key_in_order_other_keys_not_held_up(http_receiver: HttpReceiver) -> None:
    def responder(request: Received) -> tuple[int, bytes]:
        return (500, b"") if request.body == b"blocked-1" else (200, b"")

    http_receiver.respond_with(responder)
    for key, body in (("a", b"blocked-1"), ("a", b"blocked-2"), ("b", b"free")):
        outbox_enqueue_http(kind="test.plain", key=key, url=http_receiver.url(), body=body, valid_for=VALID)
    deliver_due()
    # "blocked-2" waits behind "blocked-1" (same key); "free" is not held up by them.
    assert sorted(r.body for r in http_receiver.received) == [b"blocked-1", b"free"]


def test_given_up_after_validity(http_receiver: HttpReceiver, clock: Any) -> None:
    http_receiver.respond_with(lambda r: (500, b""))
    outbox_enqueue_http(
        kind="test.plain", key="k", url=http_receiver.url(), body=b"{}", valid_for=dt.timedelta(seconds=30)
    )
    deliver_due()
    clock.advance(seconds=31)
    deliver_due()
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.GIVEN_UP
    assert len(http_receiver.received) == 1


def test_unregistered_kind_is_kept_for_retry(http_receiver: HttpReceiver) -> None:
    outbox_enqueue_http(kind="test.unknown", key="k", url=http_receiver.url(), body=b"{}", valid_for=VALID)
    assert deliver_due() == 0
    assert http_receiver.received == []
    assert OutboxMessage.objects.get().last_error == "no handler registered for kind 'test.unknown'"


def test_only_http_urls_and_nothing_before_commit(http_receiver: HttpReceiver) -> None:
    with pytest.raises(ValueError, match="only http and https"):
        outbox_enqueue_http(kind="test.plain", key="k", url="file:///etc/passwd", body=b"", valid_for=VALID)
    assert OutboxMessage.objects.count() == 0

    def failing_event() -> None:
        with transaction.atomic():
            outbox_enqueue_http(
                kind="test.plain", key="k", url=http_receiver.url(), body=b"{}", valid_for=VALID
            )
            raise RuntimeError("the event failed")

    with pytest.raises(RuntimeError, match="the event failed"):
        failing_event()
    assert OutboxMessage.objects.count() == 0


def test_periodic_tasks_run_on_each_pass_and_a_failure_does_not_stop_others() -> None:
    calls: list[str] = []

    def failing() -> None:
        calls.append("failing")
        raise RuntimeError("boom")

    register_periodic("test.failing", failing)
    register_periodic("test.counting", lambda: calls.append("counting"))
    try:
        deliver_due()
        deliver_due()
    finally:
        from guichet.delivery import worker

        worker._periodic.pop("test.failing")
        worker._periodic.pop("test.counting")
    assert calls == ["failing", "counting", "failing", "counting"]
