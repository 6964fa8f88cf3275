"""The operator API (docs/operators.md): the billing system pulls the bill lines with its own key.
Errors are JSON, in the merchant API's shape: `{"error": {"code", "message", "field"}}`."""

from __future__ import annotations

import logging
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from guichet.core.http import client_ip
from guichet.core.middleware import DATABASE_DOWN, database_unavailable_json
from guichet.payonbill.subscribers.billexport import bill_line_json
from guichet.payonbill.subscribers.billfeed import bill_lines_after
from guichet.payonbill.subscribers.operator_keys import operator_authenticate
from guichet.payonbill.subscribers.operator_openapi import operator_openapi_document
from guichet.payonbill.subscribers.operator_schemas import BillLinePage
from guichet.webapi.errors import TooManyFailedAuthentications
from guichet.webapi.requests import bearer_key, error_json

log = logging.getLogger("guichet.payonbill.subscribers")

MAX_LIMIT = 1000


def _error(status: int, code: str, message: str, field: str = "") -> JsonResponse:
    return error_json(status, code, message, field, realm="guichet-operator")


@csrf_exempt
def bill_lines(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        response = _error(405, "method_not_allowed", "use GET.")
        response["Allow"] = "GET"
        return response
    key = bearer_key(request)
    if key is None:
        return _error(401, "missing_api_key", "send the operator API key as `Authorization: Bearer <key>`.")
    try:
        if operator_authenticate(api_key=key, ip=client_ip(request)) is None:
            return _error(401, "invalid_api_key", "this operator API key is unknown or revoked.")
        after = request.GET.get("after", "0")
        if not re.fullmatch(r"[0-9]{1,18}", after):
            return _error(400, "invalid_parameter", "after must be a cursor this API gave.", "after")
        raw_limit = request.GET.get("limit", "100")
        if not re.fullmatch(r"[0-9]{1,4}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            return _error(
                400, "invalid_parameter", f"limit must be a whole number from 1 to {MAX_LIMIT}.", "limit"
            )
        limit = int(raw_limit)
        # One more than asked tells whether there is more, without a second query.
        lines = bill_lines_after(after=int(after), limit=limit + 1)
        shown = lines[:limit]
        page = BillLinePage.model_validate(
            {
                "data": [bill_line_json(line) for line in shown],
                "next_cursor": str(shown[-1].seq) if shown else str(int(after)),
                "has_more": len(lines) > limit,
            }
        )
        return JsonResponse(page.model_dump(mode="json"))
    except TooManyFailedAuthentications as exc:  # this API's own message
        response = _error(429, "too_many_failed_authentications", "too many wrong keys from this address.")
        response["Retry-After"] = str(exc.retry_after_s)
        return response
    except DATABASE_DOWN:
        log.warning("database unavailable on %s %s", request.method, request.path)
        return database_unavailable_json()
    except Exception:  # still a JSON answer, as the document says; a read changed nothing
        log.exception("operator API failure on %s %s", request.method, request.path)
        return _error(500, "internal_error", "the request failed; retry later.")


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(operator_openapi_document())
