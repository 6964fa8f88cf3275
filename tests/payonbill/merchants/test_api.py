"""The merchant API (docs/merchants.md): exact answers, every bad input refused with nothing stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
from guichet.payonbill.merchants import schemas
from guichet.payonbill.merchants.accounts import merchant_key_add, merchant_key_revoke
from guichet.payonbill.merchants.models import ApiKey, IdempotencyRecord, Payment
from tests.payonbill.merchants.conftest import Api, make_merchant, payment_body

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def nothing_stored() -> None:
    assert Payment.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def expected_payment(payment: Payment, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": payment.public_id,
        "status": "pending",
        "amount": 390,
        "currency": "EUR",
        "product": "PANIER EDITEUR",
        "reference": "order-1",
        "amount_refunded": 0,
        "checkout_url": f"http://127.0.0.1:8000/pay/{payment.public_id}/",
        "return_url": "https://shop.example/paid?order=1",
        "cancel_url": "https://shop.example/cancelled",
        "notification_url": None,
        "language": None,
        "refusal_reason": None,
        "created_at": payment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": (payment.created_at + dt.timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "completed_at": None,
    }
    body.update(changes)
    return body


def test_create_payment_answers_its_id_status_checkout_url_and_expiry(api: Api) -> None:
    # when
    response = api.post("payments", payment_body())
    # then
    assert response.status_code == 201
    payment = Payment.objects.get()
    assert re.fullmatch(r"pay_[A-Za-z0-9]{24}", payment.public_id)
    assert response.json() == expected_payment(payment)
    schemas.PaymentOut.model_validate(response.json())
    assert payment.expires_at - payment.created_at == dt.timedelta(minutes=15)
    assert "Idempotent-Replayed" not in response.headers
    # nothing is notified while the payment is pending
    assert OutboxMessage.objects.count() == 0
    assert (
        AuditEvent.objects.filter(event="merchants:payment:created", subject=payment.public_id).count() == 1
    )


def test_only_the_path_and_query_of_the_notification_url_may_vary(db: None) -> None:
    # given a merchant notified at https://hooks.shop.example/..., returning customers to shop.example
    created = make_merchant(notification_url="https://hooks.shop.example/guichet")
    api = Api(Client(), created.api_key)
    # when / then: the path, the query, the default port written out may vary
    for url in ("https://hooks.shop.example/other?order=1", "https://Hooks.Shop.Example:443/x"):
        assert api.post("payments", payment_body(notification_url=url)).status_code == 201, url
    # and an allowed return host is no notification host
    refused = api.post("payments", payment_body(notification_url="https://shop.example/guichet"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "notification_host_not_allowed")


def test_currency_defaults_to_eur_and_notification_url_may_be_set(api: Api) -> None:
    body = payment_body(currency=..., notification_url="https://shop.example/other-hook")
    response = api.post("payments", body)
    assert response.status_code == 201
    payment = Payment.objects.get()
    assert response.json() == expected_payment(payment, notification_url="https://shop.example/other-hook")


def test_get_payment_and_list_by_reference(api: Api) -> None:
    first = api.post("payments", payment_body()).json()
    second = api.post("payments", payment_body(amount=500)).json()
    other = api.post("payments", payment_body(reference="order-2")).json()
    # when / then
    got = api.get(f"payments/{first['id']}")
    assert got.status_code == 200
    assert got.json() == first
    listed = api.get("payments?reference=order-1")
    assert listed.status_code == 200
    assert listed.json() == {"data": [second, first], "has_more": False, "next_cursor": None}  # newest first
    assert api.get("payments?reference=order-2").json() == {
        "data": [other],
        "has_more": False,
        "next_cursor": None,
    }
    assert api.get("payments?reference=nothing").json() == {
        "data": [],
        "has_more": False,
        "next_cursor": None,
    }
    assert api.get("payments?limit=1").json() == {
        "data": [other],
        "has_more": True,
        "next_cursor": other["id"],
    }
    # A query parameter out of range is a bad request (400), as the OpenAPI document says.
    assert api.get("payments?limit=0").status_code == 400


def test_a_merchant_never_sees_another_merchants_payments(api: Api) -> None:
    theirs = api.post("payments", payment_body()).json()
    other = Api(api.client, make_merchant("Autre éditeur").api_key)
    # when / then
    response = other.get(f"payments/{theirs['id']}")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "payment_not_found", "message": "No such payment.", "field": None}
    }
    assert other.get("payments?reference=order-1").json() == {
        "data": [],
        "has_more": False,
        "next_cursor": None,
    }
    refund = other.post(f"payments/{theirs['id']}/refunds", {})
    assert refund.status_code == 404
    assert api.get("payments/pay_doesnotexist").status_code == 404


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        pytest.param({"amount": "390"}, 422, "invalid_type", "amount", id="amount as text"),
        pytest.param({"amount": 3.9}, 422, "invalid_type", "amount", id="amount as float"),
        pytest.param({"amount": True}, 422, "invalid_type", "amount", id="amount as boolean"),
        pytest.param({"amount": None}, 422, "invalid_type", "amount", id="amount null"),
        pytest.param({"amount": 0}, 422, "out_of_range", "amount", id="zero amount"),
        pytest.param({"amount": -390}, 422, "out_of_range", "amount", id="negative amount"),
        pytest.param({"amount": 1_000_001}, 422, "amount_out_of_range", "amount", id="above the maximum"),
        pytest.param({"amount": 10**30}, 422, "amount_out_of_range", "amount", id="huge amount"),
        pytest.param({"amount": ...}, 422, "missing_field", "amount", id="no amount"),
        pytest.param({"currency": "XYZ"}, 422, "unknown_currency", "currency", id="not ISO 4217"),
        pytest.param({"currency": "USD"}, 422, "currency_not_accepted", "currency", id="not accepted"),
        pytest.param({"currency": "eur"}, 422, "invalid_format", "currency", id="lower-case currency"),
        pytest.param({"currency": 978}, 422, "invalid_type", "currency", id="numeric currency"),
        pytest.param({"product": ""}, 422, "invalid_length", "product", id="empty product"),
        pytest.param({"product": "x" * 129}, 422, "invalid_length", "product", id="long product"),
        pytest.param({"product": "a\nb"}, 422, "invalid_format", "product", id="control character"),
        pytest.param({"reference": ...}, 422, "missing_field", "reference", id="no reference"),
        pytest.param({"reference": 12}, 422, "invalid_type", "reference", id="numeric reference"),
        pytest.param({"language": "de"}, 422, "invalid_value", "language", id="a language not served"),
        pytest.param({"language": "EN"}, 422, "invalid_value", "language", id="language in capitals"),
        pytest.param(
            {"return_url": "https://evil.example/paid"},
            422,
            "return_host_not_allowed",
            "return_url",
            id="foreign return host",
        ),
        pytest.param(
            {"cancel_url": "https://shop.example.evil.example/"},
            422,
            "return_host_not_allowed",
            "cancel_url",
            id="foreign cancel host",
        ),
        pytest.param(
            {"return_url": "https://shop.example:8443/paid"},
            422,
            "return_host_not_allowed",
            "return_url",
            id="allowed host on another port",
        ),
        pytest.param({"return_url": "javascript:alert(1)"}, 422, "invalid_url", "return_url", id="not http"),
        pytest.param({"return_url": "/paid"}, 422, "invalid_url", "return_url", id="relative"),
        pytest.param(
            {"return_url": "https://user:pw@shop.example/"},
            422,
            "invalid_url",
            "return_url",
            id="credentials",
        ),
        pytest.param(
            {"notification_url": "https://evil.example/hook"},
            422,
            "notification_host_not_allowed",
            "notification_url",
            id="foreign notification host",
        ),
        pytest.param(
            {"notification_url": "https://shop.example:5432/hooks/guichet"},
            422,
            "notification_host_not_allowed",
            "notification_url",
            id="another port of the notification host",
        ),
        pytest.param(
            {"notification_url": "http://shop.example/hooks/guichet"},
            422,
            "notification_host_not_allowed",
            "notification_url",
            id="another scheme of the notification host",
        ),
        pytest.param(
            {"notification_url": "https://pay.shop.example/hooks/guichet"},
            422,
            "notification_host_not_allowed",
            "notification_url",
            id="another host of the domain",
        ),
        pytest.param({"colour": "red"}, 422, "unknown_field", "colour", id="unknown field"),
    ],
)
def test_bad_payment_input_is_refused_and_nothing_stored(
    api: Api, changes: dict[str, object], status: int, code: str, field: str
) -> None:
    # when
    response = api.post("payments", payment_body(**changes), idempotency_key="k-1")
    # then
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    nothing_stored()


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        pytest.param(b"{not json", "application/json", 400, "invalid_json", id="bad JSON"),
        pytest.param(b"", "application/json", 400, "invalid_json", id="empty body"),
        pytest.param(b"[1, 2]", "application/json", 400, "invalid_json", id="array"),
        pytest.param(b'{"amount": NaN}', "application/json", 400, "invalid_json", id="NaN"),
        pytest.param(b"\xff\xfe", "application/json", 400, "invalid_json", id="not UTF-8"),
        pytest.param(
            b"amount=390", "application/x-www-form-urlencoded", 415, "unsupported_media_type", id="form"
        ),
        pytest.param(
            b'{"product": "' + b"x" * 20_000 + b'"}',
            "application/json",
            413,
            "body_too_large",
            id="oversized",
        ),
    ],
)
def test_malformed_bodies_are_refused_and_nothing_stored(
    api: Api, raw: bytes, content_type: str, status: int, code: str
) -> None:
    response = api.post("payments", raw=raw, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    nothing_stored()


def test_missing_unknown_and_revoked_keys_get_401_and_nothing_stored(api: Api, merchant) -> None:
    # given: a second key, then revoked
    key, clear = merchant_key_add(merchant=merchant.merchant, label="old")
    merchant_key_revoke(prefix=key.prefix)
    cases = {
        "": "missing_api_key",
        "gk_00000000_unknownunknownunknownunknownunknown0000": "invalid_api_key",
        clear: "invalid_api_key",
        merchant.api_key + "x": "invalid_api_key",
    }
    for bad, code in cases.items():
        # when
        response = (
            api.post("payments", payment_body(), key=bad)
            if bad
            else api.client.post("/api/v1/payments", payment_body(), content_type="application/json")
        )
        # then
        assert response.status_code == 401, bad
        assert response.json()["error"]["code"] == code
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="guichet"'
        assert api.get("payments", key=bad or "").status_code == 401
    nothing_stored()
    assert AuditEvent.objects.filter(event="merchants:key:rejected").count() == 6
    assert (
        api.client.post(
            "/api/v1/payments", "{}", content_type="application/json", headers={"Authorization": "Basic abc"}
        ).status_code
        == 401
    )


def test_keys_rotate_without_a_gap(api: Api, merchant) -> None:
    # given: a new key added, the old one still works
    _new_key, new = merchant_key_add(merchant=merchant.merchant, label="2026")
    assert api.post("payments", payment_body()).status_code == 201
    assert api.post("payments", payment_body(), key=new).status_code == 201
    # when: the old key is revoked
    old = ApiKey.objects.get(label="initial")
    merchant_key_revoke(prefix=old.prefix)
    # then
    assert api.post("payments", payment_body()).status_code == 401
    assert api.post("payments", payment_body(), key=new).status_code == 201
    assert Payment.objects.count() == 3
    # keys are stored as keyed hashes only
    for stored in ApiKey.objects.all():
        assert new not in (stored.key_hash, stored.prefix)
        assert len(stored.key_hash) == 64
    assert ApiKey.objects.get(label="2026").prefix == new[:11]


def test_idempotency_same_key_same_body_replays_the_first_answer(api: Api, clock) -> None:
    first = api.post("payments", payment_body(), idempotency_key="order-1-try")
    clock.advance(seconds=60)
    # when
    again = api.post("payments", payment_body(), idempotency_key="order-1-try")
    # then
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    # the same key from another merchant is another key
    other = Api(api.client, make_merchant("Autre").api_key)
    assert (
        other.post("payments", payment_body(), idempotency_key="order-1-try").json()["id"]
        != first.json()["id"]
    )
    assert Payment.objects.count() == 2


def test_idempotency_same_key_different_body_is_an_error(api: Api) -> None:
    first = api.post("payments", payment_body(), idempotency_key="k")
    # when
    response = api.post("payments", payment_body(amount=391), idempotency_key="k")
    # then
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Payment.objects.values_list("public_id", "amount")) == [(first.json()["id"], 390)]


def test_a_refused_request_does_not_use_up_its_idempotency_key(api: Api) -> None:
    assert api.post("payments", payment_body(amount=0), idempotency_key="k").status_code == 422
    assert api.post("payments", payment_body(), idempotency_key="k").status_code == 201
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "é", "a\tb"])
def test_bad_idempotency_keys_are_refused(api: Api, key: str) -> None:
    response = api.post("payments", payment_body(), idempotency_key=key)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_idempotency_key",
        "message": "Idempotency-Key must be 1 to 255 printable ASCII characters.",
        "field": "Idempotency-Key",
    }
    nothing_stored()


def test_wrong_method_is_a_json_405(api: Api) -> None:
    response = api.client.delete("/api/v1/payments", headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_configured_currencies_and_limits_apply(api: Api, settings) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        merchants=dataclasses.replace(settings.GUICHET.merchants, currencies=("EUR", "XPF"), max_amount=5000),
    )
    assert api.post("payments", payment_body(currency="XPF", amount=5000)).status_code == 201
    assert api.post("payments", payment_body(amount=5001)).json()["error"]["code"] == "amount_out_of_range"
    assert Payment.objects.get().currency == "XPF"


def test_openapi_describes_every_route_and_schema(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    # every route of the API is in the document, with the methods the view accepts
    resolver = get_resolver().url_patterns
    api_routes = {
        "/" + str(p.pattern).replace("<str:payment_id>", "{id}")
        for r in resolver
        if str(getattr(r, "pattern", "")) == "api/v1/"
        for p in r.url_patterns  # type: ignore[union-attr]
        if isinstance(p, URLPattern)
    }
    assert api_routes == set(document["paths"])
    assert set(document["paths"]["/payments"]) == {"get", "post"}
    # every schema the document refers to is defined, and every schema module model is there
    text = response.content.decode()
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', text))
    defined = set(document["components"]["schemas"])
    assert refs <= defined
    for name in ("PaymentCreate", "RefundCreate", "PaymentOut", "PaymentList", "RefundOut", "Error", "Event"):
        assert name in defined
    assert document["components"]["schemas"]["PaymentCreate"]["required"] == [
        "amount",
        "product",
        "reference",
        "return_url",
        "cancel_url",
    ]
