"""API keys, the way every API makes and checks them: `<prefix><8 hex>_<secret>`, shown once, stored
as a keyed hash beside the visible `<prefix><8 hex>` (to recognise a key in lists and logs), and the
wrong keys counted per client address. Each API has its own prefix, hash label and failure counter,
and its own table (its model, its audit events, what a key belongs to): no API accepts another's keys.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.ratelimit import rate_store
from guichet.core import clock, crypto
from guichet.webapi.errors import TooManyFailedAuthentications

Key = TypeVar("Key", bound=models.Model)  # a key model: `prefix`, `key_hash`, `revoked_at`
MAX_KEY_LENGTH = 100  # a key is 44 characters or so: anything longer is not one, and is not hashed


@dataclass(frozen=True)
class NewKey:
    prefix: str  # stored and shown: `gk_1a2b3c4d`
    clear: str  # shown once, never stored
    key_hash: str  # stored


@dataclass(frozen=True)
class KeyKind:
    """One API's keys: `prefix` starts every key (`gk_`), `hash_label` keys their hash, `failures`
    names their counter of wrong keys in the rate store."""

    prefix: str
    hash_label: str
    failures: str

    def hash(self, api_key: str) -> str:
        return crypto.keyed_hash(self.hash_label, api_key)

    def new(self) -> NewKey:
        ident = f"{self.prefix}{secrets.token_hex(4)}"
        clear = f"{ident}_{secrets.token_urlsafe(32)}"
        return NewKey(prefix=ident, clear=clear, key_hash=self.hash(clear))

    def lookup_hash(self, api_key: str) -> str | None:
        """The hash to look `api_key` up by, or None when it cannot be one of these keys (another
        prefix, too long): no query for it then."""
        if not api_key.startswith(self.prefix) or len(api_key) > MAX_KEY_LENGTH:
            return None
        return self.hash(api_key)

    def failure(self, *, ip: str, window: dt.timedelta) -> int:
        """Count one wrong or revoked key from `ip`; returns the count in the current window."""
        return rate_store().hit(f"{self.failures}:{ip}", window)


def key_name_check(*, name: str) -> str:
    """A key's name, stripped; raises ValueError unless it has 1 to 100 characters."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("the name must have 1 to 100 characters")
    return name


def key_revoke(*, keys: models.QuerySet[Key], prefix: str, revoked: Event) -> Key:
    """Revoke the key with this visible prefix (idempotent), audited as `revoked` the first time.
    Raises the model's DoesNotExist."""
    key: Any = keys.get(prefix=prefix)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        audit_record(event=revoked, subject=f"key:{key.prefix}")
    found: Key = key
    return found


def key_authenticate(
    *,
    kind: KeyKind,
    keys: models.QuerySet[Key],
    api_key: str,
    ip: str,
    limit: int,
    window: dt.timedelta,
    rejected: Event,
) -> Key | None:
    """The active key, or None (401), each refusal audited as `rejected`. Past `limit` wrong or
    revoked keys from `ip` in `window`, raises TooManyFailedAuthentications (429) unaudited, so that
    wrong keys cannot make the audit table grow without bound."""
    key: Any = None
    lookup = kind.lookup_hash(api_key)
    if lookup is not None:
        key = keys.filter(key_hash=lookup).first()
    if key is not None and key.revoked_at is None:
        found: Key = key
        return found
    if kind.failure(ip=ip, window=window) > limit:
        raise TooManyFailedAuthentications(retry_after_s=int(window.total_seconds()))
    audit_record(
        event=rejected,
        subject=f"key:{key.prefix}" if key else "",
        ip=ip,
        outcome=AuditEvent.Outcome.REFUSED,
        reason="unknown" if key is None else "revoked",
    )
    return None
