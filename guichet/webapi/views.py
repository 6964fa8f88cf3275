"""The frame of an authenticated JSON API view: the allowed methods, the bearer key, and every failure
as a JSON error (an ApiError as its code, the database down as 503, anything else as 500)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from guichet.core.http import client_ip
from guichet.core.middleware import DATABASE_DOWN, database_unavailable_json
from guichet.webapi.errors import ApiError, TooManyFailedAuthentications
from guichet.webapi.requests import bearer_key, error_json

Caller = TypeVar("Caller", covariant=True)
ApiView = Callable[..., HttpResponse]


class Authenticate(Protocol[Caller]):
    """An API's key check: who the key belongs to, or None (401); may raise
    TooManyFailedAuthentications (429)."""

    def __call__(self, *, api_key: str, ip: str = "") -> Caller | None: ...


def api_view(
    *methods: str, authenticate: Authenticate[Any], realm: str, log: logging.Logger, name: str
) -> Callable[[ApiView], ApiView]:
    """Wrap a view `view(request, caller, *args)` of the API `name` (in its failure log lines), whose
    keys `authenticate` checks and whose 401s name `realm`."""

    def error(status: int, code: str, message: str, field: str = "") -> JsonResponse:
        return error_json(status, code, message, field, realm=realm)

    def decorate(view: ApiView) -> ApiView:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error(405, "method_not_allowed", f"use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            key = bearer_key(request)
            if key is None:
                return error(401, "missing_api_key", "send the API key as `Authorization: Bearer <key>`.")
            try:
                caller = authenticate(api_key=key, ip=client_ip(request))
                if caller is None:
                    return error(401, "invalid_api_key", "this API key is unknown or revoked.")
                return view(request, caller, *args, **kwargs)
            except TooManyFailedAuthentications as exc:
                response = error(exc.status, exc.code, exc.message)
                response["Retry-After"] = str(exc.retry_after_s)
                return response
            except ApiError as exc:
                return error(exc.status, exc.code, exc.message, exc.field)
            except DATABASE_DOWN:
                log.warning("database unavailable on %s %s", request.method, request.path)
                return database_unavailable_json()
            except Exception:  # still a JSON answer; the transaction was rolled back
                log.exception("%s failure on %s %s", name, request.method, request.path)
                return error(500, "internal_error", "the request failed and changed nothing; retry later.")

        return wrapper

    return decorate
