"""The enrollment portal's flow: email → two codes → cards and methods → ePin."""

from __future__ import annotations

import datetime as dt
import enum

from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.alerts import blocked_alert
from guichet.codes.models import OneTimeCode
from guichet.codes.ratelimit import rate_allow
from guichet.codes.services import Blocked, CodeSpec, SendRefused, codes_issue, codes_verify
from guichet.core import clock, crypto
from guichet.core.masking import mask_email
from guichet.delivery.services import outbox_enqueue_email, outbox_enqueue_sms
from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import cardholder_find

PURPOSE = "enrollment"
SMS_CODE = CodeSpec(channel="sms", length=8)
EMAIL_CODE = CodeSpec(channel="email", length=5, alphabet=crypto.EMAIL_CODE_ALPHABET)


class CodeResult(enum.Enum):
    """What became of a request to send or to check the two enrollment codes."""

    SENT = "sent"
    UNKNOWN = "unknown"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    COOLDOWN = "cooldown"
    HOURLY_CAP = "hourly_cap"
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"


def enrollment_send_codes(*, cardholder: Cardholder, ip: str, language: str) -> CodeResult:
    """Send a fresh SMS code and email code; the earlier ones stop working."""
    brand = settings.GUICHET.branding
    try:
        with transaction.atomic():
            codes = codes_issue(
                purpose=PURPOSE, subject=cardholder.portal_throttle_key, specs=[SMS_CODE, EMAIL_CODE], ip=ip
            )
            outbox_enqueue_sms(
                to=cardholder.phone,
                template="enrollment_code",
                language=language,
                context={"code": codes["sms"], "brand": brand},
                valid_for=dt.timedelta(minutes=10),
            )
            outbox_enqueue_email(
                to=cardholder.email,
                template="enrollment_code",
                language=language,
                context={"code": codes["email"], "brand": brand, "name": cardholder.name},
                valid_for=dt.timedelta(minutes=10),
            )
    except Blocked:
        return CodeResult.BLOCKED
    except SendRefused as refused:
        return CodeResult.COOLDOWN if refused.reason == "cooldown" else CodeResult.HOURLY_CAP
    return CodeResult.SENT


def _client_allowed(ip: str) -> bool:
    """One more look-up or resend from this client address (GUICHET_EMAIL_LOOKUP_LIMIT per window):
    both send codes, so both count, or one address could have SMS sent at will by resending."""
    config = settings.GUICHET
    return rate_allow(
        key=f"enrollment-email:{ip}",
        limit=config.email_lookup_limit,
        window=dt.timedelta(seconds=config.email_lookup_window_s),
    )


def enrollment_start(*, email: str, ip: str, language: str) -> tuple[CodeResult, Cardholder | None]:
    """Step 1: look the email up (rate-limited per client address) and send the two codes."""
    if not _client_allowed(ip):
        audit_record(
            event=Event.ENROLLMENT_EMAIL_LOOKUP,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason="rate_limited",
        )
        return CodeResult.RATE_LIMITED, None
    cardholder = cardholder_find(email=email)
    if cardholder is None:
        audit_record(
            event=Event.ENROLLMENT_EMAIL_LOOKUP,
            subject=mask_email(email),
            ip=ip,
            outcome=AuditEvent.Outcome.FAILURE,
            reason="unknown",
        )
        return CodeResult.UNKNOWN, None
    audit_record(
        event=Event.ENROLLMENT_EMAIL_LOOKUP,
        subject=cardholder.throttle_key,
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS,
    )
    return enrollment_send_codes(cardholder=cardholder, ip=ip, language=language), cardholder


def enrollment_resend_codes(*, cardholder: Cardholder, ip: str, language: str) -> CodeResult:
    """New codes ("Renvoyer les codes"), under the client address's limit as well as the cardholder's."""
    if not _client_allowed(ip):
        audit_record(
            event=Event.ENROLLMENT_CODE_RESEND,
            subject=cardholder.portal_throttle_key,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason="rate_limited",
        )
        return CodeResult.RATE_LIMITED
    return enrollment_send_codes(cardholder=cardholder, ip=ip, language=language)


def _all_expired(cardholder: Cardholder) -> bool:
    live = OneTimeCode.objects.filter(
        purpose=PURPOSE,
        subject=cardholder.portal_throttle_key,
        consumed_at__isnull=True,
        voided_at__isnull=True,
    ).values_list("expires_at", flat=True)
    now = clock.now()
    return not any(expires > now for expires in live)


def enrollment_verify(
    *, cardholder: Cardholder, sms_code: str, email_code: str, ip: str, language: str
) -> CodeResult:
    """Step 2: both codes right, or one error that never says which was wrong."""
    if _all_expired(cardholder):
        # Nothing left to guess against: say so, and count no attempt.
        return CodeResult.EXPIRED
    try:
        with transaction.atomic():
            ok = codes_verify(
                purpose=PURPOSE,
                subject=cardholder.portal_throttle_key,
                entries={"sms": sms_code, "email": email_code},
                ip=ip,
                alert=blocked_alert(email=cardholder.email, language=language),
            )
    except Blocked:
        return CodeResult.BLOCKED
    return CodeResult.VERIFIED if ok else CodeResult.FAILED
