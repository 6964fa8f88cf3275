"""API keys, the way every API makes and checks them: `<prefix><8 hex>_<secret>`, shown once, stored
as a keyed hash beside the visible `<prefix><8 hex>` (to recognise a key in lists and logs), and the
wrong keys counted per client address. Each API has its own prefix, hash label and failure counter,
and its own table (its model, its audit events, what a key belongs to): no API accepts another's keys.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from guichet.codes.ratelimit import rate_store
from guichet.core import crypto

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
