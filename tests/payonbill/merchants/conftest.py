"""Merchants of the tests, created the way operators create them, and an API client speaking JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guichet.payonbill.merchants.accounts import MerchantCreated, merchant_create
from tests.payonbill.merchants.billers import RecordingBiller

SHOP = "shop.example"


def make_merchant(
    name: str = "Éditeur Test", *, notification_url: str = "https://shop.example/hooks/guichet", **kwargs: Any
) -> MerchantCreated:
    return merchant_create(
        name=name,
        notification_url=notification_url,
        return_hosts=kwargs.pop("return_hosts", [SHOP]),
        **kwargs,
    )


def payment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": 390,
        "currency": "EUR",
        "product": "PANIER EDITEUR",
        "reference": "order-1",
        "return_url": "https://shop.example/paid?order=1",
        "cancel_url": "https://shop.example/cancelled",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@dataclass
class Api:
    """The merchant API as a merchant calls it: a bearer key and JSON bodies."""

    client: Client
    key: str

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        key: str | None = None,
    ) -> Any:
        headers: dict[str, str] = {}
        if key if key is not None else self.key:
            headers["Authorization"] = f"Bearer {key if key is not None else self.key}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = raw if raw is not None else json.dumps(body).encode()
        return self.client.generic(
            "POST", f"/api/v1/{path}", data, content_type=content_type, headers=headers
        )

    def get(self, path: str, *, key: str | None = None) -> Any:
        chosen = key if key is not None else self.key
        headers = {"Authorization": f"Bearer {chosen}"} if chosen else {}
        return self.client.get(f"/api/v1/{path}", headers=headers)


@pytest.fixture(autouse=True)
def _api_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.payonbill.merchants.urls"


@pytest.fixture(autouse=True)
def _recording_biller(settings: Any) -> None:
    # The checkout's Biller credits a bill these tests never charged: test this area alone.
    settings.GUICHET_BILLER = "tests.payonbill.merchants.billers.RecordingBiller"
    RecordingBiller.credits = []
    RecordingBiller.failure = None


@pytest.fixture
def merchant(db: None) -> MerchantCreated:
    return make_merchant()


@pytest.fixture
def api(merchant: MerchantCreated) -> Api:
    return Api(Client(), merchant.api_key)
