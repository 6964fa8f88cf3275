from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from guichet.core.readiness import database_readiness

WHITE = "#ffffff"
DARK = "#1d2630"  # site.css body text
PAGE = "#f3f5f7"  # site.css page background, a little darker than the panels' white
READABLE = 4.5  # WCAG AA contrast for normal text


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers and reaches its database. Whether it can serve is /readyz."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 (any database failure means "not ready")
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers and carries every migration; 503 otherwise (take no traffic)."""
    state = database_readiness()
    if not state.reachable:
        down = {"status": "unavailable", "database": "down", "migrations": "unknown"}
        return JsonResponse(down, status=503)
    if state.pending:
        behind = {"status": "unavailable", "database": "ok", "migrations": "pending"}
        return JsonResponse(behind | {"pending": list(state.pending)}, status=503)
    return JsonResponse({"status": "ready", "database": "ok", "migrations": "applied"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # A stale or replayed form: say so plainly, without Django's developer page.
    return render(request, "core/form_expired.html", status=403)


def _luminance(colour: str) -> float:
    """WCAG relative luminance of #rrggbb."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def brand_palette(colour: str) -> tuple[str, str]:
    """(text on the colour, the colour as text on the page): readable whatever the issuer picks."""
    on_brand = WHITE if contrast(colour, WHITE) >= min(READABLE, contrast(colour, DARK)) else DARK
    ink, step = colour, 0
    while contrast(ink, PAGE) < READABLE:  # a light colour is darkened for text, towards black
        step += 1
        ink = "#" + "".join(f"{round(int(colour[i : i + 2], 16) * (1 - step / 20)):02x}" for i in (1, 3, 5))
    return on_brand, ink


def brand_css(request: HttpRequest) -> HttpResponse:
    """The issuer's colour (GUICHET_BRAND_COLOUR), as a stylesheet: the CSP allows no inline style.

    Linked from base.html after site.css, with the colour in the query string so a new colour is
    fetched at once and the stylesheet can be cached.
    """
    colour = settings.GUICHET.branding.primary_colour
    on_brand, ink = brand_palette(colour)
    css = (
        f":root {{ --brand: {colour}; --on-brand: {on_brand}; --brand-text: {ink}; }}\n"
        ".lang.current, .primary, .icon { color: var(--on-brand); }\n"
        ".brand-name, .panel h1, .secondary, button.link, .portal-links a { color: var(--brand-text); }\n"
    )
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
