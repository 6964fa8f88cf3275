"""The issuer API (docs/issuers.md): thin views that authenticate an issuer key, validate with the
schemas and call one lifecycle service. Every error is JSON: `{"error": {"code", "message", "field"}}`.
A PAN may come in a body, never goes out: answers carry masked PANs, errors name fields, not values."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from pydantic import BaseModel

from guichet.core.http import client_ip
from guichet.issuer.cards import lifecycle
from guichet.issuer.cards.api import schemas
from guichet.issuer.cards.api.idempotency import issuer_idempotent
from guichet.issuer.cards.api.keys import issuer_authenticate
from guichet.issuer.cards.api.openapi import issuer_openapi_document
from guichet.issuer.cards.api.representation import card_json, cardholder_json
from guichet.issuer.cards.lifecycle import LifecycleError
from guichet.issuer.cards.models import IssuerApiKey
from guichet.issuer.cards.services import card_find
from guichet.webapi.requests import ApiAnswer, idempotency_key, json_answer, json_object, json_validate
from guichet.webapi.views import ApiView, api_view

log = logging.getLogger("guichet.issuer.cards.api")

MAX_BODY_BYTES = 64 * 1024  # a cardholder with 50 cards is a few KiB
M = TypeVar("M", bound=BaseModel)


def issuer_api(*methods: str) -> Callable[[ApiView], ApiView]:
    """Bearer issuer key, allowed methods, LifecycleError → JSON error, for every issuer API view."""
    frame = api_view(
        *methods, authenticate=issuer_authenticate, realm="guichet-issuer", log=log, name="issuer API"
    )

    def decorate(view: ApiView) -> ApiView:
        @functools.wraps(view)
        def concurrent(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except IntegrityError:  # two calls created the same cardholder or card at once
                raise LifecycleError(
                    "concurrent_change", "another call changed the same records; retry.", status=409
                ) from None

        return frame(concurrent)

    return decorate


def _body(request: HttpRequest, schema: type[M], *, empty_ok: bool = False) -> tuple[M, dict[str, Any]]:
    """The JSON body validated by `schema`, and the raw object (for the idempotency digest)."""
    data = json_object(request, max_bytes=MAX_BODY_BYTES, empty_ok=empty_ok)
    return json_validate(data, schema), data


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
    key = idempotency_key(request)
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

    return json_answer(issuer_idempotent(scope=f"cardholder:{reference}", key=key, request=raw, work=work))


@issuer_api("PUT")
def cardholder_phone(request: HttpRequest, api_key: IssuerApiKey, ref: str) -> HttpResponse:
    reference = _reference(ref, "ref")
    key = idempotency_key(request)
    body, raw = _body(request, schemas.PhonePut)

    def work() -> ApiAnswer:
        holder = lifecycle.cardholder_get(reference=reference)
        lifecycle.cardholder_phone_change(
            cardholder=holder, phone=body.phone, hold_hours=body.hold_hours, actor=_actor(api_key),
            ip=client_ip(request), language=body.language or "fr",
        )  # fmt: skip
        return ApiAnswer(status=200, body=cardholder_json(holder))

    return json_answer(issuer_idempotent(scope=f"phone:{reference}", key=key, request=raw, work=work))


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
    key = idempotency_key(request)
    body, raw = _body(request, schemas.BlockIn)

    def work() -> ApiAnswer:
        card = lifecycle.card_get(reference=reference)
        lifecycle.card_block(
            card=card, reason=body.reason, actor=_actor(api_key), ip=client_ip(request), note=body.note or ""
        )
        return ApiAnswer(status=200, body=card_json(card))

    return json_answer(issuer_idempotent(scope=f"block:{reference}", key=key, request=raw, work=work))


@issuer_api("POST")
def card_unblock(request: HttpRequest, api_key: IssuerApiKey, card_ref: str) -> HttpResponse:
    reference = _reference(card_ref, "card_ref")
    key = idempotency_key(request)
    body, raw = _body(request, schemas.UnblockIn, empty_ok=True)

    def work() -> ApiAnswer:
        card = lifecycle.card_get(reference=reference)
        lifecycle.card_unblock(card=card, actor=_actor(api_key), ip=client_ip(request), note=body.note or "")
        return ApiAnswer(status=200, body=card_json(card))

    return json_answer(issuer_idempotent(scope=f"unblock:{reference}", key=key, request=raw, work=work))


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(issuer_openapi_document())
