"""Thin views of the challenge: parse the form, call one service, render the screen it returns.

These pages live inside the merchant's iframe, on another site than the merchant's page: they must
be frameable (their own CSP, no X-Frame-Options), and they can rely on no cookie (third-party cookies
are blocked there), so Django's session and CSRF cookie are not used; each form carries instead a
single-use token bound to the transaction (see screen.py).
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from guichet.core.http import client_ip
from guichet.core.middleware import with_issuer_logo
from guichet.issuer.acs.challenge import display
from guichet.issuer.acs.challenge.creq import challenge_creq
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.release import challenge_ready
from guichet.issuer.acs.challenge.screen import Screen
from guichet.issuer.acs.challenge.steps import challenge_step

MAX_FIELD = 16 * 1024
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
WINDOW_SIZES = {"01": (250, 400), "02": (390, 400), "03": (500, 600), "04": (600, 400), "05": (0, 0)}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return origin if _ORIGIN.fullmatch(origin) else ""


def _csp(post_url: str) -> str:
    # The final form posts to the requestor's notificationURL: its origin joins 'self' in form-action.
    origin = _origin(post_url) if post_url else ""
    form_action = "'self'" + (f" {origin}" if origin else (" https: http:" if post_url else ""))
    return with_issuer_logo(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"form-action {form_action}; frame-ancestors *; base-uri 'none'; object-src 'none'"
    )


def _context(screen: Screen) -> dict[str, object]:
    context: dict[str, object] = {"screen": screen, "brand": settings.GUICHET.branding}
    challenge, tx = screen.challenge, screen.tx
    if screen.erro is not None:
        context["erro_json"] = json.dumps(screen.erro.model_dump(mode="json", exclude_none=True), indent=1)
    if tx is not None:
        language = screen.language
        context.update(
            merchant=display.merchant_display(tx),
            amount=display.amount_display(tx, language),
            date=display.date_display(tx),
            card=display.masked_card(tx),
            phone=display.masked_phone(tx.cardholder.phone) if tx.cardholder else "",
            enrollment_url=settings.GUICHET.public_url.rstrip("/") + reverse("enrollment:start"),
        )
    if challenge is not None:
        width, height = WINDOW_SIZES.get(challenge.window_size, (0, 0))
        # Once decided, the page is headed by the step the outcome came at (success: the SMS step).
        shown = challenge.step
        if shown == Challenge.Step.DONE:
            shown = challenge.ended_step or Challenge.Step.SMS
        context.update(
            window=challenge.window_size,
            sms_only=tx.sms_only if tx else False,
            step_number=1 if shown == Challenge.Step.EPIN or (tx and tx.sms_only) else 2,
            step_count=1 if tx and tx.sms_only else 2,
            attempts_left=max(challenge.max_attempts - challenge.attempts_used, 0),
            window_width=width,
            window_height=height,
        )
    return context


def _render(request: HttpRequest, screen: Screen) -> HttpResponse:
    templates = {
        "step": "acs_challenge/step.html",
        "progress": "acs_challenge/progress.html",
        "post": "acs_challenge/post.html",
        "erro": "acs_challenge/erro.html",
        "refused": "acs_challenge/refused.html",
    }
    with translation.override(screen.language):
        body = render_to_string(templates[screen.kind], _context(screen), request=request)
    response = HttpResponse(body, status=screen.status)
    response.headers["Content-Security-Policy"] = _csp(screen.post_url)
    response.headers["Content-Language"] = screen.language
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _field(request: HttpRequest, name: str) -> str:
    return request.POST.get(name, "")[:MAX_FIELD]


# csrf_exempt: the CSRF cookie never reaches a cross-site iframe; the CReq (for the first page) and a
# single-use per-step token bound to the transaction (for the others) protect these forms instead.
@csrf_exempt
@xframe_options_exempt
@require_POST
def challenge(request: HttpRequest) -> HttpResponse:
    """The acsURL: the requestor's form posts `creq` (base64url CReq) and `threeDSSessionData`."""
    session_data = request.POST.get("threeDSSessionData")
    screen = challenge_creq(
        creq_field=_field(request, "creq"), session_data=session_data, ip=client_ip(request)
    )
    return _render(request, screen)


@csrf_exempt  # see above: the per-step token is checked by the service
@xframe_options_exempt
@require_POST
def step(request: HttpRequest) -> HttpResponse:
    screen = challenge_step(
        acs_trans_id=_field(request, "acsTransID"),
        token=_field(request, "token"),
        action=_field(request, "action"),
        epin=_field(request, "epin"),
        otp=_field(request, "otp"),
        ip=client_ip(request),
    )
    return _render(request, screen)


@require_GET
def status(request: HttpRequest, acs_trans_id: uuid.UUID) -> JsonResponse:
    """`{"ready": bool}`: whether the progress page may post on to the final CRes (release.py).

    Asked by the page's own script (same origin), every few hundred milliseconds while it waits: it
    answers at once, from one lookup, and tells nothing beyond that one bit.
    """
    ready = challenge_ready(acs_trans_id=str(acs_trans_id))
    response = JsonResponse({"ready": bool(ready)}, status=404 if ready is None else 200)
    response.headers["Cache-Control"] = "no-store"
    return response
