"""The issuer API as the issuer's systems call it: an issuer key and JSON bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guichet.issuer.cards.api.keys import issuer_key_add
from tests.support.factories import make_pan

PAN_A, PAN_B = make_pan(), make_pan()


@dataclass
class IssuerApi:
    client: Client
    key: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        raw: bytes | None = None,
        key: str | None = None,
    ) -> Any:
        chosen = key if key is not None else self.key
        headers = {"Authorization": f"Bearer {chosen}"} if chosen else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.generic(
            method, f"/api/issuer/v1/{path}", data, content_type="application/json", headers=headers
        )


def holder_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "marie@example.com",
        "phone": "+687751123",
        "name": "Marie Kafeat",
        "cards": [{"pan": PAN_A, "expiry": "2912", "reference": "K-1"}, {"pan": PAN_B, "expiry": "3001"}],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def issuer_key(db: None) -> str:
    _key, clear = issuer_key_add(name="core banking")
    return clear


@pytest.fixture
def api(issuer_key: str) -> IssuerApi:
    return IssuerApi(Client(), issuer_key)
