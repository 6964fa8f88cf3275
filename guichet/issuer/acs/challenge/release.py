"""When the final CRes may go: once the DS's RRes is in, or once GUICHET_ACS_RRES_WAIT is over.

EMV 3DS has the ACS post the final CRes "at the end of the challenge and receipt of the RRes message"
(docs/emv-3ds.md §3.1). The outcome queues the RReq in the outbox (`outcome.finish`); the browser then
gets a progress page (`wait_screen`) whose script asks the status URL (`challenge_ready`) until it is
ready, then posts its form, which only then gets the final CRes (`final_or_wait`). No server thread
waits for the DS: each question is one lookup by primary key. A DS that does not answer holds the
browser no longer than the wait; past it the CRes goes anyway while the outbox keeps retrying the RReq.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from guichet.core import clock
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.screen import Screen, final_screen, wait_screen
from guichet.issuer.acs.models import AcsTransaction

_UNDER_WAY = (AcsTransaction.State.AWAITING_CREQ, AcsTransaction.State.CHALLENGE)


def rres_wait() -> dt.timedelta:
    return dt.timedelta(seconds=settings.GUICHET.acs.rres_wait_s)


def _wait_left(*, state: str, finished_at: dt.datetime | None, now: dt.datetime) -> dt.timedelta | None:
    """How long the final CRes must still wait: None while the challenge is under way, zero once the
    RRes is in or the wait is over."""
    if state in _UNDER_WAY:
        return None
    if state == AcsTransaction.State.COMPLETED or finished_at is None:  # finished_at: rows before it
        return dt.timedelta(0)
    return max(finished_at + rres_wait() - now, dt.timedelta(0))


def challenge_ready(*, acs_trans_id: str) -> bool | None:
    """The status URL's answer: whether the final CRes may be posted now (None: unknown transaction).

    Polled every few hundred milliseconds by each waiting page, so one indexed read and no lock.
    """
    row = AcsTransaction.objects.filter(pk=acs_trans_id).values_list("state", "finished_at").first()
    if row is None:
        return None
    left = _wait_left(state=row[0], finished_at=row[1], now=clock.now())
    return left is not None and not left


def final_or_wait(*, challenge: Challenge, tx: AcsTransaction) -> Screen:
    """The page of a finished challenge: the final CRes once ready, else the progress page again
    (a form posted before the RRes and before the end of the wait gets no CRes)."""
    left = _wait_left(state=tx.state, finished_at=tx.finished_at, now=clock.now())
    if left is None or left:
        return wait_screen(challenge=challenge, tx=tx, wait=left or rres_wait())
    return final_screen(challenge=challenge, tx=tx, rres_received=tx.state == AcsTransaction.State.COMPLETED)
