"""Signing in with a mailbox's login and password, under the shared lockout and a per-address limit.

What the browser keeps ("mémoriser l'adresse mail", "rester identifié") is the views' and
`sessions.py`'s; this module says whether the credentials are right and what comes next.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.ratelimit import rate_allow
from guichet.codes.services import Alert, Blocked, credential_check
from guichet.core import crypto
from guichet.delivery.services import outbox_enqueue_email
from guichet.payonbill.subscribers.logins import normalise_login
from guichet.payonbill.subscribers.models import Mailbox
from guichet.payonbill.subscribers.passwords import password_hash, password_needs_rehash, password_verify


class SigninOutcome(enum.Enum):
    SIGNED_IN = "signed_in"
    PERSONALISE = "personalise"  # right password, but the mono-BAL mailbox must be personalised first
    FAILED = "failed"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class SigninResult:
    outcome: SigninOutcome
    mailbox: Mailbox | None = None


def mailbox_needs_personalisation(*, mailbox: Mailbox) -> bool:
    """A contract's only mailbox, never personalised ("mono-BAL"): it must choose login and password."""
    return not mailbox.personalised and mailbox.contract.mailboxes.count() == 1


def _unknown_key(login: str) -> str:
    # Unknown addresses are throttled too, so a block never tells that an address exists.
    return "sublogin:" + crypto.keyed_hash("subscriber-login", login)[:40]


def blocked_alert(*, mailbox: Mailbox | None, language: str) -> Alert | None:
    """Tell the mailbox's owner it is blocked; mailboxes without a known address cannot be told."""
    if mailbox is None or not mailbox.address:
        return None
    address = mailbox.address

    def send(until: dt.datetime) -> None:
        outbox_enqueue_email(
            to=address,
            template="subscribers_blocked",
            language=language,
            context={"operator": settings.GUICHET.subscribers, "until": until, "address": address},
        )

    return Alert(send=send)


def address_allowed(*, ip: str, scope: str, event: Event) -> bool:
    """The per-address limit of the sign-in pages (`scope` names the counter); a refusal is audited."""
    config = settings.GUICHET.subscribers
    if rate_allow(
        key=f"{scope}:{ip}",
        limit=config.signin_ip_limit,
        window=dt.timedelta(seconds=config.signin_ip_window_s),
    ):
        return True
    audit_record(event=event, ip=ip, outcome=AuditEvent.Outcome.REFUSED, reason="rate_limited")
    return False


def mailbox_signin(*, login: str, password: str, ip: str, language: str) -> SigninResult:
    """Check a mailbox address (or initial login) and password.

    The answer for an unknown address is the same, takes as long (a dummy hash is checked) and is
    blocked the same way after 5 failures; only a real mailbox's owner gets the alert email.
    """
    if not address_allowed(ip=ip, scope="subscribers-signin", event=Event.SUBSCRIBERS_SIGNIN_ATTEMPT):
        return SigninResult(SigninOutcome.RATE_LIMITED)
    login = normalise_login(login)
    mailbox = Mailbox.objects.select_related("contract").filter(login=login).first() if login else None
    key = mailbox.throttle_key if mailbox else _unknown_key(login)
    # Argon2id runs before the throttle's row lock is taken: holding the lock (on SQLite, the whole
    # database) for the hash would serialise every sign-in. Only the counted answer is used, so
    # parallel guesses still get no more than 5 answers before the block.
    right = password_verify(mailbox.password_hash if mailbox else None, password)
    try:
        with transaction.atomic():
            ok = credential_check(
                key=key,
                check=lambda: right,
                event=Event.SUBSCRIBERS_PASSWORD_VERIFY,
                ip=ip,
                alert=blocked_alert(mailbox=mailbox, language=language),
            )
    except Blocked:
        return SigninResult(SigninOutcome.BLOCKED)
    if not ok or mailbox is None:
        return SigninResult(SigninOutcome.FAILED)
    if password_needs_rehash(mailbox.password_hash):
        mailbox.password_hash = password_hash(password)
        Mailbox.objects.filter(pk=mailbox.pk).update(password_hash=mailbox.password_hash)
    if mailbox_needs_personalisation(mailbox=mailbox):
        return SigninResult(SigninOutcome.PERSONALISE, mailbox)
    return SigninResult(SigninOutcome.SIGNED_IN, mailbox)
