"""Strict response headers on every page, the language, and the request's boundary (bad characters)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.views.defaults import bad_request

from guichet.core.text import text_bad, text_clean

log = logging.getLogger("guichet.core")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# The DS's AReq is answered by the protocol alone (always an ARes or Erro; its event-loop endpoint reads
# only the body). The challenge's forms, in the merchant's iframe where a plain error page cannot be
# shown, are answered by their own screens: the CReq's Erro 203 naming the field, a step's refusal.
PROTOCOL_PATHS = ("/3ds/areq",)
PROTOCOL_FORMS = ("/3ds/challenge", "/3ds/challenge/step")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIX = "/api/"  # answered in the merchant API's JSON error shape


def with_issuer_logo(policy: str) -> str:
    """`policy` with the issuer's logo host (GUICHET_LOGO_URL on another site) in img-src."""
    logo = settings.GUICHET.branding.logo_origin
    return policy.replace("img-src 'self' data:", f"img-src 'self' data: {logo}") if logo else policy


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A view that must be framed (the 3DS challenge) sets its own policy first.
        response.headers.setdefault("Content-Security-Policy", with_issuer_logo(CSP))
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # Pages with personal data, and every API answer (payments, keys' errors): no cache keeps them.
        if request.path.startswith(("/enrollment/", "/admin/", "/dev/", API_PREFIX)):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _not_utf8(raw: str) -> bool:
    """Whether `raw` (bytes as latin-1, as WSGI and Django carry a query or a body) is not UTF-8 once
    unquoted: how a lone surrogate comes over HTTP, which Django would otherwise turn into U+FFFD."""
    try:
        unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except UnicodeEncodeError:  # not bytes as latin-1 but text already
        return False
    except UnicodeDecodeError:
        return True
    return False


def _path_not_utf8(path: str) -> bool:
    """Django keeps a path's bytes that are not UTF-8 percent-encoded (`repercent_broken_unicode`)."""
    if "%" not in path:
        return False
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _bad_field(request: HttpRequest) -> str | None:
    """The name of the path, header, query or form field holding a bad character (guichet.core.text)."""
    if text_bad(request.path) or _path_not_utf8(request.path):
        return "path"
    for key, value in request.META.items():
        if (key.startswith("HTTP_") or key == "CONTENT_TYPE") and isinstance(value, str) and text_bad(value):
            return key.removeprefix("HTTP_").replace("_", "-").title()
    if _not_utf8(str(request.META.get("QUERY_STRING", ""))):
        return "query"
    fields = [request.GET]
    if request.content_type in FORM_TYPES and request.path not in PROTOCOL_FORMS:
        if request.content_type == FORM_TYPES[0] and _not_utf8(request.body.decode("latin-1")):
            return "form"
        fields.append(request.POST)
    for data in fields:
        for key, values in data.lists():
            if text_bad(key) or any(text_bad(v) for v in values if isinstance(v, str)):
                return text_clean(key) or "(unnamed)"
    return None


class RequestTextMiddleware:
    """400 for a request no view could answer soundly: a bad character (U+0000, a lone surrogate, a
    non-character) in its path, a header, the query or a form field, more fields than
    DATA_UPLOAD_MAX_NUMBER_FIELDS, or an unreadable form. Without it the first meets PostgreSQL as a
    500, and the others a view's `request.GET` as a 500 where the view does not expect them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in PROTOCOL_PATHS:
            return self.get_response(request)
        try:
            field = _bad_field(request)
        except (SuspiciousOperation, MultiPartParserError, UnreadablePostError) as exc:
            # TooManyFieldsSent, RequestDataTooBig and friends: Django's 400, said at the boundary.
            return _refused(
                request, exc, "invalid_request", "the request has too many fields or is malformed."
            )
        if field is not None:
            return _refused(
                request,
                None,
                "invalid_character",
                f"{field} holds a character no field allows (U+0000, a lone surrogate or a non-character).",
                field,
            )
        return self.get_response(request)


def _refused(
    request: HttpRequest, exc: Exception | None, code: str, message: str, field: str = ""
) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": {"code": code, "message": message, "field": field or None}}, status=400)
    return bad_request(request, exc or SuspiciousOperation(message))


DATABASE_DOWN = (OperationalError, InterfaceError)  # the database cannot be reached: transient
RETRY_AFTER_S = 5


def database_unavailable_json() -> JsonResponse:
    response = JsonResponse(
        {
            "error": {
                "code": "database_unavailable",
                "message": "the database cannot be reached; nothing was changed: retry later.",
                "field": None,
            }
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseUnavailableMiddleware:
    """A view that cannot reach the database (down, a wrong GUICHET_DATABASE_URL) answers 503 with
    Retry-After, a page or the API's JSON error, instead of a 500 and its traceback in the log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_DOWN):
            return None
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        if request.path.startswith(API_PREFIX):
            return database_unavailable_json()
        response = render(request, "core/unavailable.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response


class LanguageMiddleware:
    """French unless the person chose English with the FR/EN switch (the language cookie).

    The browser's Accept-Language is not consulted: the issuer's pages are French by default.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


def language_suggest(request: HttpRequest, language: str) -> bool:
    """Speak `language` (one a merchant passed on) to a person who has not used the FR/EN switch.

    True when taken: the caller then keeps it with `language_keep`, so that the pages that follow
    (the sign-in, the end page) speak it too, and the switch still changes it.
    """
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    languages = dict(settings.LANGUAGES)
    if chosen in languages or language not in languages or language == translation.get_language():
        return False
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return True


def language_keep(response: HttpResponse, language: str) -> None:
    """The language cookie, as the FR/EN switch sets it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Lax" in settings.py
    )
    response.headers["Content-Language"] = language
