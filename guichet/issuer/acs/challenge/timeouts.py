"""The challenge's timers: 30 seconds for the CReq, 10 minutes for the challenge, and the idle limit
of a page; checked when the browser comes back and periodically (`challenge_expire_due`) when it
does not."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from guichet.core import clock
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.outcome import CHALLENGE_TIMED_OUT, CREQ_TIMED_OUT, finish
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.acs.services import acs_transaction_get

CREQ_TIMEOUT = dt.timedelta(seconds=30)
CHALLENGE_TIMEOUT = dt.timedelta(minutes=10)


def idle_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.GUICHET.acs.challenge_idle_timeout_s)


def timer_over(challenge: Challenge, now: dt.datetime) -> str:
    """Which limit ends a challenge under way at `now`: "deadline" (10 minutes), "inactivity" or ""."""
    if challenge.step == Challenge.Step.DONE:
        return ""
    if now >= challenge.deadline:
        return "deadline"
    if now - challenge.served_at > idle_limit():
        return "inactivity"
    return ""


def time_out(*, tx: AcsTransaction, challenge: Challenge, timer: str, ip: str = "") -> bool:
    return finish(tx=tx, challenge=challenge, end=CHALLENGE_TIMED_OUT, ip=ip, timer=timer)


def expire(*, tx: AcsTransaction, now: dt.datetime, ip: str = "") -> bool:
    """End the transaction if its CReq or challenge time is over at `now`, checked again under the
    row lock (a step may have just been served). Must run inside a transaction, `tx` locked."""
    if tx.state == AcsTransaction.State.AWAITING_CREQ:
        return now - tx.ares_sent_at > CREQ_TIMEOUT and finish(
            tx=tx, challenge=None, end=CREQ_TIMED_OUT, ip=ip
        )
    if tx.state != AcsTransaction.State.CHALLENGE:
        return False
    challenge = Challenge.objects.select_for_update().filter(pk=tx.pk).first()
    timer = timer_over(challenge, now) if challenge is not None else ""
    return bool(timer) and challenge is not None and time_out(tx=tx, challenge=challenge, timer=timer, ip=ip)


def challenge_expire_due() -> None:
    """Periodic (every delivery pass): end transactions whose CReq time, challenge time or page
    (inactivity) is over, also when the browser never comes back.

    Cheap (three indexed queries) and idempotent: each candidate is checked again under its row lock
    and its outcome recorded by a conditional update.
    """
    now = clock.now()
    under_way = (Challenge.Step.EPIN, Challenge.Step.SMS)
    late_creq = AcsTransaction.objects.filter(
        state=AcsTransaction.State.AWAITING_CREQ, ares_sent_at__lt=now - CREQ_TIMEOUT
    ).values_list("pk", flat=True)[:100]
    late_challenge = Challenge.objects.filter(step__in=under_way, deadline__lte=now).values_list(
        "pk", flat=True
    )[:100]
    idle = Challenge.objects.filter(step__in=under_way, served_at__lt=now - idle_limit()).values_list(
        "pk", flat=True
    )[:100]
    for pk in dict.fromkeys([*late_creq, *late_challenge, *idle]):
        with transaction.atomic():
            tx = acs_transaction_get(acs_trans_id=pk, for_update=True)
            if tx is not None:
                expire(tx=tx, now=now)
