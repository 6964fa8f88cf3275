"""The merchant API (docs/merchants.md): thin views that authenticate, validate with the schemas and call
one service. Every error is JSON: `{"error": {"code": ..., "message": ..., "field": ...}}`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from guichet.payonbill.merchants import schemas
from guichet.payonbill.merchants.accounts import merchant_authenticate
from guichet.payonbill.merchants.listing import payment_list, payment_query_parse
from guichet.payonbill.merchants.models import Merchant
from guichet.payonbill.merchants.openapi import openapi_document
from guichet.payonbill.merchants.payments import PaymentInput, payment_create, payment_get
from guichet.payonbill.merchants.refunds import refund_create
from guichet.payonbill.merchants.representation import payment_json
from guichet.webapi.requests import idempotency_key, json_answer, json_body
from guichet.webapi.views import ApiView, api_view

log = logging.getLogger("guichet.payonbill.merchants")

MAX_BODY_BYTES = 16 * 1024  # a payment is a few hundred bytes


def api(*methods: str) -> Callable[[ApiView], ApiView]:
    """Bearer authentication, allowed methods and MerchantError → JSON error, for every API view."""
    return api_view(
        *methods, authenticate=merchant_authenticate, realm="guichet", log=log, name="merchant API"
    )


@api("GET", "POST")
def payments(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    if request.method == "GET":
        return _list(request, merchant)
    key = idempotency_key(request)
    body = json_body(request, schemas.PaymentCreate, max_bytes=MAX_BODY_BYTES)
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
    return json_answer(payment_create(merchant=merchant, data=data, idempotency_key=key))


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
    key = idempotency_key(request)
    body = json_body(request, schemas.RefundCreate, max_bytes=MAX_BODY_BYTES, empty_ok=True)
    answer = refund_create(
        merchant=merchant, payment_id=payment_id, amount=body.amount, reason=body.reason, idempotency_key=key
    )
    return json_answer(answer)


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
