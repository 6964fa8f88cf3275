"""Idempotency-Key: a write runs once per (merchant, scope, key); a repeat gets the first answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from guichet.core import clock
from guichet.payonbill.merchants.errors import MerchantError
from guichet.payonbill.merchants.models import IdempotencyRecord, Merchant
from guichet.webapi.requests import ApiAnswer


def _request_hash(scope: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(f"{scope}\n{json.dumps(body, sort_keys=True)}".encode()).hexdigest()


def idempotent(
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
