"""The OpenAPI 3.1 document of the issuer API (`/api/issuer/v1/openapi.json`), built from schemas.py."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from guichet.issuer.cards.api import schemas
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
    schemas.CardholderPut,
    schemas.PhonePut,
    schemas.BlockIn,
    schemas.UnblockIn,
    schemas.CardSearch,
    schemas.CardOut,
    schemas.CardholderOut,
    schemas.Error,
)

# Every error the issuer API answers, by status (docs/issuers.md's table says the same).
ERROR_CODES: ErrorCodes = {
    400: (
        "Bad JSON, path parameter or Idempotency-Key, or a character no field allows",
        (
            "invalid_json",
            "invalid_idempotency_key",
            "invalid_character",
            "invalid_parameter",
            "invalid_request",
        ),
    ),
    401: ("Missing, unknown or revoked issuer API key", ("missing_api_key", "invalid_api_key")),
    404: ("No such card or cardholder", ("card_not_found", "cardholder_not_found")),
    405: ("Method not allowed on this path (header `Allow`)", ("method_not_allowed",)),
    409: (
        "A concurrent request with the same Idempotency-Key, or one that created the same records (retry)",
        ("idempotency_conflict", "concurrent_change"),
    ),
    413: ("Body larger than 64 KiB", ("body_too_large",)),
    415: ("Body not sent as application/json", ("unsupported_media_type",)),
    422: (
        "A field is invalid (see `error.field`), a conflict with another cardholder or card, or the "
        "Idempotency-Key was used with another body; nothing was changed",
        (
            *("missing_field", "unknown_field", "invalid_type", "invalid_length", "invalid_format"),
            *("invalid_value", "out_of_range", "duplicate_card", "email_taken", "card_reference_taken"),
            "idempotency_key_reused",
        ),
    ),
    429: ("Too many wrong or revoked keys from this client address", ("too_many_failed_authentications",)),
    500: ("An unexpected failure; nothing was changed: retry later", ("internal_error",)),
    503: (
        "The database cannot be reached; nothing was changed: retry after `Retry-After`",
        ("database_unavailable",),
    ),
}
COMMON = (400, 401, 429, 500, 503)


def _errors(*statuses: int) -> dict[str, Any]:
    return error_responses(ERROR_CODES, {*statuses, *COMMON})


IDEMPOTENCY = idempotency_parameter(
    "1 to 255 printable ASCII characters, scoped to the operation and its path. A repeat "
    "with the same body gets the first answer (header `Idempotent-Replayed: true`); with a different "
    "body, error `idempotency_key_reused`."
)


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name, "in": "path", "required": True, "description": description,
        "schema": {"type": "string", "pattern": schemas.REFERENCE},
    }  # fmt: skip


REF = _path_param("ref", "The issuer's id of the cardholder")
CARD_REF = _path_param("card_ref", "The card's reference (never its PAN)")


def _body(name: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": ref(name)}}}


@functools.cache
def issuer_openapi_document() -> dict[str, Any]:
    card = json_response("CardOut", "The card, masked")
    return openapi_frame(
        title="Guichet issuer API",
        description="The card lifecycle for the issuer's systems: cardholders and cards, block and "
        "unblock, the phone that receives the challenge's SMS codes, a card's enrollment state. Its "
        "keys (`guichet cards key add`) are not merchant keys. Each call is all or nothing and audited.",
        server="/api/issuer/v1",
        scheme="issuerKey",
        scheme_description="An issuer API key (gi_…)",
        paths={
            "/cardholders/{ref}": {
                "put": {
                    "operationId": "putCardholder",
                    "summary": "Create or update a cardholder and add or update their cards",
                    "parameters": [REF, IDEMPOTENCY],
                    "requestBody": _body("CardholderPut"),
                    "responses": {
                        "200": json_response("CardholderOut", "Updated (or unchanged)"),
                        "201": json_response("CardholderOut", "Created"),
                        **_errors(409, 413, 415, 422),
                    },
                }
            },
            "/cardholders/{ref}/phone": {
                "put": {
                    "operationId": "putCardholderPhone",
                    "summary": "Change the phone (audited, alert email, optional SMS hold)",
                    "parameters": [REF, IDEMPOTENCY],
                    "requestBody": _body("PhonePut"),
                    "responses": {
                        "200": json_response("CardholderOut", "Changed (or unchanged)"),
                        **_errors(404, 409, 413, 415, 422),
                    },
                }
            },
            "/cards/search": {
                "post": {
                    "operationId": "searchCard",
                    "summary": "Find a card by its PAN, sent in the body (never in a URL)",
                    "requestBody": _body("CardSearch"),
                    "responses": {"200": card, **_errors(404, 413, 415, 422)},
                }
            },
            "/cards/{card_ref}": {
                "get": {
                    "operationId": "getCard",
                    "summary": "Read a card's state and its cardholder's enrollment, masked",
                    "parameters": [CARD_REF],
                    "responses": {"200": card, **_errors(404)},
                }
            },
            "/cards/{card_ref}/block": {
                "post": {
                    "operationId": "blockCard",
                    "summary": "Block a card: its AReqs are answered N from now on",
                    "parameters": [CARD_REF, IDEMPOTENCY],
                    "requestBody": _body("BlockIn"),
                    "responses": {"200": card, **_errors(404, 409, 413, 415, 422)},
                }
            },
            "/cards/{card_ref}/unblock": {
                "post": {
                    "operationId": "unblockCard",
                    "summary": "Make a blocked card active again",
                    "parameters": [CARD_REF, IDEMPOTENCY],
                    "requestBody": _body("UnblockIn", required=False),
                    "responses": {"200": card, **_errors(404, 409, 413, 415, 422)},
                }
            },
            "/openapi.json": openapi_path(
                operation_id="openapi",
                bad_request=ERROR_CODES[400][0] + ": `invalid_character`, `invalid_request`",
            ),
        },
        schemas=model_schemas([(model, "validation") for model in MODELS]) | error_schemas(ERROR_CODES),
    )
