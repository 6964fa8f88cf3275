"""What the JSON APIs read from a request and answer the same way: the JSON body (its size, media
type, syntax and characters, then the endpoint's pydantic schema, the first problem mapped to an error
code), the Idempotency-Key header, and the JSON answers, errors included."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, ValidationError

from guichet.core.text import json_bad_path
from guichet.webapi.errors import ApiError

IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"

# pydantic error types → the APIs' error codes; any other `*_type` is `invalid_type`, the rest
# `invalid_value`. One table for every API: a type its schemas cannot raise is never looked up.
_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "string_too_short": "invalid_length",
    "string_too_long": "invalid_length",
    "too_long": "invalid_length",
    "string_pattern_mismatch": "invalid_format",
    "literal_error": "invalid_value",
}

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ApiAnswer:
    """A write's answer: what it returns the first time, and what a repeat with its
    Idempotency-Key gets again (`replayed`)."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def json_object(request: HttpRequest, *, max_bytes: int, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object, not yet validated; raises ApiError with the first problem.
    `empty_ok`: an empty body is the empty object (a body whose fields are all optional)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_bytes:  # refused before the body is read
        raise ApiError("body_too_large", f"the body must be at most {max_bytes} bytes.", status=413)
    raw = request.body
    if len(raw) > max_bytes:
        raise ApiError("body_too_large", f"the body must be at most {max_bytes} bytes.", status=413)
    if not raw.strip():
        if not empty_ok:
            raise ApiError("invalid_json", "the body is empty: send a JSON object.", status=400)
        data: Any = {}
    else:
        if request.content_type != "application/json":
            raise ApiError(
                "unsupported_media_type", "send the body as Content-Type: application/json.", status=415
            )
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError):
            raise ApiError("invalid_json", "the body is not valid JSON.", status=400) from None
    if not isinstance(data, dict):
        raise ApiError("invalid_json", "the body must be a JSON object.", status=400)
    bad = json_bad_path(data)
    if bad is not None:  # escaped in the JSON text (\u0000, \ud800): no field allows one
        raise ApiError(
            "invalid_character",
            f"{bad or 'a key'} holds a character no field allows "
            "(U+0000, a lone surrogate or a non-character).",
            field=bad,
            status=400,
        )
    return data


def json_validate(data: dict[str, Any], schema: type[M]) -> M:
    """`data` validated by `schema`; raises ApiError (422) with the first problem and its field."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]  # the message never quotes the value (a PAN)
        field = ".".join(str(part) for part in first["loc"])
        kind = first["type"]
        code = _CODES.get(kind, "invalid_type" if kind.endswith("_type") else "invalid_value")
        raise ApiError(code, f"{field}: {first['msg']}.", field=field, status=422) from None


def json_body(request: HttpRequest, schema: type[M], *, max_bytes: int, empty_ok: bool = False) -> M:
    """The JSON body validated by `schema`; raises ApiError with the first problem."""
    return json_validate(json_object(request, max_bytes=max_bytes, empty_ok=empty_ok), schema)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JSON has none


def idempotency_key(request: HttpRequest) -> str | None:
    """The Idempotency-Key header, or None without one; raises ApiError (400) on a bad one."""
    key = request.META.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise ApiError(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            field="Idempotency-Key",
            status=400,
        )
    return str(key)


def bearer_key(request: HttpRequest) -> str | None:
    """The key of `Authorization: Bearer <key>`, or None when the header does not carry one."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def json_answer(answer: ApiAnswer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def error_json(status: int, code: str, message: str, field: str = "", *, realm: str) -> JsonResponse:
    """An API's JSON error; a 401 names the API's `realm` in its WWW-Authenticate challenge."""
    response = JsonResponse(
        {"error": {"code": code, "message": message, "field": field or None}}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    return response
