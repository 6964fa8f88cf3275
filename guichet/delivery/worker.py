"""Delivering the outbox: one pass (`deliver_due`), a thread for the embedded default, a loop for
`guichet worker`.

Several deliverers may run at once (threads, processes, hosts): a message is claimed by a
conditional update, so only one of them sends it; a claim that is not settled within its lease
(the process died) is claimed again. Only the oldest open message of each recipient is ever
claimed, which keeps each recipient's messages in order.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections, connections
from django.db.models import Min, Q

from guichet.core import clock
from guichet.delivery.http import http_post
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError, PermanentDeliveryError, Sender, email_sender, sms_sender
from guichet.delivery.services import outbox_content, outbox_http_content

log = logging.getLogger("guichet.delivery")

LEASE = dt.timedelta(seconds=60)
FIRST_RETRY = dt.timedelta(seconds=2)
LONGEST_RETRY = dt.timedelta(minutes=30)
OPEN = (OutboxMessage.Status.PENDING, OutboxMessage.Status.SENDING)


def retry_delay(attempts: int) -> dt.timedelta:
    """2 s, 4 s, 8 s … doubling after each failed attempt, at most 30 minutes."""
    # The exponent is capped: 2 s * 2**46 overflows timedelta, and a message valid one day reaches
    # ~57 attempts at the 30-minute ceiling. 2 s * 2**20 is already far above the ceiling.
    doublings = min(max(attempts - 1, 0), 20)
    return min(FIRST_RETRY * 2**doublings, LONGEST_RETRY)


def _claim(seq: int) -> OutboxMessage | None:
    now = clock.now()
    due = Q(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxMessage.Status.SENDING, lease_until__lt=now
    )
    claimed = OutboxMessage.objects.filter(due, seq=seq).update(
        status=OutboxMessage.Status.SENDING, lease_until=now + LEASE
    )
    return OutboxMessage.objects.get(seq=seq) if claimed else None


def _settle(message: OutboxMessage, error: str | None, *, permanent: bool = False) -> None:
    now = clock.now()
    attempts = message.attempts + 1
    if error is None:
        fields = {"status": OutboxMessage.Status.SENT, "sent_at": now, "last_error": "", "lease_until": None}
        log.info(
            "delivered %s #%s (%s) after %d attempt(s)",
            message.channel,
            message.seq,
            message.template,
            attempts,
        )
    elif permanent:
        fields = {"status": OutboxMessage.Status.GIVEN_UP, "last_error": error[:300], "lease_until": None}
        log.error(
            "refused %s #%s (%s), not retried: %s", message.channel, message.seq, message.template, error
        )
    elif now >= message.give_up_at:
        fields = {"status": OutboxMessage.Status.GIVEN_UP, "last_error": error, "lease_until": None}
        log.error("gave up %s #%s (%s): %s", message.channel, message.seq, message.template, error)
    else:
        fields = {
            "status": OutboxMessage.Status.PENDING,
            "next_attempt_at": now + retry_delay(attempts),
            "last_error": error,
            "lease_until": None,
        }
        log.warning("will retry %s #%s (%s): %s", message.channel, message.seq, message.template, error)
    OutboxMessage.objects.filter(seq=message.seq, status=OutboxMessage.Status.SENDING).update(
        attempts=attempts, **fields
    )


def _give_up_expired() -> None:
    """A message nobody could deliver in time (e.g. an expired code) is closed, unblocking the next."""
    OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, give_up_at__lte=clock.now()).update(
        status=OutboxMessage.Status.GIVEN_UP, last_error="expired before delivery"
    )


_periodic: dict[str, Callable[[], None]] = {}


def register_periodic(name: str, fn: Callable[[], None]) -> None:
    """Run `fn` on every delivery pass (about once a second) in whichever process delivers.

    For expiries and timeouts. Several processes may run it at once: it must be cheap and
    idempotent (conditional updates).
    """
    _periodic[name] = fn


def _run_periodic() -> None:
    for name, fn in list(_periodic.items()):
        try:
            fn()
        except Exception:  # one failing task must not stop delivery nor the other tasks
            log.exception("periodic task %s failed", name)


def _send(message: OutboxMessage, senders: dict[str, Sender]) -> None:
    if message.channel == OutboxMessage.Channel.HTTP:
        post = outbox_http_content(message)
        http_post(message, post.url, post.headers, post.body)
        return
    content = outbox_content(message)
    senders[message.channel].send(
        message_id=str(message.message_id),
        to=message.recipient,
        subject=content.subject,
        body=content.body,
    )


def deliver_due(*, limit: int = 200, senders: dict[str, Sender] | None = None) -> int:
    """Run the periodic tasks, then send what is due now; return how many messages were handed over."""
    senders = senders or {
        OutboxMessage.Channel.SMS: sms_sender(),
        OutboxMessage.Channel.EMAIL: email_sender(),
    }
    _run_periodic()
    _give_up_expired()
    heads = (
        OutboxMessage.objects.filter(status__in=OPEN)
        .values("recipient")
        .annotate(head=Min("seq"))
        .values_list("head", flat=True)
        .order_by("head")[:limit]
    )
    sent = 0
    for seq in list(heads):
        message = _claim(seq)
        if message is None:
            continue
        try:
            _send(message, senders)
        except DeliveryError as exc:
            _settle(message, str(exc), permanent=isinstance(exc, PermanentDeliveryError))
            continue
        except Exception as exc:  # a bug must not stop delivery of everything else
            log.exception("unexpected delivery failure for #%s", message.seq)
            _settle(message, f"internal error: {type(exc).__name__}")
            continue
        _settle(message, None)
        sent += 1
    return sent


_wake = threading.Event()


def wake() -> None:
    _wake.set()


class DeliveryThread(threading.Thread):
    """The embedded deliverer: woken on commit of a new message, and polling every `interval`."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(name="guichet-delivery", daemon=True)
        self.interval = interval
        # Not `_stop`: that name is threading.Thread's own method, which join() calls.
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            _wake.wait(self.interval)
            _wake.clear()
            if self._stopping.is_set():
                break
            try:
                while deliver_due():
                    pass
            except Exception:  # the database may be away for a while: keep going
                log.exception("delivery pass failed; retrying")
                self._stopping.wait(self.interval)
            finally:
                close_old_connections()
        connections.close_all()  # this thread's own connections; they would outlive it otherwise

    def stop(self) -> None:
        self._stopping.set()
        _wake.set()
        self.join(timeout=15)
