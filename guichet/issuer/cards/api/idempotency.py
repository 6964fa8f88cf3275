"""Idempotency-Key on the issuer API: a write runs once per (scope, key); a repeat gets the first answer,
the same key with another body gets 422 `idempotency_key_reused`. The issuer is one party, whichever
of its keys calls, so the scope is the operation and its path, not the API key (keys rotate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guichet.issuer.cards.models import IssuerIdempotencyRecord
from guichet.webapi import idempotency
from guichet.webapi.requests import ApiAnswer


def issuer_idempotent(
    *, scope: str, key: str | None, request: dict[str, Any], work: Callable[[], ApiAnswer]
) -> ApiAnswer:
    """Run `work` once per (scope, key), in the transaction that stores its answer: a LifecycleError
    rolls both back, so a refused call changes nothing and leaves the key free."""
    return idempotency.idempotent(
        model=IssuerIdempotencyRecord, owner={}, scope=scope, key=key, request=request, work=work
    )
