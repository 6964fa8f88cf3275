"""Payments: what a merchant may ask for, creating and reading them, and every status change.

Each change happens under a row lock (`select_for_update` on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers), follows `models.TRANSITIONS` and writes its signed notification to
the outbox in the same transaction. The hosted checkout calls `payment_for_checkout`,
`payment_complete`, `payment_cancel` and `payment_refuse`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.core.money import ISO_4217
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.accounts import check_http_url
from guichet.payonbill.merchants.errors import MerchantError, PaymentNotFound, PaymentRefused
from guichet.payonbill.merchants.idempotency import idempotent
from guichet.payonbill.merchants.models import Merchant, Payment
from guichet.payonbill.merchants.notifications import notify
from guichet.payonbill.merchants.representation import payment_json, public_id_new
from guichet.webapi.requests import ApiAnswer


@dataclass(frozen=True)
class PaymentInput:
    """What a merchant asks for; shape and types are checked by the API schema already."""

    amount: int
    currency: str
    product: str
    reference: str
    return_url: str
    cancel_url: str
    notification_url: str = ""
    language: str = ""  # "": none given (the checkout's default, French)


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit: what must not vary."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").rstrip("."), port


def _host_allowed(merchant: Merchant, url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    # A URL with an explicit port matches only an entry naming that port.
    return (f"{host}:{parts.port}" if parts.port else host) in merchant.return_hosts


def payment_input_check(*, merchant: Merchant, data: PaymentInput) -> None:
    """The rules that depend on configuration or on the merchant; raises MerchantError."""
    config = settings.GUICHET.merchants
    if not 0 < data.amount <= config.max_amount:
        raise MerchantError(
            "amount_out_of_range",
            f"amount must be between 1 and {config.max_amount} (minor units).",
            field="amount",
        )
    if data.currency not in ISO_4217:
        raise MerchantError("unknown_currency", "currency is not an ISO 4217 code.", field="currency")
    if data.currency not in config.currencies:
        raise MerchantError(
            "currency_not_accepted",
            f"currency must be one of: {', '.join(config.currencies)}.",
            field="currency",
        )
    for field in ("return_url", "cancel_url"):
        url = getattr(data, field)
        try:
            check_http_url(url, what=field)
        except ValueError as exc:
            raise MerchantError("invalid_url", f"{exc}.", field=field) from None
        if not _host_allowed(merchant, url):
            raise MerchantError(
                "return_host_not_allowed",
                f"the host of {field} is not one of the merchant's allowed return hosts.",
                field=field,
            )
    if data.notification_url:
        try:
            check_http_url(data.notification_url, what="notification_url")
        except ValueError as exc:
            raise MerchantError("invalid_url", f"{exc}.", field="notification_url") from None
        # Only where the merchant already receives its notifications: the path and query may vary,
        # never the scheme, host or port (another port of the host may be anything, e.g. a database).
        if _origin(data.notification_url) != _origin(merchant.notification_url):
            raise MerchantError(
                "notification_host_not_allowed",
                "notification_url must have the scheme, host and port of the merchant's notification URL "
                "(only the path and query may differ).",
                field="notification_url",
            )


def payment_create(*, merchant: Merchant, data: PaymentInput, idempotency_key: str | None) -> ApiAnswer:
    """Create a pending payment (or replay the first answer to the same Idempotency-Key)."""
    payment_input_check(merchant=merchant, data=data)

    def work() -> ApiAnswer:
        now = clock.now()
        payment = Payment.objects.create(
            public_id=public_id_new(prefix="pay_"),
            merchant=merchant,
            amount=data.amount,
            currency=data.currency,
            product=data.product,
            reference=data.reference,
            return_url=data.return_url,
            cancel_url=data.cancel_url,
            notification_url=data.notification_url,
            language=data.language,
            status=m.PENDING,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.GUICHET.merchants.payment_ttl_s),
        )
        audit_record(
            event=Event.MERCHANTS_PAYMENT_CREATED,
            subject=payment.public_id,
            merchant=merchant.pk,
            amount=payment.amount,
            currency=payment.currency,
        )
        return ApiAnswer(status=201, body=payment_json(payment))

    request = {k: getattr(data, k) for k in PaymentInput.__dataclass_fields__}
    if not data.language:
        del request["language"]  # a request without it hashes as before the field existed
    return idempotent(merchant=merchant, scope="payments", key=idempotency_key, request=request, work=work)


def payment_get(*, merchant: Merchant, payment_id: str) -> Payment:
    """A payment of this merchant (expired first if due); another merchant's is not found."""
    payment = Payment.objects.filter(merchant=merchant, public_id=payment_id).first()
    if payment is None:
        raise PaymentNotFound()
    return expire_if_due(payment)


# --- status changes ----------------------------------------------------------------------------


def payment_locked(payment_id: str) -> Payment | None:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("merchant")
        .filter(public_id=payment_id)
        .first()
    )


def _move(payment: Payment, status: str, **fields: Any) -> None:
    """Change the status of a locked payment along TRANSITIONS and notify the merchant."""
    if status not in m.TRANSITIONS[payment.status]:
        raise AssertionError(f"{payment.status} → {status} is not a transition")
    payment.status = status
    payment.completed_at = clock.now()
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.save(update_fields=["status", "completed_at", *fields])
    audit_record(
        event=Event(f"merchants:payment:{status}"),
        subject=payment.public_id,
        outcome=AuditEvent.Outcome.SUCCESS if status == m.SUCCEEDED else AuditEvent.Outcome.INFO,
        **({"reason": payment.refusal_reason} if payment.refusal_reason else {}),
    )
    notify(payment=payment, event_type=f"payment.{status}")


def _due(payment: Payment) -> bool:
    return payment.status == m.PENDING and payment.expires_at <= clock.now()


def expire_if_due(payment: Payment) -> Payment:
    """Expire a pending payment past its time (lazily, on read); returns the current state."""
    if not _due(payment):
        return payment
    with transaction.atomic():
        locked = payment_locked(payment.public_id)
        assert locked is not None
        if _due(locked):
            _move(locked, m.EXPIRED)
    return locked


def payment_expire_due(*, limit: int = 100) -> int:
    """Expire pending payments past their time (the periodic sweeper); returns how many."""
    due = list(
        Payment.objects.filter(status=m.PENDING, expires_at__lte=clock.now())
        .order_by("expires_at")
        .values_list("public_id", flat=True)[:limit]
    )
    expired = 0
    for public_id in due:
        with transaction.atomic():
            payment = payment_locked(public_id)
            if payment is not None and _due(payment):
                _move(payment, m.EXPIRED)
                expired += 1
    return expired


def payment_expire_sweep() -> None:
    """The periodic task (about once a second, in whichever process delivers): cheap when idle."""
    payment_expire_due()


def payment_for_checkout(*, payment_id: str) -> Payment | None:
    """The payment behind `/pay/<payment_id>/` with its merchant, expired first if due; None if unknown."""
    payment = Payment.objects.select_related("merchant").filter(public_id=payment_id).first()
    return expire_if_due(payment) if payment is not None else None


def payment_complete(*, payment_id: str, payer_email: str, charge: Callable[[Payment], None]) -> Payment:
    """Charge a pending payment at most once, whatever the concurrency.

    In one transaction: lock the payment row; if it is pending and not expired, call `charge(payment)`
    (which records the bill line in this same transaction), mark the payment `succeeded` with
    `payer_email` and write its notification. If `charge` raises PaymentRefused(reason), whatever it
    wrote is rolled back and the payment becomes `refused` with that reason. A payment that is no
    longer pending (or is past its time, which expires it) is returned unchanged, without calling
    `charge`. Raises PaymentNotFound for an unknown id.
    """
    with transaction.atomic():
        payment = payment_locked(payment_id)
        if payment is None:
            raise PaymentNotFound()
        if _due(payment):
            _move(payment, m.EXPIRED)
            return payment
        if payment.status != m.PENDING:
            return payment
        try:
            with transaction.atomic():  # a savepoint: a refusal undoes what charge() wrote
                charge(payment)
        except PaymentRefused as refused:
            _move(payment, m.REFUSED, refusal_reason=refused.reason[:64])
            return payment
        _move(payment, m.SUCCEEDED, payer_email=payer_email)
        return payment


def _end_pending(payment_id: str, status: str, **fields: Any) -> Payment:
    with transaction.atomic():
        payment = payment_locked(payment_id)
        if payment is None:
            raise PaymentNotFound()
        if _due(payment):
            _move(payment, m.EXPIRED)
        elif payment.status == m.PENDING:
            _move(payment, status, **fields)
        return payment


def payment_cancel(*, payment_id: str) -> Payment:
    """The customer cancelled: a pending payment becomes `cancelled`; any other is returned as is."""
    return _end_pending(payment_id, m.CANCELLED)


def payment_refuse(*, payment_id: str, reason: str) -> Payment:
    """A pending payment becomes `refused` for `reason` (a short code); any other is returned as is."""
    return _end_pending(payment_id, m.REFUSED, refusal_reason=reason[:64])
