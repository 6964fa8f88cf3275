"""Idempotency-Key: a write runs once per (merchant, scope, key); a repeat gets the first answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guichet.payonbill.merchants.models import IdempotencyRecord, Merchant
from guichet.webapi import idempotency
from guichet.webapi.requests import ApiAnswer


def idempotent(
    *,
    merchant: Merchant,
    scope: str,
    key: str | None,
    request: dict[str, Any],
    work: Callable[[], ApiAnswer],
) -> ApiAnswer:
    """Run `work` once per (merchant, scope, key), as `guichet.webapi.idempotency.idempotent` says:
    a merchant's keys are its own, so two merchants may send the same one."""
    return idempotency.idempotent(
        model=IdempotencyRecord,
        owner={"merchant": merchant},
        scope=scope,
        key=key,
        request=request,
        work=work,
    )
