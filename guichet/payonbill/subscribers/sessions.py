"""The subscriber's session: who is signed in, for how long, and where to go after signing in.

The subscriber's keys live in Django's session next to the checkout's own, under `sub_*`.
A session is valid while it carries the mailbox's current `session_epoch` (a password change or
"sign out everywhere" bumps it) and, without "rester identifié", while it is used at least every
`GUICHET_SUBSCRIBER_IDLE_TIMEOUT` seconds. With "rester identifié" the cookie outlives the browser
for `GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS` days from the sign-in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.core.http import client_ip
from guichet.payonbill.subscribers.models import Mailbox

MAILBOX = "sub_mailbox"
EPOCH = "sub_epoch"
STAY = "sub_stay"
SIGNED_AT = "sub_signed_at"
SEEN = "sub_seen"
PENDING = "sub_pending"  # right password, personalisation still to do
RESET = "sub_reset"  # the mailbox a reset code was asked for
KEYS = (MAILBOX, EPOCH, STAY, SIGNED_AT, SEEN, PENDING, RESET)


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in; anything else gives the customer space."""
    if (
        value
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None)
        and all(ch.isprintable() for ch in value)
    ):
        return value
    return reverse("subscribers:home")


def subscribers_signin_url(next_url: str) -> str:
    """The sign-in page; once signed in (and personalised when required) the customer lands on
    `next_url`, a local path such as `/pay/<payment_id>/`. Non-local values are ignored."""
    return reverse("subscribers:signin") + "?" + urlencode({"next": safe_next(next_url)})


def _drop(request: HttpRequest) -> None:
    for key in KEYS:
        request.session.pop(key, None)


def _now() -> float:
    return clock.now().timestamp()


def session_sign_in(request: HttpRequest, mailbox: Mailbox, *, stay: bool) -> None:
    """Sign the mailbox in on this browser, under a new session id."""
    request.session.cycle_key()
    _drop(request)
    now = _now()
    request.session[MAILBOX] = mailbox.pk
    request.session[EPOCH] = mailbox.session_epoch
    request.session[STAY] = stay
    request.session[SIGNED_AT] = now
    request.session[SEEN] = now
    days = settings.GUICHET.subscribers.stay_signed_in_days
    # 0: the cookie ends with the browser; otherwise it is kept for the whole "rester identifié".
    request.session.set_expiry(days * 86400 if stay else 0)
    audit_record(
        event=Event.SUBSCRIBERS_SESSION_SIGNIN,
        subject=mailbox.throttle_key,
        ip=client_ip(request),
        outcome=AuditEvent.Outcome.SUCCESS,
        stay=stay,
    )


def session_refresh_epoch(request: HttpRequest, mailbox: Mailbox) -> None:
    """After this session changed the password: it stays signed in, the others end."""
    request.session.cycle_key()
    request.session[EPOCH] = mailbox.session_epoch


def session_sign_out(request: HttpRequest) -> None:
    """End this browser's session (its other data too) under a new, empty session."""
    pk = request.session.get(MAILBOX)
    if pk:
        audit_record(event=Event.SUBSCRIBERS_SESSION_SIGNOUT, subject=f"mailbox:{pk}", ip=client_ip(request))
    request.session.flush()


def session_set_pending(request: HttpRequest, mailbox: Mailbox, *, stay: bool, remember: bool) -> None:
    """The password was right but personalisation comes first: nothing is signed in yet."""
    request.session.cycle_key()
    _drop(request)
    request.session[PENDING] = {
        "mailbox": mailbox.pk,
        "epoch": mailbox.session_epoch,
        "stay": stay,
        "remember": remember,
        "at": _now(),
    }


def session_pending(request: HttpRequest) -> tuple[Mailbox, dict[str, Any]] | None:
    """The mailbox waiting for its personalisation, if this session has one still fresh."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("mailbox"), int):
        return None
    idle = settings.GUICHET.subscribers.idle_timeout_s
    mailbox = Mailbox.objects.select_related("contract").filter(pk=pending["mailbox"]).first()
    if (
        mailbox is None
        or mailbox.session_epoch != pending.get("epoch")
        or mailbox.personalised
        or _now() - float(pending.get("at", 0)) > idle
    ):
        request.session.pop(PENDING, None)
        return None
    return mailbox, pending


def subscribers_current(request: HttpRequest) -> Mailbox | None:
    """The signed-in mailbox (with its contract), or None.

    Honours "rester identifié" (a session that survives the browser for the configured days), the
    inactivity limit of other sessions, and the mailbox's session epoch (sign-out everywhere,
    password change). A session found stale is ended here.
    """
    pk = request.session.get(MAILBOX)
    if not pk:
        return None
    mailbox = Mailbox.objects.select_related("contract").filter(pk=pk).first()
    now = _now()
    config = settings.GUICHET.subscribers
    reason = ""
    if mailbox is None:
        reason = "gone"
    elif mailbox.session_epoch != request.session.get(EPOCH):
        reason = "epoch"
    elif request.session.get(STAY):
        if now - float(request.session.get(SIGNED_AT, 0)) > config.stay_signed_in_days * 86400:
            reason = "expired"
    elif now - float(request.session.get(SEEN, 0)) > config.idle_timeout_s:
        reason = "idle"
    if reason:
        audit_record(
            event=Event.SUBSCRIBERS_SESSION_ENDED,
            subject=f"mailbox:{pk}",
            ip=client_ip(request),
            reason=reason,
        )
        _drop(request)
        return None
    assert mailbox is not None
    if not request.session.get(STAY) and now - float(request.session.get(SEEN, 0)) > 5:
        request.session[SEEN] = now
    return mailbox


def session_signed_in_at(request: HttpRequest) -> dt.datetime | None:
    at = request.session.get(SIGNED_AT)
    return dt.datetime.fromtimestamp(float(at), tz=dt.UTC) if at else None
