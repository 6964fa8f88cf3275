"""The issuer API (docs/issuers.md): thin views that authenticate an issuer key, validate with the
schemas and call one lifecycle service. Every error is JSON: `{"error": {"code", "message", "field"}}`.
A PAN may come in a body, never goes out: answers carry masked PANs, errors name fields, not values."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from guichet.core.http import client_ip
from guichet.core.middleware import DATABASE_DOWN, database_unavailable_json
from guichet.core.text import json_bad_path
from guichet.issuer.cards import lifecycle
from guichet.issuer.cards.api import schemas
from guichet.issuer.cards.api.idempotency import ApiAnswer, issuer_idempotent
from guichet.issuer.cards.api.keys import TooManyFailedAuthentications, issuer_authenticate
from guichet.issuer.cards.api.openapi import issuer_openapi_document
from guichet.issuer.cards.api.representation import card_json, cardholder_json
from guichet.issuer.cards.lifecycle import LifecycleError
from guichet.issuer.cards.models import IssuerApiKey
from guichet.issuer.cards.services import card_find

log = logging.getLogger("guichet.issuer.cards.api")

MAX_BODY_BYTES = 64 * 1024  # a cardholder with 50 cards is a few KiB
IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"
_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "string_too_short": "invalid_length",
    "string_too_long": "invalid_length",
    "too_long": "invalid_length",
    "string_pattern_mismatch": "invalid_format",
    "literal_error": "invalid_value",
}
M = TypeVar("M", bound=BaseModel)


def error(status: int, code: str, message: str, field: str = "") -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message, "field": field or None}}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="guichet-issuer"'
    return response


def issuer_api(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Bearer issuer key, allowed methods, LifecycleError → JSON error, for every issuer API view."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
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
                api_key = issuer_authenticate(api_key=key.strip(), ip=client_ip(request))
                if api_key is None:
                    return error(401, "invalid_api_key", "this API key is unknown or revoked.")
                return view(request, api_key, *args, **kwargs)
            except TooManyFailedAuthentications as exc:
                response = error(exc.status, exc.code, exc.message)
                response["Retry-After"] = str(exc.retry_after_s)
                return response
            except LifecycleError as exc:
                return error(exc.status, exc.code, exc.message, exc.field)
            except IntegrityError:  # two calls created the same cardholder or card at once
                return error(409, "concurrent_change", "another call changed the same records; retry.")
            except DATABASE_DOWN:
                log.warning("database unavailable on %s %s", request.method, request.path)
                return database_unavailable_json()
            except Exception:  # still a JSON answer; the transaction was rolled back
                log.exception("issuer API failure on %s %s", request.method, request.path)
                return error(500, "internal_error", "the request failed and changed nothing; retry later.")

        return wrapper

    return decorate


def _body(request: HttpRequest, schema: type[M], *, empty_ok: bool = False) -> tuple[M, dict[str, Any]]:
    """The JSON body validated by `schema`, and the raw object (for the idempotency digest)."""
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise LifecycleError(
            "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes.", status=413
        )
    data: Any = {}
    if raw.strip():
        if request.content_type != "application/json":
            raise LifecycleError(
                "unsupported_media_type", "send the body as Content-Type: application/json.", status=415
            )
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError):
            raise LifecycleError("invalid_json", "the body is not valid JSON.", status=400) from None
    elif not empty_ok:
        raise LifecycleError("invalid_json", "the body is empty: send a JSON object.", status=400)
    if not isinstance(data, dict):
        raise LifecycleError("invalid_json", "the body must be a JSON object.", status=400)
    bad = json_bad_path(data)
    if bad is not None:
        raise LifecycleError(
            "invalid_character",
            f"{bad or 'a key'} holds a character no field allows "
            "(U+0000, a lone surrogate or a non-character).",
            field=bad,
            status=400,
        )
    try:
        return schema.model_validate(data), data
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]  # the message never quotes the value (a PAN)
        field = ".".join(str(part) for part in first["loc"])
        kind = first["type"]
        code = _CODES.get(kind, "invalid_type" if kind.endswith("_type") else "invalid_value")
        raise LifecycleError(code, f"{field}: {first['msg']}.", field=field) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.META.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise LifecycleError(
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


def _actor(api_key: IssuerApiKey) -> str:
    return f"api:{api_key.prefix}"


def _reference(value: str, what: str) -> str:
    if not schemas.REFERENCE_RE.fullmatch(value):
        raise LifecycleError(
            "invalid_parameter", f"{what}: 1 to 64 of A-Z a-z 0-9 . _ : -.", field=what, status=400
        )
    return value


@issuer_api("PUT")
def cardholder_put(request: HttpRequest, api_key: IssuerApiKey, ref: str) -> HttpResponse:
    reference = _reference(ref, "ref")
    key = _idempotency_key(request)
    body, raw = _body(request, schemas.CardholderPut)
    data = lifecycle.CardholderInput(
        email=body.email,
        phone=body.phone,
        name=body.name,
        reference=reference,
        cards=[
            lifecycle.CardInput(pan=c.pan, expiry=c.expiry, reference=c.reference or "") for c in body.cards
        ],
    )

    def work() -> ApiAnswer:
        outcome = lifecycle.cardholder_upsert(data=data, actor=_actor(api_key), ip=client_ip(request))
        return ApiAnswer(status=201 if outcome.created else 200, body=cardholder_json(outcome.cardholder))

    return _answer(issuer_idempotent(scope=f"cardholder:{reference}", key=key, request=raw, work=work))


@issuer_api("PUT")
def cardholder_phone(request: HttpRequest, api_key: IssuerApiKey, ref: str) -> HttpResponse:
    reference = _reference(ref, "ref")
    key = _idempotency_key(request)
    body, raw = _body(request, schemas.PhonePut)

    def work() -> ApiAnswer:
        holder = lifecycle.cardholder_get(reference=reference)
        lifecycle.cardholder_phone_change(
            cardholder=holder, phone=body.phone, hold_hours=body.hold_hours, actor=_actor(api_key),
            ip=client_ip(request), language=body.language or "fr",
        )  # fmt: skip
        return ApiAnswer(status=200, body=cardholder_json(holder))

    return _answer(issuer_idempotent(scope=f"phone:{reference}", key=key, request=raw, work=work))


@issuer_api("GET")
def card_detail(request: HttpRequest, api_key: IssuerApiKey, card_ref: str) -> HttpResponse:
    card = lifecycle.card_get(reference=_reference(card_ref, "card_ref"))
    return JsonResponse(card_json(card))


@issuer_api("POST")
def card_search(request: HttpRequest, api_key: IssuerApiKey) -> HttpResponse:
    body, _ = _body(request, schemas.CardSearch)
    card = card_find(pan=body.pan)
    if card is None:
        raise lifecycle.CardNotFound
    return JsonResponse(card_json(card))


@issuer_api("POST")
def card_block(request: HttpRequest, api_key: IssuerApiKey, card_ref: str) -> HttpResponse:
    reference = _reference(card_ref, "card_ref")
    key = _idempotency_key(request)
    body, raw = _body(request, schemas.BlockIn)

    def work() -> ApiAnswer:
        card = lifecycle.card_get(reference=reference)
        lifecycle.card_block(
            card=card, reason=body.reason, actor=_actor(api_key), ip=client_ip(request), note=body.note or ""
        )
        return ApiAnswer(status=200, body=card_json(card))

    return _answer(issuer_idempotent(scope=f"block:{reference}", key=key, request=raw, work=work))


@issuer_api("POST")
def card_unblock(request: HttpRequest, api_key: IssuerApiKey, card_ref: str) -> HttpResponse:
    reference = _reference(card_ref, "card_ref")
    key = _idempotency_key(request)
    body, raw = _body(request, schemas.UnblockIn, empty_ok=True)

    def work() -> ApiAnswer:
        card = lifecycle.card_get(reference=reference)
        lifecycle.card_unblock(card=card, actor=_actor(api_key), ip=client_ip(request), note=body.note or "")
        return ApiAnswer(status=200, body=card_json(card))

    return _answer(issuer_idempotent(scope=f"unblock:{reference}", key=key, request=raw, work=work))


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(issuer_openapi_document())
