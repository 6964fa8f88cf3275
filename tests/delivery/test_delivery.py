"""The outbox against a real SMTP server and a real HTTP SMS receiver: downtime, errors, timeouts.

Time is moved with the domain clock (`clock.advance`) instead of sleeping, so back-off is exact;
`deliver_due()` is called directly, one pass at a time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.db import connection

from guichet.codes.models import OneTimeCode
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content, outbox_enqueue_email, outbox_enqueue_sms
from guichet.delivery.worker import deliver_due, retry_delay
from guichet.issuer.enrollment.services import enrollment_send_codes
from tests.support.factories import make_cardholder
from tests.support.fixtures import email_code, sms_code

SMTP_DOWN = "SMTP delivery failed: ConnectionRefusedError"
SMS_500 = "SMS gateway answered 500"
SMS_TIMEOUT = "SMS gateway unreachable: TimeoutError"


def _sms(to: str, code: str, **kwargs: Any) -> OutboxMessage:
    return outbox_enqueue_sms(
        to=to,
        template="enrollment_code",
        language="en",
        context={"code": code, "brand": settings.GUICHET.branding},
        **kwargs,
    )


def _email(to: str, code: str, **kwargs: Any) -> OutboxMessage:
    return outbox_enqueue_email(
        to=to,
        template="enrollment_code",
        language="en",
        context={"code": code, "brand": settings.GUICHET.branding, "name": "Marie Kafeat"},
        **kwargs,
    )


def _fresh(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(seq=message.seq)


def _deliver(clock: Any) -> tuple[int, dt.datetime, dt.datetime]:
    """One pass, with the clock readings around it (the failure time lies between them)."""
    before = clock.now()
    handed_over = deliver_due()
    return handed_over, before, clock.now()


def _assert_retry(
    message: OutboxMessage, *, attempts: int, error: str, before: dt.datetime, after: dt.datetime
) -> None:
    row = _fresh(message)
    assert row.status == OutboxMessage.Status.PENDING
    assert row.attempts == attempts
    assert row.last_error == error
    assert row.sent_at is None
    assert row.lease_until is None
    delay = retry_delay(attempts)
    assert before + delay <= row.next_attempt_at <= after + delay


def _assert_untouched(message: OutboxMessage) -> None:
    row = _fresh(message)
    assert row.status == OutboxMessage.Status.PENDING
    assert row.attempts == 0
    assert row.last_error == ""


def test_retry_delay_doubles_from_2_seconds_up_to_30_minutes():
    # given / when
    delays = [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 11, 12, 50)]
    # then
    assert delays == [2, 4, 8, 16, 1024, 1800, 1800, 1800]


@pytest.mark.django_db
def test_message_failing_for_most_of_a_day_keeps_retrying_every_30_minutes(outbound, clock):
    # given: an email that has already failed 57 times (a day of downtime at the 30-minute ceiling)
    smtp, _ = outbound
    smtp.stop()
    old = _email("alice@example.com", "Ak2m3")
    OutboxMessage.objects.filter(seq=old.seq).update(attempts=57)
    other = _email("bob@example.com", "Bq7r8")

    # when
    handed_over, before, after = _deliver(clock)

    # then: both are settled for a retry 30 minutes on (the pass is not aborted)
    assert handed_over == 0
    _assert_retry(old, attempts=58, error=SMTP_DOWN, before=before, after=after)
    _assert_retry(other, attempts=1, error=SMTP_DOWN, before=before, after=after)
    assert retry_delay(58) == dt.timedelta(minutes=30)


@pytest.mark.django_db
def test_emails_wait_out_smtp_downtime_with_backoff_then_arrive_once_in_order(outbound, clock):
    # given: the SMTP server is down; alice gets 3 emails, bob 2, written interleaved
    smtp, sms = outbound
    smtp.stop()
    alice, bob = "alice@example.com", "bob@example.com"
    a1 = _email(alice, "Ak2m3")
    b1 = _email(bob, "Bq7r8")
    a2 = _email(alice, "Ak2m4")
    b2 = _email(bob, "Bq7r9")
    a3 = _email(alice, "Ak2m5")

    # when: three passes while the server stays down, each after the back-off has elapsed
    handed_over, before, after = _deliver(clock)
    # then: only each recipient's oldest message was tried, failed, and waits 2 s
    assert handed_over == 0
    for head in (a1, b1):
        _assert_retry(head, attempts=1, error=SMTP_DOWN, before=before, after=after)
    for later in (a2, b2, a3):
        _assert_untouched(later)

    clock.advance(seconds=2)
    handed_over, before, after = _deliver(clock)
    assert handed_over == 0
    for head in (a1, b1):
        _assert_retry(head, attempts=2, error=SMTP_DOWN, before=before, after=after)

    clock.advance(seconds=4)
    handed_over, before, after = _deliver(clock)
    assert handed_over == 0
    for head in (a1, b1):
        _assert_retry(head, attempts=3, error=SMTP_DOWN, before=before, after=after)
    for later in (a2, b2, a3):
        _assert_untouched(later)

    # when: the server is back, but the 8 s back-off has not elapsed
    smtp.start()
    early = deliver_due()
    # then: nothing is sent early
    assert early == 0
    assert smtp.received == []
    assert _fresh(a1).attempts == 3

    # when: the back-off has elapsed; one pass per position in each recipient's queue
    clock.advance(seconds=8)
    passes = [deliver_due() for _ in range(4)]

    # then: every message arrived exactly once, in the order written for each recipient
    assert passes == [2, 2, 1, 0]
    assert len(smtp.received) == 5
    assert [email_code(m.body) for m in smtp.to(alice)] == ["Ak2m3", "Ak2m4", "Ak2m5"]
    assert [email_code(m.body) for m in smtp.to(bob)] == ["Bq7r8", "Bq7r9"]
    assert {m.subject for m in smtp.received} == {"Banque Corail - your verification code"}
    message_ids = [m.message_id for m in smtp.received]
    assert len(set(message_ids)) == 5
    for message, received in zip((a1, a2, a3), smtp.to(alice), strict=True):
        assert received.message_id.endswith(f".{message.message_id}@guichet>")
    for message, received in zip((b1, b2), smtp.to(bob), strict=True):
        assert received.message_id.endswith(f".{message.message_id}@guichet>")
    rows = {m.seq: _fresh(m) for m in (a1, b1, a2, b2, a3)}
    assert {r.status for r in rows.values()} == {OutboxMessage.Status.SENT}
    assert [rows[m.seq].attempts for m in (a1, b1, a2, b2, a3)] == [4, 4, 1, 1, 1]
    assert {r.last_error for r in rows.values()} == {""}
    assert all(r.sent_at is not None for r in rows.values())
    assert sms.state.received == []

    # when: later passes run
    clock.advance(seconds=3600)
    # then: nothing is sent again
    assert deliver_due() == 0
    assert len(smtp.received) == 5


@pytest.mark.django_db
def test_sms_retried_while_gateway_answers_500_then_sent_once_in_order_with_protocol_body(outbound, clock):
    # given: the gateway answers 500; two SMS to one number and one to another, interleaved
    smtp, sms = outbound
    sms.set_mode("error")
    first, other = "+687751111", "+687752222"
    f1 = _sms(first, "11110001")
    o1 = _sms(other, "22220001")
    f2 = _sms(first, "11110002")

    # when: two passes while the gateway refuses
    handed_over, before, after = _deliver(clock)
    # then
    assert handed_over == 0
    assert sms.state.refused == 2
    for head in (f1, o1):
        _assert_retry(head, attempts=1, error=SMS_500, before=before, after=after)
    _assert_untouched(f2)

    clock.advance(seconds=2)
    handed_over, before, after = _deliver(clock)
    assert handed_over == 0
    assert sms.state.refused == 4
    for head in (f1, o1):
        _assert_retry(head, attempts=2, error=SMS_500, before=before, after=after)
    _assert_untouched(f2)

    # when: the gateway recovers before the 4 s back-off has elapsed
    sms.set_mode("ok")
    early = deliver_due()
    # then: nothing is sent early
    assert early == 0
    assert sms.state.refused == 4
    assert sms.state.received == []

    # when: the back-off has elapsed
    clock.advance(seconds=4)
    passes = [deliver_due() for _ in range(3)]

    # then: each SMS arrived exactly once, in order per number, as the gateway protocol says
    assert passes == [2, 1, 0]
    assert sms.state.refused == 4
    assert len(sms.state.received) == 3
    assert [sms_code(m["text"]) for m in sms.to(first)] == ["11110001", "11110002"]
    assert [sms_code(m["text"]) for m in sms.to(other)] == ["22220001"]
    assert sms.to(other)[0] == {
        "id": str(o1.message_id),
        "to": other,
        "text": "Banque Corail: your verification code is 22220001. Valid for 10 minutes. Never share it.",
    }
    assert [m["id"] for m in sms.to(first)] == [str(f1.message_id), str(f2.message_id)]
    for payload in sms.state.received:
        assert sorted(payload) == ["id", "text", "to"]
    for headers in sms.state.headers:
        lowered = {name.lower(): value for name, value in headers.items()}
        assert lowered["authorization"] == "Bearer test-token"
        assert lowered["content-type"] == "application/json"
    rows = [_fresh(m) for m in (f1, o1, f2)]
    assert [r.status for r in rows] == [OutboxMessage.Status.SENT] * 3
    assert [r.attempts for r in rows] == [3, 3, 1]
    assert [r.last_error for r in rows] == ["", "", ""]
    assert smtp.received == []

    # when: much later
    clock.advance(seconds=3600)
    # then: nothing is sent again
    assert deliver_due() == 0
    assert len(sms.state.received) == 3


@pytest.mark.django_db
def test_sms_not_answered_in_time_is_retried_and_sent_once_when_gateway_answers(outbound, clock):
    # given: the gateway takes 6 s to answer (longer than the 5 s timeout); two SMS to one number
    _, sms = outbound
    sms.set_mode("hang")
    number = "+687753333"
    m1 = _sms(number, "33330001")
    m2 = _sms(number, "33330002")

    # when: one pass (a single hanging call: the second message waits behind the first)
    handed_over, before, after = _deliver(clock)

    # then: the send timed out and will be retried; nothing was recorded as received
    assert handed_over == 0
    _assert_retry(m1, attempts=1, error=SMS_TIMEOUT, before=before, after=after)
    _assert_untouched(m2)
    assert sms.state.received == []

    # when: the gateway answers again and the back-off has elapsed
    sms.set_mode("ok")
    clock.advance(seconds=2)
    passes = [deliver_due() for _ in range(3)]

    # then: each message was received once, in order, with its outbox id (the gateway's dedupe key)
    assert passes == [1, 1, 0]
    assert [m["id"] for m in sms.to(number)] == [str(m1.message_id), str(m2.message_id)]
    assert [sms_code(m["text"]) for m in sms.to(number)] == ["33330001", "33330002"]
    assert [(r.status, r.attempts) for r in (_fresh(m1), _fresh(m2))] == [
        (OutboxMessage.Status.SENT, 2),
        (OutboxMessage.Status.SENT, 1),
    ]
    # the late answer to the timed-out call is not a second delivery
    deadline = time.monotonic() + 5
    while sms.state.refused < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sms.state.refused == 1
    assert len(sms.state.received) == 2


@pytest.mark.django_db
def test_a_later_message_waits_for_an_earlier_failed_one_but_other_recipients_do_not(outbound, clock):
    # given: alice's first email failed while the SMTP server was down; her second is queued
    smtp, _ = outbound
    smtp.stop()
    alice, bob = "alice@example.com", "bob@example.com"
    a1 = _email(alice, "Ak2m3")
    a2 = _email(alice, "Ak2m4")
    assert deliver_due() == 0
    smtp.start()

    # when: bob's email is written and a pass runs before alice's back-off has elapsed
    b1 = _email(bob, "Bq7r8")
    handed_over = deliver_due()

    # then: bob's email went out at once; alice's second email was not sent ahead of her first
    assert handed_over == 1
    assert [email_code(m.body) for m in smtp.to(bob)] == ["Bq7r8"]
    assert smtp.to(alice) == []
    assert _fresh(b1).status == OutboxMessage.Status.SENT
    assert (_fresh(a1).status, _fresh(a1).attempts) == (OutboxMessage.Status.PENDING, 1)
    _assert_untouched(a2)

    # when: alice's back-off has elapsed
    clock.advance(seconds=2)
    passes = [deliver_due() for _ in range(3)]

    # then: hers arrive, first then second
    assert passes == [1, 1, 0]
    assert [email_code(m.body) for m in smtp.to(alice)] == ["Ak2m3", "Ak2m4"]
    assert len(smtp.received) == 3


@pytest.mark.django_db
def test_message_past_its_validity_is_given_up_stays_visible_and_the_next_one_proceeds(outbound, clock):
    # given: a code email valid 30 s failed while the server was down; a second email follows it
    smtp, _ = outbound
    smtp.stop()
    alice = "alice@example.com"
    expiring = _email(alice, "Ak2m3", valid_for=dt.timedelta(seconds=30))
    following = _email(alice, "Ak2m4")
    assert deliver_due() == 0
    assert _fresh(expiring).last_error == SMTP_DOWN

    # when: the server is back only after the first email's validity has passed
    smtp.start()
    clock.advance(seconds=30)
    handed_over = deliver_due()

    # then: the expired email is given up (never sent, still in the outbox) and the next one is sent
    assert handed_over == 1
    assert [email_code(m.body) for m in smtp.to(alice)] == ["Ak2m4"]
    given_up = _fresh(expiring)
    assert given_up.status == OutboxMessage.Status.GIVEN_UP
    assert given_up.last_error == "expired before delivery"
    assert given_up.attempts == 1
    assert given_up.sent_at is None
    assert (_fresh(following).status, _fresh(following).attempts) == (OutboxMessage.Status.SENT, 1)
    assert OutboxMessage.objects.count() == 2

    # when: later passes run
    clock.advance(seconds=3600)
    # then: the given-up email is never sent
    assert deliver_due() == 0
    assert len(smtp.received) == 1
    assert _fresh(expiring).status == OutboxMessage.Status.GIVEN_UP


@pytest.mark.django_db
def test_send_timing_out_past_the_validity_is_given_up_with_its_error(outbound, clock):
    # given: an SMS valid 3 s and the gateway not answering within the 5 s timeout
    _, sms = outbound
    sms.set_mode("hang")
    number = "+687754444"
    short = _sms(number, "44440001", valid_for=dt.timedelta(seconds=3))
    following = _sms(number, "44440002")

    # when: the send times out after the validity has passed
    assert deliver_due() == 0

    # then: no retry is planned; the failure stays visible with its cause
    row = _fresh(short)
    assert row.status == OutboxMessage.Status.GIVEN_UP
    assert row.attempts == 1
    assert row.last_error == SMS_TIMEOUT
    assert row.sent_at is None
    _assert_untouched(following)

    # when: the gateway answers again
    sms.set_mode("ok")
    handed_over = deliver_due()

    # then: only the next message is sent, at once
    assert handed_over == 1
    assert [m["id"] for m in sms.to(number)] == [str(following.message_id)]
    assert deliver_due() == 0
    assert _fresh(short).status == OutboxMessage.Status.GIVEN_UP


@pytest.mark.django_db(transaction=True)
def test_codes_whose_transaction_rolls_back_are_never_sent(outbound, clock, monkeypatch):
    # given: a cardholder, and writing the email code fails after the SMS code was written
    smtp, sms = outbound
    holder = make_cardholder(email="marie@example.com", phone="+687755555")

    def broken_email(**kwargs: Any) -> OutboxMessage:
        raise RuntimeError("disk full")

    monkeypatch.setattr("guichet.issuer.enrollment.services.outbox_enqueue_email", broken_email)

    # when: the codes are sent (one transaction: codes and outbox)
    with pytest.raises(RuntimeError):
        enrollment_send_codes(cardholder=holder, ip="203.0.113.7", language="en")
    handed_over = deliver_due()

    # then: neither the codes nor the SMS written before the failure exist, and nothing is sent
    assert handed_over == 0
    assert OutboxMessage.objects.count() == 0
    assert OneTimeCode.objects.count() == 0
    assert sms.state.received == []
    assert smtp.received == []

    # when: the same call succeeds (control: the path above does write and send)
    monkeypatch.undo()
    enrollment_send_codes(cardholder=holder, ip="203.0.113.7", language="en")
    handed_over = deliver_due()

    # then
    assert handed_over == 2
    assert OneTimeCode.objects.count() == 2
    assert [len(sms_code(m["text"])) for m in sms.to("+687755555")] == [8]
    assert [len(email_code(m.body)) for m in smtp.to("marie@example.com")] == [5]


@pytest.mark.django_db
def test_outbox_content_is_encrypted_at_rest_and_bound_to_its_message(clock):
    # given
    sms_message = _sms("+687756666", "90817263")
    email_message = _email("alice@example.com", "Zx8w7")

    # when: the stored bytes are read back from the database
    sms_row, email_row = _fresh(sms_message), _fresh(email_message)
    stored = [bytes(sms_row.content), bytes(email_row.content)]

    # then: neither the codes nor the text appear in clear; the key decrypts them
    for blob in stored:
        for clear in (b"90817263", b"Zx8w7", b"verification", b"Banque Corail", b"Marie"):
            assert clear not in blob
        assert b"90817263".hex().encode() not in blob
    assert outbox_content(sms_row).body == (
        "Banque Corail: your verification code is 90817263. Valid for 10 minutes. Never share it."
    )
    assert outbox_content(sms_row).subject == ""
    assert email_code(outbox_content(email_row).body) == "Zx8w7"
    # a ciphertext moved onto another message does not decrypt
    sms_row.content = email_row.content
    with pytest.raises(InvalidTag):
        outbox_content(sms_row)


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliverers_never_send_a_message_twice(outbound: Any, clock: Any) -> None:
    # given: 40 recipients with 2 SMS each, and 8 deliverers started at the same instant
    _, sms = outbound
    numbers = [f"+68775{n:04d}" for n in range(40)]
    written = [_sms(number, f"5555{n:02d}{k:02d}") for k in range(2) for n, number in enumerate(numbers)]
    start = threading.Barrier(8)
    counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def deliverer() -> None:
        mine = 0
        try:
            start.wait(timeout=10)
            while handed_over := deliver_due():
                mine += handed_over
        except BaseException as exc:  # noqa: BLE001 (a thread's failure, reported by the test)
            errors.append(exc)
        finally:
            connection.close()
            with lock:
                counts.append(mine)

    # when
    threads = [threading.Thread(target=deliverer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: 80 hand-overs in all, each message received exactly once, in order per number
    assert errors == []
    assert len(counts) == 8
    assert sum(counts) == 80
    assert deliver_due() == 0
    ids = [m["id"] for m in sms.state.received]
    assert len(ids) == 80
    assert sorted(ids) == sorted(str(m.message_id) for m in written)
    for n, number in enumerate(numbers):
        assert [sms_code(m["text"]) for m in sms.to(number)] == [f"5555{n:02d}00", f"5555{n:02d}01"]
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxMessage.Status.SENT, 1)}
