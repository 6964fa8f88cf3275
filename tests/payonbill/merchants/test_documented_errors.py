"""The merchant API's errors: what the code raises, what the OpenAPI document lists and what
docs/merchants.md's table says are one set of (status, code) pairs; API answers are never cached."""

from __future__ import annotations

import pytest

from guichet.payonbill.merchants.openapi import COMMON, ERROR_CODES, openapi_document
from guichet.payonbill.merchants.payments import payment_complete
from tests.payonbill.merchants.conftest import Api, payment_body
from tests.payonbill.merchants.test_payments import Bill
from tests.support import api_errors
from tests.support.api_errors import Pairs

# Where the API's errors are raised: its views and service modules, the kernel's frame of the JSON
# APIs (guichet/webapi/) and the middleware that answers for it.
SOURCES = (
    "guichet/payonbill/merchants/views.py",
    "guichet/payonbill/merchants/errors.py",
    "guichet/payonbill/merchants/accounts.py",
    "guichet/payonbill/merchants/payments.py",
    "guichet/payonbill/merchants/listing.py",
    "guichet/payonbill/merchants/idempotency.py",
    "guichet/payonbill/merchants/refunds.py",
    "guichet/webapi/errors.py",
    "guichet/webapi/requests.py",
    "guichet/webapi/views.py",
    "guichet/webapi/idempotency.py",
    "guichet/core/middleware.py",
)


def raised_by_the_code() -> Pairs:
    return api_errors.raised_by_the_code(SOURCES, errors=("MerchantError", "ApiError"))


def in_the_openapi_document() -> Pairs:
    return api_errors.in_the_openapi_document(openapi_document())


def in_the_readme() -> Pairs:
    return api_errors.in_the_docs("merchants.md")


def test_the_code_the_document_and_the_readme_list_the_same_errors() -> None:
    code = raised_by_the_code()
    assert len(code) > 30  # the scan found the codes (a refactoring that hides them must not pass)
    assert in_the_openapi_document() == code
    assert in_the_readme() == code
    assert {(status, c) for status, (_, codes) in ERROR_CODES.items() for c in codes} == code


def test_every_authenticated_operation_documents_the_common_errors() -> None:
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            statuses = {int(s) for s in operation["responses"] if s[0] in "45"}
            expected = {400} if path == "/openapi.json" else set(COMMON)
            assert expected <= statuses, (path, method)


def test_the_documented_rules_of_the_idempotency_key_and_the_urls() -> None:
    parameters = openapi_document()["paths"]["/payments"]["post"]["parameters"]
    assert parameters[0]["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[ -~]+$",
    }
    properties = openapi_document()["components"]["schemas"]["PaymentCreate"]["properties"]
    assert [properties[name]["format"] for name in ("return_url", "cancel_url")] == ["uri", "uri"]
    assert properties["notification_url"]["format"] == "uri"


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "a\tb"])
def test_an_idempotency_key_outside_the_documented_rule_is_refused(api: Api, key: str) -> None:
    response = api.post("payments", payment_body(), idempotency_key=key)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_idempotency_key")


def test_a_refund_of_a_fully_refunded_payment_is_409_whatever_the_amount(api: Api) -> None:
    payment = api.post("payments", payment_body()).json()["id"]
    payment_complete(payment_id=payment, payer_email="marie@example.fr", charge=Bill())
    assert api.post(f"payments/{payment}/refunds", {}).status_code == 201
    for body in ({}, {"amount": 100}):
        response = api.post(f"payments/{payment}/refunds", body)
        assert (response.status_code, response.json()["error"]) == (
            409,
            {
                "code": "payment_fully_refunded",
                "message": "this payment is already refunded in full.",
                "field": None,
            },
        )


def test_every_api_answer_is_not_cached(api: Api) -> None:
    answers = [
        api.post("payments", payment_body()),
        api.get("payments"),
        api.get("payments/pay_nothing"),
        api.get("payments", key="gk_00000000_wrong"),
        api.client.get("/api/v1/openapi.json"),
    ]
    assert [(a.status_code, a["Cache-Control"]) for a in answers] == [
        (201, "no-store"),
        (200, "no-store"),
        (404, "no-store"),
        (401, "no-store"),
        (200, "no-store"),
    ]
