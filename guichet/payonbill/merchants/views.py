"""The merchant API (docs/merchants.md): thin views that authenticate, validate with the schemas and call
one service. Every error is JSON: `{"error": {"code": ..., "message": ..., "field": ...}}`."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from guichet.core.http import client_ip
from guichet.core.middleware import DATABASE_DOWN, database_unavailable_json
from guichet.core.text import json_bad_path
from guichet.payonbill.merchants import schemas
from guichet.payonbill.merchants.accounts import merchant_authenticate
from guichet.payonbill.merchants.errors import MerchantError, TooManyFailedAuthentications
from guichet.payonbill.merchants.idempotency import ApiAnswer
from guichet.payonbill.merchants.listing import payment_list, payment_query_parse
from guichet.payonbill.merchants.models import Merchant
from guichet.payonbill.merchants.openapi import openapi_document
from guichet.payonbill.merchants.payments import PaymentInput, payment_create, payment_get
from guichet.payonbill.merchants.refunds import refund_create
from guichet.payonbill.merchants.representation import payment_json

log = logging.getLogger("guichet.payonbill.merchants")

MAX_BODY_BYTES = 16 * 1024  # a payment is a few hundred bytes
IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"

# pydantic error types → the API's error codes.
_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "greater_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "string_too_short": "invalid_length",
    "string_too_long": "invalid_length",
    "string_pattern_mismatch": "invalid_format",
}

M = TypeVar("M", bound=BaseModel)
ApiView = Callable[..., HttpResponse]


def error(status: int, code: str, message: str, field: str = "") -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message, "field": field or None}}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="guichet"'
    return response


def api(*methods: str) -> Callable[[Callable[..., HttpResponse]], ApiView]:
    """Bearer authentication, allowed methods and MerchantError → JSON error, for every API view."""

    def decorate(view: Callable[..., HttpResponse]) -> ApiView:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error(405, "method_not_allowed", f"use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                return error(401, "missing_api_key", "send the API key as `Authorization: Bearer <key>`.")
            try:
                merchant = merchant_authenticate(api_key=key.strip(), ip=client_ip(request))
                if merchant is None:
                    return error(401, "invalid_api_key", "this API key is unknown or revoked.")
                return view(request, merchant, *args, **kwargs)
            except TooManyFailedAuthentications as exc:
                response = error(exc.status, exc.code, exc.message)
                response["Retry-After"] = str(exc.retry_after_s)
                return response
            except MerchantError as exc:
                return error(exc.status, exc.code, exc.message, exc.field)
            except DATABASE_DOWN:
                log.warning("database unavailable on %s %s", request.method, request.path)
                return database_unavailable_json()
            except Exception:  # still a JSON answer; the transaction was rolled back
                log.exception("merchant API failure on %s %s", request.method, request.path)
                return error(500, "internal_error", "the request failed and changed nothing; retry later.")

        return wrapper

    return decorate


def _body(request: HttpRequest, schema: type[M], *, empty_ok: bool = False) -> M:
    """The JSON body validated by `schema`; raises MerchantError with the first problem."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise MerchantError("body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes.", status=413)
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise MerchantError("body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes.", status=413)
    if not raw.strip():
        if not empty_ok:
            raise MerchantError("invalid_json", "the body is empty: send a JSON object.", status=400)
        data: Any = {}
    else:
        if request.content_type != "application/json":
            raise MerchantError(
                "unsupported_media_type", "send the body as Content-Type: application/json.", status=415
            )
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError):
            raise MerchantError("invalid_json", "the body is not valid JSON.", status=400) from None
    if not isinstance(data, dict):
        raise MerchantError("invalid_json", "the body must be a JSON object.", status=400)
    bad = json_bad_path(data)
    if bad is not None:  # escaped in the JSON text (\u0000, \ud800): no field allows one
        raise MerchantError(
            "invalid_character",
            f"{bad or 'a key'} holds a character no field allows "
            "(U+0000, a lone surrogate or a non-character).",
            field=bad,
            status=400,
        )
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        kind = first["type"]
        code = _CODES.get(kind, "invalid_type" if kind.endswith("_type") else "invalid_value")
        raise MerchantError(code, f"{field}: {first['msg']}.", field=field, status=422) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.META.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise MerchantError(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            field="Idempotency-Key",
            status=400,
        )
    return str(key)


def _answer(answer: ApiAnswer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@api("GET", "POST")
def payments(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    if request.method == "GET":
        return _list(request, merchant)
    key = _idempotency_key(request)
    body = _body(request, schemas.PaymentCreate)
    data = PaymentInput(
        amount=body.amount,
        currency=body.currency,
        product=body.product,
        reference=body.reference,
        return_url=body.return_url,
        cancel_url=body.cancel_url,
        notification_url=body.notification_url or "",
        language=body.language or "",
    )
    return _answer(payment_create(merchant=merchant, data=data, idempotency_key=key))


def _list(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    page = payment_list(merchant=merchant, query=payment_query_parse(query=request.GET.dict()))
    return JsonResponse(
        {
            "data": [payment_json(p) for p in page.payments],
            "has_more": page.has_more,
            "next_cursor": page.next_cursor,
        }
    )


@api("GET")
def payment_detail(request: HttpRequest, merchant: Merchant, payment_id: str) -> HttpResponse:
    payment = payment_get(merchant=merchant, payment_id=payment_id)
    return JsonResponse(payment_json(payment))


@api("POST")
def payment_refunds(request: HttpRequest, merchant: Merchant, payment_id: str) -> HttpResponse:
    key = _idempotency_key(request)
    body = _body(request, schemas.RefundCreate, empty_ok=True)
    answer = refund_create(
        merchant=merchant, payment_id=payment_id, amount=body.amount, reason=body.reason, idempotency_key=key
    )
    return _answer(answer)


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
