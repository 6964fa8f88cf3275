"""Delivering the outbox: one pass (`deliver_due`), a thread for the embedded default, a loop for
`guichet worker`.

Several deliverers may run at once (threads, processes, hosts): a message is claimed by a
conditional update, so only one of them sends it; a claim that is not settled within its lease
(the process died) is claimed again. Only the oldest open message of each recipient is ever
claimed, which keeps each recipient's messages in order.

The running deliverer (`DeliveryThread`) sends through lanes: SMS, email, and one lane per kind of
HTTP message, each with its own few sending threads. A Directory Server or a merchant that accepts
connections and never answers holds only its own lane's threads (for at most the HTTP timeout): the
codes people are waiting for keep going out.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections
from django.db.models import Min, Q

from guichet.core import clock
from guichet.delivery.http import http_post, registered_http_kinds
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError, PermanentDeliveryError, Sender, email_sender, sms_sender
from guichet.delivery.services import outbox_content, outbox_http_content
from guichet.delivery.wakeup import bell, wake

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
    doubled: dt.timedelta = FIRST_RETRY * 2**doublings
    return min(doubled, LONGEST_RETRY)


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


def _default_senders() -> dict[str, Sender]:
    return {OutboxMessage.Channel.SMS: sms_sender(), OutboxMessage.Channel.EMAIL: email_sender()}


def _deliver_claimed(message: OutboxMessage, senders: dict[str, Sender]) -> bool:
    """Send a message this deliverer holds the claim of, and settle it; True when it was accepted."""
    try:
        _send(message, senders)
    except DeliveryError as exc:
        # A destination the egress policy refuses will not change by retrying: given up at once.
        _settle(message, str(exc), permanent=isinstance(exc, PermanentDeliveryError))
        return False
    except Exception as exc:  # a bug must not stop delivery of everything else
        log.exception("unexpected delivery failure for #%s", message.seq)
        _settle(message, f"internal error: {type(exc).__name__}")
        return False
    _settle(message, None)
    return True


def _heads(lane: str | None = None, *, limit: int = 200) -> list[int]:
    """The oldest open message of each recipient (of one lane's messages when `lane` is given)."""
    open_messages = OutboxMessage.objects.filter(status__in=OPEN)
    if lane is not None:
        open_messages = open_messages.filter(_lane_filter(lane))
    heads = (
        open_messages.values("recipient")
        .annotate(head=Min("seq"))
        .values_list("head", flat=True)
        .order_by("head")
    )
    return list(heads[:limit])


def deliver_due(*, limit: int = 200, senders: dict[str, Sender] | None = None) -> int:
    """Run the periodic tasks, then send what is due now, one message after the other; return how
    many messages were handed over. The running deliverer is `DeliveryThread`; this is one pass."""
    senders = senders or _default_senders()
    _run_periodic()
    _give_up_expired()
    sent = 0
    for seq in _heads(limit=limit):
        message = _claim(seq)
        if message is not None and _deliver_claimed(message, senders):
            sent += 1
    return sent


# --- lanes -------------------------------------------------------------------------------------------

SMS_LANE, EMAIL_LANE, OTHER_HTTP_LANE = "sms", "email", "http"
HTTP_LANE_PREFIX = "http:"
# Sending threads per lane and process: enough for a burst of codes, few enough that a lane whose
# peer hangs holds no more than this many connections. An HTTP kind nobody registered only fails.
LANE_CONCURRENCY = {SMS_LANE: 4, EMAIL_LANE: 4, OTHER_HTTP_LANE: 1}
HTTP_LANE_CONCURRENCY = 4


def lane_of(channel: str, template: str) -> str:
    """`sms`, `email`, `http:<kind>` for each registered kind of HTTP message, else `http`."""
    if channel != OutboxMessage.Channel.HTTP:
        return str(channel)
    return HTTP_LANE_PREFIX + template if template in registered_http_kinds() else OTHER_HTTP_LANE


def _lane_filter(lane: str) -> Q:
    http = Q(channel=OutboxMessage.Channel.HTTP)
    if lane.startswith(HTTP_LANE_PREFIX):
        return http & Q(template=lane.removeprefix(HTTP_LANE_PREFIX))
    if lane == OTHER_HTTP_LANE:
        return http & ~Q(template__in=registered_http_kinds())
    return Q(channel=lane)


class _Lane:
    """At most `concurrency` threads sending this lane's messages; each one, once its message is
    settled, takes the lane's next due message itself, and ends when there is none."""

    def __init__(self, name: str, stopping: threading.Event) -> None:
        self.name = name
        concurrency = LANE_CONCURRENCY.get(name, HTTP_LANE_CONCURRENCY)
        self.slots = threading.BoundedSemaphore(concurrency)
        self.stopping = stopping
        self.in_flight: set[int] = set()  # claimed here and not settled yet
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def busy(self, seq: int) -> bool:
        with self.lock:
            return seq in self.in_flight

    def offer(self, seq: int) -> bool:
        """Claim message `seq` and start sending it, if the lane has a free thread and the claim wins."""
        if not self.slots.acquire(blocking=False):
            return False
        try:
            message = _claim(seq)
        except BaseException:  # the database is away: the dispatcher logs it and waits
            self.slots.release()
            raise
        if message is None:
            self.slots.release()
            return False
        with self.lock:
            self.in_flight.add(seq)
            self.threads = [t for t in self.threads if t.is_alive()]
            thread = threading.Thread(
                target=self._run, args=(message,), name=f"guichet-delivery-{self.name}", daemon=True
            )
            self.threads.append(thread)
        thread.start()
        return True

    def _next(self) -> OutboxMessage | None:
        for seq in _heads(self.name, limit=50):
            if self.busy(seq):
                continue
            message = _claim(seq)
            if message is not None:
                with self.lock:
                    self.in_flight.add(seq)
                return message
        return None

    def _run(self, first: OutboxMessage) -> None:
        message: OutboxMessage | None = first
        try:
            while message is not None:
                try:
                    _deliver_claimed(message, _default_senders())
                finally:
                    with self.lock:
                        self.in_flight.discard(message.seq)
                message = None if self.stopping.is_set() else self._next()
        except Exception:  # the database may be away: the claim's lease runs out, another pass retries
            log.exception("delivery lane %s failed; its messages are retried", self.name)
        finally:
            self.slots.release()
            # A sending thread ends when its lane is idle: its connections must not outlive it.
            connections.close_all()
            wake()  # the dispatcher may have passed over messages while this lane was full

    def join(self, deadline: float) -> None:
        with self.lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))


class DeliveryThread(threading.Thread):
    """The embedded deliverer, and `guichet worker`'s: woken on commit of a new message, and polling
    every `interval`. It runs the periodic tasks and hands each recipient's next due message to its
    lane; the lanes send."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(name="guichet-delivery", daemon=True)
        self.interval = interval
        # Not `_stop`: that name is threading.Thread's own method, which join() calls.
        self._stopping = threading.Event()
        self._lanes: dict[str, _Lane] = {}

    def _lane(self, name: str) -> _Lane:
        if name not in self._lanes:
            self._lanes[name] = _Lane(name, self._stopping)
        return self._lanes[name]

    def dispatch(self) -> int:
        """Hand due messages to their lanes; return how many were handed over."""
        _run_periodic()
        _give_up_expired()
        heads = _heads()
        rows = OutboxMessage.objects.filter(seq__in=heads).values_list("seq", "channel", "template")
        handed = 0
        for seq, channel, template in sorted(rows):
            lane = self._lane(lane_of(channel, template))
            if not lane.busy(seq) and lane.offer(seq):
                handed += 1
        return handed

    def run(self) -> None:
        while not self._stopping.is_set():
            bell.wait(self.interval)
            bell.clear()
            if self._stopping.is_set():
                break
            try:
                while self.dispatch() and not self._stopping.is_set():
                    pass
            except Exception:  # the database may be away for a while: keep going
                log.exception("delivery pass failed; retrying")
                self._stopping.wait(self.interval)
            finally:
                close_old_connections()
        connections.close_all()  # this thread's own connections; they would outlive it otherwise

    def stop(self) -> None:
        """Stop taking messages, and give the ones being sent up to 15 s to settle (those that do not
        are claimed again when their lease runs out)."""
        deadline = time.monotonic() + 15
        self._stopping.set()
        bell.set()
        self.join(timeout=15)
        for lane in list(self._lanes.values()):
            lane.join(deadline)
