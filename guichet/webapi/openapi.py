"""The parts every API's OpenAPI 3.1 document builds the same way: the frame (info, server, bearer
security), the schemas from pydantic models, the errors (one `Error<status>` schema per status, its
`error.code` narrowed to the codes of that status), the Idempotency-Key parameter and `/openapi.json`.
Each API keeps its own paths, its table of error codes and its words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

# Every error an API answers, by status: what the status means, and its codes. The document lists
# them per response, the API's docs table says the same, and each API's test checks both against
# the codes its code raises.
ErrorCodes = dict[int, tuple[str, tuple[str, ...]]]
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


def model_schemas(
    models: Sequence[tuple[type[BaseModel], Literal["validation", "serialization"]]],
) -> dict[str, Any]:
    """The JSON schemas of `models` (each as it is read or written), by name, for `components`."""
    _, definitions = models_json_schema(list(models), ref_template="#/components/schemas/{model}")
    return dict(definitions["$defs"])


def error_schemas(codes: ErrorCodes, *, base: str = "Error") -> dict[str, Any]:
    """`Error<status>` for each status: the `base` schema with `error.code` narrowed to its codes."""
    return {
        f"Error{status}": {
            "allOf": [ref(base)],
            "properties": {"error": {"properties": {"code": {"enum": list(codes[status][1])}}}},
        }
        for status in codes
    }


def error_responses(codes: ErrorCodes, statuses: Iterable[int]) -> dict[str, Any]:
    """The error responses of an operation, by status in order, each naming its codes."""
    responses: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        meaning, listed = codes[status]
        description = f"{meaning}: " + ", ".join(f"`{code}`" for code in listed)
        responses[str(status)] = json_response(f"Error{status}", description)
        if status in (429, 503):
            responses[str(status)]["headers"] = dict(RETRY_AFTER)
    return responses


def idempotency_parameter(description: str) -> dict[str, Any]:
    """The Idempotency-Key header; its rule is `guichet.webapi.requests.idempotency_key`'s."""
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    }


def openapi_path(*, operation_id: str, bad_request: str) -> dict[str, Any]:
    """`GET /openapi.json`: the document itself, served without a key; `bad_request` describes its 400."""
    return {
        "get": {
            "operationId": operation_id,
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1 document"},
                "400": json_response("Error400", bad_request),
            },
        }
    }


def openapi_frame(
    *,
    title: str,
    description: str,
    server: str,
    scheme: str,
    scheme_description: str,
    paths: dict[str, Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    """The document: version 1 of the API at `server`, every operation behind the bearer key `scheme`
    (but those that say `security: []`)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "servers": [{"url": server}],
        "security": [{scheme: []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                scheme: {"type": "http", "scheme": "bearer", "description": scheme_description}
            },
            "schemas": schemas,
        },
    }
