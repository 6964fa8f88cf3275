"""The OpenAPI 3.1 document of the operator API (GET /api/operator/v1/openapi.json), built from
operator_schemas.py. Apart from the merchant API's document: other callers, other keys."""

from __future__ import annotations

import functools
from typing import Any

from pydantic.json_schema import models_json_schema

from guichet.payonbill.subscribers import operator_schemas as schemas

# Every error the operator API answers, by status (docs/operators.md says the same).
ERROR_CODES: dict[int, tuple[str, tuple[str, ...]]] = {
    400: (
        "A bad query parameter, or a character no field allows anywhere in the request",
        ("invalid_parameter", "invalid_character", "invalid_request"),
    ),
    401: ("Missing, unknown or revoked operator API key", ("missing_api_key", "invalid_api_key")),
    405: ("Method not allowed on this path (header `Allow`)", ("method_not_allowed",)),
    429: ("Too many wrong or revoked keys from this client address", ("too_many_failed_authentications",)),
    500: ("An unexpected failure; retry later", ("internal_error",)),
    503: ("The database cannot be reached: retry after `Retry-After`", ("database_unavailable",)),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (meaning, codes) in sorted(ERROR_CODES.items()):
        if status == 405:
            continue  # not for a method the document lists
        responses[str(status)] = _json(
            f"Error{status}", f"{meaning}: " + ", ".join(f"`{code}`" for code in codes)
        )
        if status in (429, 503):
            responses[str(status)]["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
            }
    return responses


def _error_schema(status: int) -> dict[str, Any]:
    return {
        "allOf": [_ref("OperatorError")],
        "properties": {"error": {"properties": {"code": {"enum": list(ERROR_CODES[status][1])}}}},
    }


@functools.cache
def operator_openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(schemas.BillLinePage, "serialization"), (schemas.OperatorError, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Guichet operator API",
            "version": "1",
            "description": "The billing feed for the operator's billing system: every charge and credit "
            "of the pay-on-bill service, once each, in order. Amounts are integers in minor units.",
        },
        "servers": [{"url": "/api/operator/v1"}],
        "security": [{"operatorKey": []}],
        "paths": {
            "/bill-lines": {
                "get": {
                    "operationId": "listBillLines",
                    "summary": "The bill lines after a cursor, oldest first",
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "description": "The `next_cursor` of the previous page; none (or `0`) to start.",
                            "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        },
                    ],
                    "responses": {"200": _json("BillLinePage", "A page of lines"), **_errors()},
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "operatorOpenapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {"description": "OpenAPI 3.1 document"},
                        "400": _json("Error400", ERROR_CODES[400][0]),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "operatorKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An operator API key (`guichet billing key add`), not a merchant's",
                }
            },
            "schemas": definitions["$defs"] | {f"Error{s}": _error_schema(s) for s in ERROR_CODES},
        },
    }
