"""Idempotency-Key: a write runs once per (owner, scope, key); a repeat gets the first answer, the same
key with another request gets 422 `idempotency_key_reused`.

The records are each API's own model (its table, its owner: the merchant API scopes keys to a
merchant, the issuer API to nobody), with the fields `scope`, `key`, `request_hash`, `status_code`,
`response` and `created_at`, unique on the owner's fields, `scope` and `key`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, models, transaction

from guichet.core import clock
from guichet.webapi.errors import ApiError
from guichet.webapi.requests import ApiAnswer


def _request_hash(scope: str, body: dict[str, Any]) -> str:
    # The body may hold PANs: only this digest of it is stored, never the body.
    return hashlib.sha256(f"{scope}\n{json.dumps(body, sort_keys=True)}".encode()).hexdigest()


def idempotent(
    *,
    model: type[models.Model],
    owner: Mapping[str, Any],
    scope: str,
    key: str | None,
    request: dict[str, Any],
    work: Callable[[], ApiAnswer],
) -> ApiAnswer:
    """Run `work` once per (owner, scope, key): repeats with the same request get the first answer.

    `work` runs in the transaction that stores its answer, so a crash leaves neither, and an ApiError
    rolls both back: a refused call changes nothing and leaves the key free. Two requests with one key
    at once: on PostgreSQL the second insert waits for the first transaction, then fails on the unique
    constraint and replays; on SQLite the IMMEDIATE transactions run one after the other.
    """
    if key is None:
        with transaction.atomic():
            return work()
    digest = _request_hash(scope, request)
    rows = model._default_manager
    # A repeat of a finished request is answered without a write transaction.
    record: Any = rows.filter(**owner, scope=scope, key=key).first()
    collisions = 0
    while record is None:
        try:
            with transaction.atomic():
                record = rows.filter(**owner, scope=scope, key=key).first()
                if record is None:
                    # Claimed first, so concurrent repeats wait here rather than doing the work too.
                    claim: Any = rows.create(
                        **owner, scope=scope, key=key, request_hash=digest, status_code=0, response={},
                        created_at=clock.now(),
                    )  # fmt: skip
                    answer = work()  # an ApiError rolls the claim back: the key stays free
                    claim.status_code, claim.response = answer.status, answer.body
                    claim.save(update_fields=["status_code", "response"])
                    return answer
        except IntegrityError:
            # Another request with this key committed first: read and replay its answer.
            record = None
            collisions += 1
            if collisions > 3:
                raise ApiError("idempotency_conflict", "please retry the request.", status=409) from None
    if record.request_hash != digest:
        raise ApiError(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request.",
            status=422,
        )
    return ApiAnswer(status=record.status_code, body=record.response, replayed=True)
