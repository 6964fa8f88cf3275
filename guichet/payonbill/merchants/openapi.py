"""The OpenAPI 3.1 document of the merchant API, built from the pydantic schemas of `schemas.py`."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from guichet.payonbill.merchants import schemas
from guichet.webapi.openapi import (
    ErrorCodes,
    error_responses,
    error_schemas,
    idempotency_parameter,
    json_response,
    model_schemas,
    openapi_frame,
    openapi_path,
    ref,
)

MODELS: tuple[type[BaseModel], ...] = (
    schemas.PaymentCreate,
    schemas.RefundCreate,
    schemas.PaymentOut,
    schemas.PaymentList,
    schemas.RefundOut,
    schemas.Error,
    schemas.Event,
)


# Every error the API answers, by status, with what it means. The document lists them per response
# (an enum of `error.code`), docs/merchants.md's table says the same, and
# tests/payonbill/merchants/test_documented_errors.py checks both against the codes the code raises.
ERROR_CODES: ErrorCodes = {
    400: (
        "Bad JSON, query parameter or Idempotency-Key, a character no field allows (U+0000, a lone "
        "surrogate, a non-character) anywhere in the request, or too many query parameters",
        (
            "invalid_json",
            "invalid_idempotency_key",
            "invalid_character",
            "invalid_parameter",
            "invalid_request",
        ),
    ),
    401: ("Missing, unknown or revoked API key", ("missing_api_key", "invalid_api_key")),
    404: ("No such payment for this merchant", ("payment_not_found",)),
    405: ("Method not allowed on this path (header `Allow`)", ("method_not_allowed",)),
    409: (
        "Conflict with the payment's state, or with a concurrent request using the same Idempotency-Key "
        "(retry)",
        ("payment_not_refundable", "payment_fully_refunded", "idempotency_conflict"),
    ),
    413: ("Body larger than 16 KiB", ("body_too_large",)),
    415: ("Body not sent as application/json", ("unsupported_media_type",)),
    422: (
        "A field is invalid (see `error.field`), or the Idempotency-Key was used with another body",
        (
            *("missing_field", "unknown_field", "invalid_type", "invalid_length", "invalid_format"),
            *("invalid_value", "out_of_range", "amount_out_of_range", "unknown_currency"),
            *("currency_not_accepted", "invalid_url", "return_host_not_allowed"),
            *("notification_host_not_allowed", "refund_exceeds_payment", "idempotency_key_reused"),
        ),
    ),
    429: (
        "Too many wrong or revoked API keys from this client address; a valid key is still served",
        ("too_many_failed_authentications",),
    ),
    500: ("An unexpected failure; nothing was changed: retry later", ("internal_error",)),
    503: (
        "The database cannot be reached; nothing was changed: retry after `Retry-After`",
        ("database_unavailable",),
    ),
}
# What every authenticated operation may answer, besides its own.
COMMON = (400, 401, 429, 500, 503)


def _errors(*statuses: int) -> dict[str, Any]:
    return error_responses(ERROR_CODES, {*statuses, *COMMON})


IDEMPOTENCY = idempotency_parameter(
    "1 to 255 printable ASCII characters (space to `~`), scoped to the merchant (and, for "
    "refunds, to the payment). A repeat with the same body gets the first answer (header "
    "`Idempotent-Replayed: true`); with a different body, error `idempotency_key_reused`; a key that "
    "breaks this rule, error `invalid_idempotency_key`."
)
_MOMENT = {
    "type": "string",
    "description": "A date (`2026-11-01`, midnight UTC) or an ISO 8601 date-time with its offset",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}))?$",
}
LIST_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["pending", "succeeded", "cancelled", "refused", "expired"]},
    },
    {
        "name": "reference",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    {
        "name": "created_since",
        "in": "query",
        "required": False,
        "description": "Payments created at or after this moment",
        "schema": _MOMENT,
    },
    {
        "name": "created_before",
        "in": "query",
        "required": False,
        "description": "Payments created before this moment (later than `created_since`)",
        "schema": _MOMENT,
    },
    {
        "name": "after",
        "in": "query",
        "required": False,
        "description": "The previous page's `next_cursor`: the payments created before that one",
        "schema": {"type": "string", "pattern": "^pay_[A-Za-z0-9]{1,36}$"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    },
]
PAYMENT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


@functools.cache
def openapi_document() -> dict[str, Any]:
    return openapi_frame(
        title="Guichet merchant API",
        description="Pay-on-bill payments and refunds. Amounts are integers in minor units. "
        "Events are posted to the notification URL, signed in the `Guichet-Signature` header "
        "(schema `Event`).",
        server="/api/v1",
        scheme="apiKey",
        scheme_description="An API key",
        paths={
            "/payments": {
                "post": {
                    "operationId": "createPayment",
                    "summary": "Create a payment and get the checkout URL to send the customer to",
                    "parameters": [IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("PaymentCreate")}},
                    },
                    "responses": {
                        "201": json_response("PaymentOut", "Created (or the replayed first answer)"),
                        **_errors(409, 413, 415, 422),
                    },
                },
                "get": {
                    "operationId": "listPayments",
                    "summary": "This merchant's payments, newest first, filtered, a page at a time",
                    "parameters": LIST_PARAMETERS,
                    "responses": {"200": json_response("PaymentList", "The payments"), **_errors()},
                },
            },
            "/payments/{id}": {
                "get": {
                    "operationId": "getPayment",
                    "summary": "Read a payment",
                    "parameters": [PAYMENT_ID],
                    "responses": {"200": json_response("PaymentOut", "The payment"), **_errors(404)},
                }
            },
            "/payments/{id}/refunds": {
                "post": {
                    "operationId": "refundPayment",
                    "summary": "Refund a succeeded payment in full or in part",
                    "parameters": [PAYMENT_ID, IDEMPOTENCY],
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": ref("RefundCreate")}},
                    },
                    "responses": {
                        "201": json_response("RefundOut", "Refunded (or the replayed first answer)"),
                        **_errors(404, 409, 413, 415, 422),
                    },
                }
            },
            "/openapi.json": openapi_path(
                operation_id="openapi",
                bad_request=ERROR_CODES[400][0] + ": `invalid_character`, `invalid_request`",
            ),
        },
        schemas=model_schemas([(model, "validation") for model in MODELS]) | error_schemas(ERROR_CODES),
    )
