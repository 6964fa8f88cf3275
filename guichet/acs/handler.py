"""A Django WSGI handler for exactly `POST /3ds/areq`, with only the middleware a JSON answer needs.

The DS's AReq is the ACS's hot path (issue 3 asks 1,000 a second on two cores) and most of the
project's middleware does nothing for it: static files (WhiteNoise), sessions, CSRF (the view is
exempt), users and messages. `guichet.wsgi` sends that one method and path here; everything else
goes through the full stack. Kept: the security headers (ours and Django's SecurityMiddleware,
X-Frame-Options), the language (the Content-Language header, the default translation) and
CommonMiddleware (ALLOWED_HOSTS). The URL is still resolved by ROOT_URLCONF, so the view is the same.
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

AREQ_PATH = "/3ds/areq"
AREQ_MIDDLEWARE = (
    "guichet.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "guichet.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class AreqHandler(WSGIHandler):
    """WSGIHandler whose middleware chain is AREQ_MIDDLEWARE (in the order of settings.MIDDLEWARE)."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware for a fixed list of synchronous middleware.
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(AREQ_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler
