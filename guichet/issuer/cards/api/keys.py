"""Issuer API keys: created by `guichet cards key add`, shown once, stored as keyed hashes. They are
not merchant keys (another prefix, another table, another hash label): neither API accepts the
other's."""

from __future__ import annotations

import datetime as dt

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.issuer.cards.models import IssuerApiKey
from guichet.webapi.keys import KeyKind, key_authenticate, key_name_check, key_revoke

KEYS = KeyKind(prefix="gi_", hash_label="issuer/api-key", failures="issuer:key-failure")
# Wrong keys per client address before 429; the issuer's systems are few and known (no setting).
FAILURE_LIMIT = 20
FAILURE_WINDOW = dt.timedelta(minutes=10)


def issuer_key_add(*, name: str) -> tuple[IssuerApiKey, str]:
    """A new issuer API key; returns it and the clear key, shown once and never again."""
    name = key_name_check(name=name)
    new = KEYS.new()
    key = IssuerApiKey.objects.create(
        prefix=new.prefix, key_hash=new.key_hash, name=name, created_at=clock.now()
    )
    audit_record(event=Event.CARDS_KEY_CREATED, subject=f"key:{key.prefix}", name=name)
    return key, new.clear


def issuer_key_revoke(*, prefix: str) -> IssuerApiKey:
    """Revoke the key with this visible prefix (idempotent). Raises IssuerApiKey.DoesNotExist."""
    return key_revoke(keys=IssuerApiKey.objects.all(), prefix=prefix, revoked=Event.CARDS_KEY_REVOKED)


def issuer_authenticate(*, api_key: str, ip: str = "") -> IssuerApiKey | None:
    """The active key, or None (401). Past FAILURE_LIMIT failures from `ip` in the window, raises
    TooManyFailedAuthentications; only the refusals within the limit are audited."""
    return key_authenticate(
        kind=KEYS, keys=IssuerApiKey.objects.all(), api_key=api_key, ip=ip,
        limit=FAILURE_LIMIT, window=FAILURE_WINDOW, rejected=Event.CARDS_KEY_REJECTED,
    )  # fmt: skip
