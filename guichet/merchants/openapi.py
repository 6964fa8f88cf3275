"""The OpenAPI 3.1 document of the merchant API, built from the pydantic schemas of `schemas.py`."""

from __future__ import annotations

import functools
from typing import Any

from pydantic.json_schema import models_json_schema

from guichet.merchants import schemas

MODELS: tuple[type[schemas.BaseModel], ...] = (
    schemas.PaymentCreate,
    schemas.RefundCreate,
    schemas.PaymentOut,
    schemas.PaymentList,
    schemas.RefundOut,
    schemas.Error,
    schemas.Event,
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Bad JSON, query parameter or Idempotency-Key",
        401: "Missing, unknown or revoked API key",
        404: "No such payment for this merchant",
        409: "Conflict with the payment's state",
        413: "Body larger than 16 KiB",
        415: "Body not sent as application/json",
        422: "A field is invalid (see `error.field`), or the Idempotency-Key was used with another body",
        429: "Too many wrong or revoked API keys from this client address "
        "(`too_many_failed_authentications`); a valid key is still served",
    }
    responses = {str(s): _json("Error", meaning[s]) for s in statuses}
    if 429 in statuses:
        responses["429"]["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        }
    return responses


IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Up to 255 printable ASCII characters, scoped to the merchant (and, for refunds, "
    "to the payment). A repeat with the same body gets the first answer (header "
    "`Idempotent-Replayed: true`); with a different body, error `idempotency_key_reused`.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
PAYMENT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


@functools.cache
def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "validation") for model in MODELS], ref_template="#/components/schemas/{model}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Guichet merchant API",
            "version": "1",
            "description": "Pay-on-bill payments and refunds. Amounts are integers in minor units. "
            "Events are posted to the notification URL, signed in the `Guichet-Signature` header "
            "(schema `Event`).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/payments": {
                "post": {
                    "operationId": "createPayment",
                    "summary": "Create a payment and get the checkout URL to send the customer to",
                    "parameters": [IDEMPOTENCY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("PaymentCreate")}},
                    },
                    "responses": {
                        "201": _json("PaymentOut", "Created (or the replayed first answer)"),
                        **_errors(400, 401, 413, 415, 422, 429),
                    },
                },
                "get": {
                    "operationId": "listPayments",
                    "summary": "This merchant's payments, newest first, optionally by reference",
                    "parameters": [
                        {"name": "reference", "in": "query", "required": False, "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                        },
                    ],
                    "responses": {"200": _json("PaymentList", "The payments"), **_errors(401, 422, 429)},
                },
            },
            "/payments/{id}": {
                "get": {
                    "operationId": "getPayment",
                    "summary": "Read a payment",
                    "parameters": [PAYMENT_ID],
                    "responses": {"200": _json("PaymentOut", "The payment"), **_errors(401, 404, 429)},
                }
            },
            "/payments/{id}/refunds": {
                "post": {
                    "operationId": "refundPayment",
                    "summary": "Refund a succeeded payment in full or in part",
                    "parameters": [PAYMENT_ID, IDEMPOTENCY],
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _ref("RefundCreate")}},
                    },
                    "responses": {
                        "201": _json("RefundOut", "Refunded (or the replayed first answer)"),
                        **_errors(400, 401, 404, 409, 413, 415, 422, 429),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An API key"}},
            "schemas": definitions["$defs"],
        },
    }
