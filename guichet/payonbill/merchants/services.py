"""Merchants, API keys, payments, refunds and signed notifications: the domain of the merchant API.

The hosted checkout (guichet/checkout) calls `payment_for_checkout`, `payment_complete`,
`payment_cancel`, `payment_refuse`, `payment_return_url` and `register_refund_listener`; the API views
call the `payments_*` and `refunds_*` functions. Every status change happens here, under a row lock
(`select_for_update` on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), follows
`models.TRANSITIONS` and writes its signed notification to the outbox in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.ratelimit import rate_store
from guichet.core import clock, crypto
from guichet.core.egress import EgressRefused, egress_check_url, egress_policy
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.models import (
    ApiKey,
    IdempotencyRecord,
    Merchant,
    Notification,
    Payment,
    Refund,
)

API_KEY_PREFIX = "gk_"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a visible prefix, not a secret)
NOTIFICATION_KIND = "merchant.notification"
SIGNATURE_HEADER = "Guichet-Signature"
# How old a signature may be before a receiver should refuse it (documented for merchants).
SIGNATURE_TOLERANCE_S = 300


class MerchantError(Exception):
    """A request the domain refuses; `code` is the machine-readable error of the API."""

    def __init__(self, code: str, message: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class TooManyFailedAuthentications(MerchantError):
    """Too many wrong or revoked API keys from one client address in the current window."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "too_many_failed_authentications",
            "too many requests with a wrong or revoked API key from this address; retry later.",
            status=429,
        )
        self.retry_after_s = retry_after_s


class PaymentNotFound(MerchantError):
    def __init__(self) -> None:
        super().__init__("payment_not_found", "No such payment.", status=404)


class PaymentRefused(Exception):
    """Raised by a `charge` callback: the payment is refused for `reason` (a short code) and nothing
    the callback wrote is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- merchants and keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantCreated:
    merchant: Merchant
    api_key: str  # shown once, never stored in clear
    notification_secret: str  # shown once; stored encrypted because signing needs it


def _secret_label(merchant: Merchant) -> str:
    return f"merchant-secret:{merchant.pk}"


def _key_hash(api_key: str) -> str:
    return crypto.keyed_hash("merchants/api-key", api_key)


def normalise_host(host: str) -> str:
    """`Shop.Example` → `shop.example`; raises ValueError on anything that is not a host[:port]."""
    host = host.strip().lower()
    parts = urlsplit(f"//{host}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"not a host name: {host!r}") from None
    if not parts.hostname or parts.username or parts.path or parts.query or parts.fragment:
        raise ValueError(f"not a host name: {host!r}")
    return parts.hostname if port is None else f"{parts.hostname}:{port}"


def check_http_url(url: str, *, what: str, max_length: int = 2000) -> str:
    """An absolute http(s) URL without credentials; raises ValueError otherwise."""
    if len(url) > max_length:
        raise ValueError(f"{what} is longer than {max_length} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not carry a user name or password")
    try:
        parts.port  # noqa: B018 (parsing the port validates it)
    except ValueError:
        raise ValueError(f"{what} has an invalid port") from None
    return url


def merchant_notification_url_check(*, url: str) -> str:
    """A merchant's notification URL: absolute http(s), no credentials, and not an address the egress
    policy refuses (loopback, private, link-local, decimal forms of them...): Guichet posts there.
    Raises ValueError. A host name is not resolved here; each delivery checks what it resolves to."""
    check_http_url(url, what="the notification URL", max_length=500)
    try:
        egress_check_url(url, policy=egress_policy())
    except EgressRefused as exc:
        raise ValueError(f"the notification URL is refused: {exc}") from None
    return url


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit: what must not vary."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").rstrip("."), port


def merchants_create(
    *, name: str, notification_url: str, return_hosts: Sequence[str] = (), logo_url: str = ""
) -> MerchantCreated:
    """Create a merchant with its first API key and its notification secret, returned in clear once.

    Raises ValueError with a readable message on a bad name, URL or host.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("the name must have 1 to 100 characters")
    merchant_notification_url_check(url=notification_url)
    if logo_url:
        check_http_url(logo_url, what="the logo URL", max_length=500)
    hosts = sorted({normalise_host(h) for h in return_hosts})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        merchant = Merchant.objects.create(
            name=name,
            logo_url=logo_url,
            return_hosts=hosts,
            notification_url=notification_url,
            notification_secret_encrypted=b"",
            created_at=clock.now(),
        )
        merchant.notification_secret_encrypted = crypto.encrypt(_secret_label(merchant), secret)
        merchant.save(update_fields=["notification_secret_encrypted"])
        _key, api_key = merchant_key_add(merchant=merchant, label="initial")
        audit_record(event=Event.MERCHANTS_MERCHANT_CREATED, subject=f"merchant:{merchant.pk}", name=name)
    return MerchantCreated(merchant=merchant, api_key=api_key, notification_secret=secret)


def merchant_notification_secret(merchant: Merchant) -> str:
    return crypto.decrypt(_secret_label(merchant), merchant.notification_secret_encrypted)


def merchant_secret_rotate(*, merchant: Merchant) -> str:
    """Replace the notification secret; the new one is returned in clear once."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    merchant.notification_secret_encrypted = crypto.encrypt(_secret_label(merchant), secret)
    merchant.save(update_fields=["notification_secret_encrypted"])
    audit_record(event=Event.MERCHANTS_SECRET_ROTATED, subject=f"merchant:{merchant.pk}")
    return secret


def merchant_key_add(*, merchant: Merchant, label: str = "") -> tuple[ApiKey, str]:
    """A new API key for `merchant` (the others stay valid, so keys can be rotated without a gap).

    Returns the stored key and the clear key, which is shown once and never again.
    """
    # "gk_" + 8 characters that identify the key in lists and logs, "_", then the secret part.
    ident = secrets.token_hex(4)
    clear = f"{API_KEY_PREFIX}{ident}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        merchant=merchant,
        prefix=f"{API_KEY_PREFIX}{ident}",
        key_hash=_key_hash(clear),
        label=label[:100],
        created_at=clock.now(),
    )
    audit_record(event=Event.MERCHANTS_KEY_CREATED, subject=f"merchant:{merchant.pk}", key=key.prefix)
    return key, clear


def merchant_key_revoke(*, prefix: str) -> ApiKey:
    """Revoke the key whose visible prefix is `prefix` (idempotent). Raises ApiKey.DoesNotExist."""
    key = ApiKey.objects.get(prefix=prefix)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        audit_record(event=Event.MERCHANTS_KEY_REVOKED, subject=f"merchant:{key.merchant_id}", key=key.prefix)
    return key


def merchant_authenticate(api_key: str, *, ip: str = "") -> Merchant | None:
    """The active merchant owning this active key, or None (the caller answers 401).

    Failures are counted per client address; beyond `api_key_failure_limit` in the window this
    raises TooManyFailedAuthentications (429) and audits only the first refusal of the window, so
    wrong keys cannot make the audit table grow without bound.
    """
    key = None
    if api_key.startswith(API_KEY_PREFIX) and len(api_key) <= 100:
        key = ApiKey.objects.select_related("merchant").filter(key_hash=_key_hash(api_key)).first()
    if key is not None and key.revoked_at is None and key.merchant.is_active:
        # A valid key is served even from an address over its failure limit: merchants share NAT
        # and cloud egress addresses, and a neighbour guessing keys must not lock them out. Only
        # failures are limited, and guessing a 32-byte key is hopeless anyway.
        return key.merchant
    config = settings.GUICHET.merchants
    failures = rate_store().hit(
        f"merchants:key-failure:{ip}", dt.timedelta(seconds=config.api_key_failure_window_s)
    )
    subject = f"key:{key.prefix}" if key else ""
    reason = "unknown" if key is None else "revoked" if key.revoked_at else "merchant_inactive"
    if failures <= config.api_key_failure_limit:
        audit_record(
            event=Event.MERCHANTS_KEY_REJECTED,
            subject=subject,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason=reason,
        )
        return None
    if failures == config.api_key_failure_limit + 1:  # once per window, not once per request
        audit_record(
            event=Event.MERCHANTS_KEY_THROTTLED,
            subject=subject,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason=reason,
            limit=config.api_key_failure_limit,
            window_s=config.api_key_failure_window_s,
        )
    # The fixed window ends within its length: a safe upper bound whichever store counts.
    raise TooManyFailedAuthentications(retry_after_s=config.api_key_failure_window_s)


# --- payments ----------------------------------------------------------------------------------


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


def _public_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")


def checkout_url(payment: Payment) -> str:
    return f"{settings.GUICHET.public_url}/pay/{payment.public_id}/"


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def payment_json(payment: Payment) -> dict[str, Any]:
    """The payment as the API and the notifications show it."""
    return {
        "id": payment.public_id,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "product": payment.product,
        "reference": payment.reference,
        "amount_refunded": payment.amount_refunded,
        "checkout_url": checkout_url(payment),
        "return_url": payment.return_url,
        "cancel_url": payment.cancel_url,
        "notification_url": payment.notification_url or None,
        "language": payment.language or None,
        "refusal_reason": payment.refusal_reason or None,
        "created_at": _iso(payment.created_at),
        "expires_at": _iso(payment.expires_at),
        "completed_at": _iso(payment.completed_at),
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "payment_id": refund.payment.public_id,
        "amount": refund.amount,
        "reason": refund.reason or None,
        "created_at": _iso(refund.created_at),
    }


def _host_allowed(merchant: Merchant, url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    # A URL with an explicit port matches only an entry naming that port.
    return (f"{host}:{parts.port}" if parts.port else host) in merchant.return_hosts


def payment_input_check(merchant: Merchant, data: PaymentInput) -> None:
    """The rules that depend on configuration or on the merchant; raises MerchantError."""
    config = settings.GUICHET.merchants
    if not 0 < data.amount <= config.max_amount:
        raise MerchantError(
            "amount_out_of_range",
            f"amount must be between 1 and {config.max_amount} (minor units).",
            field="amount",
        )
    from guichet.core.money import ISO_4217

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


def _request_hash(scope: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(f"{scope}\n{json.dumps(body, sort_keys=True)}".encode()).hexdigest()


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _idempotent(
    *,
    merchant: Merchant,
    scope: str,
    key: str | None,
    request: dict[str, Any],
    work: Callable[[], ApiAnswer],
) -> ApiAnswer:
    """Run `work` once per (merchant, scope, key): repeats with the same request get the first answer.

    `work` runs in the transaction that stores its answer, so a crash leaves neither. Two requests with
    one key at once: on PostgreSQL the second insert waits for the first transaction, then fails on the
    unique constraint and replays; on SQLite the IMMEDIATE transactions run one after the other.
    """
    if key is None:
        with transaction.atomic():
            return work()
    digest = _request_hash(scope, request)
    # A repeat of a finished request is answered without a write transaction.
    record = IdempotencyRecord.objects.filter(merchant=merchant, scope=scope, key=key).first()
    collisions = 0
    while record is None:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.filter(merchant=merchant, scope=scope, key=key).first()
                if record is None:
                    # Claimed first, so concurrent repeats wait here rather than doing the work too.
                    claim = IdempotencyRecord.objects.create(
                        merchant=merchant,
                        scope=scope,
                        key=key,
                        request_hash=digest,
                        status_code=0,
                        response={},
                        created_at=clock.now(),
                    )
                    answer = work()  # a MerchantError rolls the claim back: the key stays free
                    claim.status_code, claim.response = answer.status, answer.body
                    claim.save(update_fields=["status_code", "response"])
                    return answer
        except IntegrityError:
            # Another request with this key committed first: read and replay its answer.
            record = None
            collisions += 1
            if collisions > 3:
                raise MerchantError("idempotency_conflict", "please retry the request.", status=409) from None
    if record.request_hash != digest:
        raise MerchantError(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request.",
            status=422,
        )
    return ApiAnswer(status=record.status_code, body=record.response, replayed=True)


def payments_create(*, merchant: Merchant, data: PaymentInput, idempotency_key: str | None) -> ApiAnswer:
    """Create a pending payment (or replay the first answer to the same Idempotency-Key)."""
    payment_input_check(merchant, data)

    def work() -> ApiAnswer:
        now = clock.now()
        payment = Payment.objects.create(
            public_id=_public_id("pay_"),
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
    return _idempotent(merchant=merchant, scope="payments", key=idempotency_key, request=request, work=work)


def payment_get(*, merchant: Merchant, payment_id: str) -> Payment:
    """A payment of this merchant (expired first if due); another merchant's is not found."""
    payment = Payment.objects.filter(merchant=merchant, public_id=payment_id).first()
    if payment is None:
        raise PaymentNotFound()
    return _expire_if_due(payment)


def payments_list(*, merchant: Merchant, reference: str | None, limit: int = 50) -> list[Payment]:
    """This merchant's payments, newest first, optionally those with one reference."""
    query = Payment.objects.filter(merchant=merchant)
    if reference is not None:
        query = query.filter(reference=reference)
    return [_expire_if_due(p) for p in query.order_by("-id")[:limit]]


# --- status changes ----------------------------------------------------------------------------


def _locked(payment_id: str) -> Payment | None:
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
    _notify(payment, f"payment.{status}")


def _due(payment: Payment) -> bool:
    return payment.status == m.PENDING and payment.expires_at <= clock.now()


def _expire_if_due(payment: Payment) -> Payment:
    """Expire a pending payment past its time (lazily, on read); returns the current state."""
    if not _due(payment):
        return payment
    with transaction.atomic():
        locked = _locked(payment.public_id)
        assert locked is not None
        if _due(locked):
            _move(locked, m.EXPIRED)
    return locked


def payments_expire_due(*, limit: int = 100) -> int:
    """Expire pending payments past their time (the periodic sweeper); returns how many."""
    due = list(
        Payment.objects.filter(status=m.PENDING, expires_at__lte=clock.now())
        .order_by("expires_at")
        .values_list("public_id", flat=True)[:limit]
    )
    expired = 0
    for public_id in due:
        with transaction.atomic():
            payment = _locked(public_id)
            if payment is not None and _due(payment):
                _move(payment, m.EXPIRED)
                expired += 1
    return expired


def payments_expire_sweep() -> None:
    """The periodic task (about once a second, in whichever process delivers): cheap when idle."""
    payments_expire_due()


def payment_for_checkout(payment_id: str) -> Payment | None:
    """The payment behind `/pay/<payment_id>/` with its merchant, expired first if due; None if unknown."""
    payment = Payment.objects.select_related("merchant").filter(public_id=payment_id).first()
    return _expire_if_due(payment) if payment is not None else None


def payment_complete(payment_id: str, *, payer_email: str, charge: Callable[[Payment], None]) -> Payment:
    """Charge a pending payment at most once, whatever the concurrency.

    In one transaction: lock the payment row; if it is pending and not expired, call `charge(payment)`
    (which records the bill line in this same transaction), mark the payment `succeeded` with
    `payer_email` and write its notification. If `charge` raises PaymentRefused(reason), whatever it
    wrote is rolled back and the payment becomes `refused` with that reason. A payment that is no
    longer pending (or is past its time, which expires it) is returned unchanged, without calling
    `charge`. Raises PaymentNotFound for an unknown id.
    """
    with transaction.atomic():
        payment = _locked(payment_id)
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
        payment = _locked(payment_id)
        if payment is None:
            raise PaymentNotFound()
        if _due(payment):
            _move(payment, m.EXPIRED)
        elif payment.status == m.PENDING:
            _move(payment, status, **fields)
        return payment


def payment_cancel(payment_id: str) -> Payment:
    """The customer cancelled: a pending payment becomes `cancelled`; any other is returned as is."""
    return _end_pending(payment_id, m.CANCELLED)


def payment_refuse(payment_id: str, reason: str) -> Payment:
    """A pending payment becomes `refused` for `reason` (a short code); any other is returned as is."""
    return _end_pending(payment_id, m.REFUSED, refusal_reason=reason[:64])


# --- refunds -----------------------------------------------------------------------------------

RefundListener = Callable[[Payment, Refund], None]
_refund_listeners: list[RefundListener] = []


def register_refund_listener(fn: RefundListener) -> None:
    """`fn(payment, refund)` runs inside each refund's transaction (e.g. to credit the bill); an
    exception there cancels the refund. Register from an AppConfig.ready()."""
    if fn not in _refund_listeners:
        _refund_listeners.append(fn)


def refunds_create(
    *,
    merchant: Merchant,
    payment_id: str,
    amount: int | None,
    reason: str,
    idempotency_key: str | None,
) -> ApiAnswer:
    """Refund all that is left (amount None) or part of a succeeded payment, never more than paid."""

    def work() -> ApiAnswer:
        payment = _locked(payment_id)
        if payment is None or payment.merchant_id != merchant.pk:
            raise PaymentNotFound()
        if payment.status != m.SUCCEEDED:
            raise MerchantError(
                "payment_not_refundable",
                f"only a succeeded payment can be refunded; this one is {payment.status}.",
                status=409,
            )
        left = payment.amount - payment.amount_refunded
        if left <= 0:  # whatever amount is asked: the state of the payment, not the field, is at fault
            raise MerchantError(
                "payment_fully_refunded", "this payment is already refunded in full.", status=409
            )
        wanted = left if amount is None else amount
        if wanted > left:
            raise MerchantError(
                "refund_exceeds_payment",
                f"at most {left} (minor units) is left to refund.",
                field="amount",
                status=422,
            )
        refund = Refund.objects.create(
            public_id=_public_id("rf_"),
            payment=payment,
            amount=wanted,
            reason=reason,
            created_at=clock.now(),
        )
        payment.amount_refunded += wanted
        payment.save(update_fields=["amount_refunded"])
        for listener in _refund_listeners:
            listener(payment, refund)
        audit_record(
            event=Event.MERCHANTS_REFUND_CREATED,
            subject=payment.public_id,
            refund=refund.public_id,
            amount=wanted,
        )
        _notify(payment, "refund.succeeded", refund=refund)
        return ApiAnswer(status=201, body=refund_json(refund))

    request = {"payment_id": payment_id, "amount": amount, "reason": reason}
    return _idempotent(
        merchant=merchant, scope=f"refunds:{payment_id}", key=idempotency_key, request=request, work=work
    )


# --- signatures and notifications --------------------------------------------------------------


def sign(secret: str, payload: bytes, *, at: int | None = None) -> str:
    """The `Guichet-Signature` value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def return_payload(payment_id: str, status: str) -> bytes:
    """The canonical signed text of a return to the merchant: `payment_id=<id>&status=<status>`."""
    return f"payment_id={payment_id}&status={status}".encode()


def payment_return_url(payment: Payment) -> str:
    """Where the customer goes back to: return_url when the payment succeeded, cancel_url otherwise,
    with `payment_id`, `status`, `t` and `v1` added to its query string; `v1` is the hex
    HMAC-SHA256, under the notification secret, of `<t>.payment_id=<id>&status=<status>`."""
    base = payment.return_url if payment.status == m.SUCCEEDED else payment.cancel_url
    secret = merchant_notification_secret(payment.merchant)
    t = int(clock.now().timestamp())
    signature = sign(secret, return_payload(payment.public_id, payment.status), at=t)
    v1 = signature.split(",v1=", 1)[1]
    parts = urlsplit(base)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in ("payment_id", "status", "t", "v1")
    ]
    query += [("payment_id", payment.public_id), ("status", payment.status), ("t", str(t)), ("v1", v1)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _notify(payment: Payment, event_type: str, *, refund: Refund | None = None) -> Notification:
    """Write the event to the outbox, in the caller's transaction; it is signed at each attempt."""
    from guichet.delivery.services import outbox_enqueue_http

    now = clock.now()
    event_id = _public_id("evt_")
    body: dict[str, Any] = {
        "id": event_id,
        "type": event_type,
        "created_at": _iso(now),
        "payment": payment_json(payment),
    }
    if refund is not None:
        body["refund"] = refund_json(refund)
    merchant = payment.merchant
    message = outbox_enqueue_http(
        kind=NOTIFICATION_KIND,
        key=f"merchant:{merchant.pk}",
        url=payment.notification_url or merchant.notification_url,
        body=json.dumps(body, separators=(",", ":")).encode(),
        valid_for=dt.timedelta(days=settings.GUICHET.merchants.notification_valid_days),
    )
    return Notification.objects.create(
        event_id=event_id,
        type=event_type,
        payment=payment,
        refund=refund,
        outbox_message_id=message.message_id,
        created_at=now,
    )


def notification_prepare(message: Any, body: bytes) -> dict[str, str]:
    """Outbox hook, at each attempt: sign the body with the current time."""
    notification = Notification.objects.select_related("payment__merchant").get(
        outbox_message_id=message.message_id
    )
    secret = merchant_notification_secret(notification.payment.merchant)
    return {SIGNATURE_HEADER: sign(secret, body, at=int(clock.now().timestamp()))}


def notification_accept(message: Any, status: int, body: bytes) -> None:
    """Outbox hook: a 2xx is an acceptance; every answer is recorded on the notification."""
    from guichet.delivery.senders import DeliveryError

    accepted = 200 <= status < 300
    Notification.objects.filter(outbox_message_id=message.message_id).update(
        last_status=status, **({"delivered_at": clock.now()} if accepted else {})
    )
    if not accepted:
        raise DeliveryError(f"merchant answered {status}")
