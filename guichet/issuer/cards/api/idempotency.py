"""Idempotency-Key on the issuer API: a write runs once per (scope, key); a repeat gets the first answer,
the same key with another body gets 422 `idempotency_key_reused`. The issuer is one party, whichever
of its keys calls, so the scope is the operation and its path, not the API key (keys rotate)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from guichet.core import clock
from guichet.issuer.cards.lifecycle import LifecycleError
from guichet.issuer.cards.models import IssuerIdempotencyRecord
from guichet.webapi.requests import ApiAnswer


def _request_hash(scope: str, body: dict[str, Any]) -> str:
    # The body may hold PANs: only this digest of it is stored, never the body.
    return hashlib.sha256(f"{scope}\n{json.dumps(body, sort_keys=True)}".encode()).hexdigest()


def issuer_idempotent(
    *, scope: str, key: str | None, request: dict[str, Any], work: Callable[[], ApiAnswer]
) -> ApiAnswer:
    """Run `work` once per (scope, key), in the transaction that stores its answer: a LifecycleError
    rolls both back, so a refused call changes nothing and leaves the key free."""
    if key is None:
        with transaction.atomic():
            return work()
    digest = _request_hash(scope, request)
    record = IssuerIdempotencyRecord.objects.filter(scope=scope, key=key).first()
    collisions = 0
    while record is None:
        try:
            with transaction.atomic():
                record = IssuerIdempotencyRecord.objects.filter(scope=scope, key=key).first()
                if record is None:
                    claim = IssuerIdempotencyRecord.objects.create(
                        scope=scope, key=key, request_hash=digest, status_code=0, response={},
                        created_at=clock.now(),
                    )  # fmt: skip
                    answer = work()
                    claim.status_code, claim.response = answer.status, answer.body
                    claim.save(update_fields=["status_code", "response"])
                    return answer
        except IntegrityError:
            record = None
            collisions += 1
            if collisions > 3:
                raise LifecycleError(
                    "idempotency_conflict", "please retry the request.", status=409
                ) from None
    if record.request_hash != digest:
        raise LifecycleError(
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request.",
            status=422,
        )
    return ApiAnswer(status=record.status_code, body=record.response, replayed=True)
