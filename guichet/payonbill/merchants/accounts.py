"""Merchant accounts: creation, API keys (shown once, stored as keyed hashes), the notification
secret (stored encrypted: signing needs it), and the authentication of API requests."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock, crypto
from guichet.core.egress import EgressRefused, egress_check_url, egress_policy
from guichet.payonbill.merchants.models import ApiKey, Merchant
from guichet.webapi.errors import TooManyFailedAuthentications
from guichet.webapi.keys import KeyKind

KEYS = KeyKind(prefix="gk_", hash_label="merchants/api-key", failures="merchants:key-failure")
SECRET_PREFIX = "whsec_"  # noqa: S105 (a visible prefix, not a secret)


@dataclass(frozen=True)
class MerchantCreated:
    merchant: Merchant
    api_key: str  # shown once, never stored in clear
    notification_secret: str  # shown once; stored encrypted because signing needs it


def _secret_label(merchant: Merchant) -> str:
    return f"merchant-secret:{merchant.pk}"


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


def merchant_create(
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


def merchant_secret_get(*, merchant: Merchant) -> str:
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
    new = KEYS.new()
    key = ApiKey.objects.create(
        merchant=merchant,
        prefix=new.prefix,
        key_hash=new.key_hash,
        label=label[:100],
        created_at=clock.now(),
    )
    audit_record(event=Event.MERCHANTS_KEY_CREATED, subject=f"merchant:{merchant.pk}", key=key.prefix)
    return key, new.clear


def merchant_key_revoke(*, prefix: str) -> ApiKey:
    """Revoke the key whose visible prefix is `prefix` (idempotent). Raises ApiKey.DoesNotExist."""
    key = ApiKey.objects.get(prefix=prefix)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        audit_record(event=Event.MERCHANTS_KEY_REVOKED, subject=f"merchant:{key.merchant_id}", key=key.prefix)
    return key


def merchant_authenticate(*, api_key: str, ip: str = "") -> Merchant | None:
    """The active merchant owning this active key, or None (the caller answers 401).

    Failures are counted per client address; beyond `api_key_failure_limit` in the window this
    raises TooManyFailedAuthentications (429) and audits only the first refusal of the window, so
    wrong keys cannot make the audit table grow without bound.
    """
    key = None
    lookup = KEYS.lookup_hash(api_key)
    if lookup is not None:
        key = ApiKey.objects.select_related("merchant").filter(key_hash=lookup).first()
    if key is not None and key.revoked_at is None and key.merchant.is_active:
        # A valid key is served even from an address over its failure limit: merchants share NAT
        # and cloud egress addresses, and a neighbour guessing keys must not lock them out. Only
        # failures are limited, and guessing a 32-byte key is hopeless anyway.
        return key.merchant
    config = settings.GUICHET.merchants
    failures = KEYS.failure(ip=ip, window=dt.timedelta(seconds=config.api_key_failure_window_s))
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
