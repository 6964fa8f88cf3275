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
