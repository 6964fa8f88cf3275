"""The one mechanism every one-time code and static credential check goes through.

* `codes_issue` makes codes (CSPRNG), stores their keyed hashes and voids the previous ones,
  under a resend cooldown and an hourly cap per identity.
* `codes_verify` checks several codes at once and says only "all right" or "not right".
* `credential_check` wraps any other check (an ePin, a password) in the same throttle:
  5 consecutive failures block the holder for a time that grows on repeat, and the owner is told.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes import policy
from guichet.codes.models import CredentialThrottle, OneTimeCode
from guichet.core import clock, crypto


@dataclass(frozen=True)
class CodeSpec:
    channel: str
    length: int
    alphabet: str = crypto.DIGITS


class Blocked(Exception):
    """Too many consecutive failures: no check is made until `until`."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__("blocked")
        self.until = until


class SendRefused(Exception):
    """A new code cannot be sent yet (`reason`: "cooldown" or "hourly_cap")."""

    def __init__(self, reason: str, retry_after: dt.timedelta) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Alert:
    """Who to tell when a credential gets blocked; `send` enqueues the message."""

    send: Callable[[dt.datetime], None]


def _hash(*, purpose: str, subject: str, channel: str, code: str) -> str:
    return crypto.keyed_hash("otp", purpose, subject, channel, code)


def _throttle_row(key: str) -> CredentialThrottle:
    """The holder's row, locked for the rest of the transaction."""
    row, _ = CredentialThrottle.objects.select_for_update().get_or_create(
        key=key, defaults={"updated_at": clock.now()}
    )
    return row


def throttle_blocked_until(*, key: str) -> dt.datetime | None:
    row = CredentialThrottle.objects.filter(key=key).only("blocked_until").first()
    if row and row.blocked_until and row.blocked_until > clock.now():
        return row.blocked_until
    return None


def _ensure_not_blocked(row: CredentialThrottle) -> None:
    if row.blocked_until and row.blocked_until > clock.now():
        raise Blocked(row.blocked_until)


def _record_failure(row: CredentialThrottle, *, ip: str, alert: Alert | None) -> None:
    now = clock.now()
    row.failures += 1
    row.updated_at = now
    if row.failures >= policy.MAX_CONSECUTIVE_FAILURES:
        row.block_count += 1
        row.failures = 0
        row.blocked_until = now + policy.block_duration(row.block_count)
        audit_record(
            event=Event.CREDENTIAL_HOLDER_BLOCKED,
            subject=row.key,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            until=row.blocked_until.isoformat(),
            block_count=row.block_count,
        )
        if alert is not None:
            alert.send(row.blocked_until)
    row.save()


def _record_success(row: CredentialThrottle) -> None:
    if row.failures or row.block_count:
        row.failures = 0
        row.block_count = 0
        row.updated_at = clock.now()
        row.save()


def credential_check(
    *, key: str, check: Callable[[], bool], event: Event, ip: str, alert: Alert | None = None
) -> bool:
    """Run `check` under the shared throttle. Raises Blocked; records the outcome and audits it.

    Must run inside a transaction so concurrent attempts are counted one after the other.
    """
    row = _throttle_row(key)
    _ensure_not_blocked(row)
    ok = check()
    audit_record(
        event=event,
        subject=key,
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS if ok else AuditEvent.Outcome.FAILURE,
    )
    if ok:
        _record_success(row)
    else:
        _record_failure(row, ip=ip, alert=alert)
    return ok


def _active(*, purpose: str, subject: str) -> list[OneTimeCode]:
    return list(
        OneTimeCode.objects.filter(
            purpose=purpose, subject=subject, consumed_at__isnull=True, voided_at__isnull=True
        )
    )


def codes_issue(*, purpose: str, subject: str, specs: Sequence[CodeSpec], ip: str) -> dict[str, str]:
    """Make new codes for `subject`, void its earlier ones for `purpose`; return them in clear.

    The caller puts the clear codes into messages in the same transaction and drops them.
    Raises Blocked or SendRefused.
    """
    now = clock.now()
    row = _throttle_row(subject)
    _ensure_not_blocked(row)
    last = OneTimeCode.objects.filter(purpose=purpose, subject=subject).order_by("-sent_at").first()
    if last and now - last.sent_at < policy.RESEND_COOLDOWN:
        raise SendRefused("cooldown", policy.RESEND_COOLDOWN - (now - last.sent_at))
    hour_ago = now - dt.timedelta(hours=1)
    recent = (
        OneTimeCode.objects.filter(subject=subject, sent_at__gt=hour_ago)
        .values_list("batch", "sent_at")
        .distinct()
    )
    batches = dict(recent)
    if len(batches) >= policy.SENDS_PER_HOUR:
        oldest = min(batches.values())
        raise SendRefused("hourly_cap", oldest + dt.timedelta(hours=1) - now)

    OneTimeCode.objects.filter(
        purpose=purpose, subject=subject, consumed_at__isnull=True, voided_at__isnull=True
    ).update(voided_at=now)
    batch = secrets.token_hex(16)
    codes: dict[str, str] = {}
    for spec in specs:
        code = crypto.random_code(spec.length, spec.alphabet)
        codes[spec.channel] = code
        OneTimeCode.objects.create(
            purpose=purpose,
            subject=subject,
            channel=spec.channel,
            batch=batch,
            code_hash=_hash(purpose=purpose, subject=subject, channel=spec.channel, code=code),
            sent_at=now,
            expires_at=now + policy.CODE_VALIDITY,
        )
    audit_record(
        event=Event(f"{purpose}:code:sent"),
        subject=subject,
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS,
        channels=sorted(codes),
    )
    return codes


def codes_verify(
    *, purpose: str, subject: str, entries: Mapping[str, str], ip: str, alert: Alert | None = None
) -> bool:
    """True when every entry matches the live code of its channel; the codes are then used up.

    Every channel is checked whatever the others gave, so neither time nor answer tells which
    code was wrong. Raises Blocked. Must run inside a transaction.
    """
    now = clock.now()
    active = {c.channel: c for c in _active(purpose=purpose, subject=subject)}

    def check() -> bool:
        ok = bool(entries)
        for channel, typed in entries.items():
            code = active.get(channel)
            expected = code.code_hash if code and code.expires_at > now else "!"
            given = _hash(purpose=purpose, subject=subject, channel=channel, code=typed)
            ok = crypto.equals(given, expected) and ok
        return ok

    ok = credential_check(key=subject, check=check, event=Event(f"{purpose}:code:verify"), ip=ip, alert=alert)
    if ok:
        OneTimeCode.objects.filter(pk__in=[active[c].pk for c in entries]).update(consumed_at=now)
    return ok
