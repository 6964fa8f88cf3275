"""Strict response headers on every page."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


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
        if request.path.startswith(("/enrollment/", "/admin/", "/dev/")):
            response.headers.setdefault("Cache-Control", "no-store")
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
