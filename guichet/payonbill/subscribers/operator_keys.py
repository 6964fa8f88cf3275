"""The operator's billing system's API keys (GET /api/operator/v1/bill-lines): apart from merchants'
keys, shown once, stored as a keyed hash and a visible prefix, revoked rather than deleted."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.payonbill.subscribers.models import OperatorApiKey
from guichet.webapi.keys import KeyKind, key_authenticate, key_name_check, key_revoke

KEYS = KeyKind(prefix="ok_", hash_label="subscribers/operator-key", failures="operator:key-failure")


def operator_key_add(*, name: str) -> tuple[OperatorApiKey, str]:
    """A new key for the operator's billing system; returns it stored and in clear (shown once)."""
    name = key_name_check(name=name)
    new = KEYS.new()
    key = OperatorApiKey.objects.create(
        name=name, prefix=new.prefix, key_hash=new.key_hash, created_at=clock.now()
    )
    audit_record(event=Event.SUBSCRIBERS_OPERATOR_KEY_CREATED, subject=f"key:{key.prefix}", name=name)
    return key, new.clear


def operator_key_revoke(*, prefix: str) -> OperatorApiKey:
    """Revoke a key by its prefix (idempotent). Raises OperatorApiKey.DoesNotExist."""
    revoked = Event.SUBSCRIBERS_OPERATOR_KEY_REVOKED
    return key_revoke(keys=OperatorApiKey.objects.all(), prefix=prefix, revoked=revoked)


def operator_authenticate(*, api_key: str, ip: str = "") -> OperatorApiKey | None:
    """The active key, or None (401). Failures are counted per address, with the merchants' limits
    (GUICHET_API_KEY_FAILURE_*); beyond them this raises TooManyFailedAuthentications (429)."""
    config = settings.GUICHET.merchants
    return key_authenticate(
        kind=KEYS, keys=OperatorApiKey.objects.all(), api_key=api_key, ip=ip,
        limit=config.api_key_failure_limit, window=dt.timedelta(seconds=config.api_key_failure_window_s),
        rejected=Event.SUBSCRIBERS_OPERATOR_KEY_REJECTED,
    )  # fmt: skip
