"""The OpenAPI 3.1 document of the operator API (GET /api/operator/v1/openapi.json), built from
operator_schemas.py. Apart from the merchant API's document: other callers, other keys."""

from __future__ import annotations

import functools
from typing import Any

from guichet.payonbill.subscribers import operator_schemas as schemas
from guichet.webapi.openapi import (
    ErrorCodes,
    error_responses,
    error_schemas,
    json_response,
    model_schemas,
    openapi_frame,
    openapi_path,
)

# Every error the operator API answers, by status (docs/operators.md says the same).
ERROR_CODES: ErrorCodes = {
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


def _errors() -> dict[str, Any]:
    # Every status but 405: not for a method the document lists.
    return error_responses(ERROR_CODES, [status for status in ERROR_CODES if status != 405])


@functools.cache
def operator_openapi_document() -> dict[str, Any]:
    return openapi_frame(
        title="Guichet operator API",
        description="The billing feed for the operator's billing system: every charge and credit "
        "of the pay-on-bill service, once each, in order. Amounts are integers in minor units.",
        server="/api/operator/v1",
        scheme="operatorKey",
        scheme_description="An operator API key (`guichet billing key add`), not a merchant's",
        paths={
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
                    "responses": {"200": json_response("BillLinePage", "A page of lines"), **_errors()},
                }
            },
            "/openapi.json": openapi_path(operation_id="operatorOpenapi", bad_request=ERROR_CODES[400][0]),
        },
        schemas=model_schemas(
            [(schemas.BillLinePage, "serialization"), (schemas.OperatorError, "serialization")]
        )
        | error_schemas(ERROR_CODES, base="OperatorError"),
    )
