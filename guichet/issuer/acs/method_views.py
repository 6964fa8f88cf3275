"""Thin views of the 3DS Method: the page in the requestor's hidden iframe, and what its script posts.

The page is on this server's origin inside another site's iframe: frameable (its own CSP, no
X-Frame-Options), no CSRF cookie (a third-party iframe may not send it), so its form carries a
single-use token instead, as the challenge's do.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from guichet.core.http import client_ip
from guichet.issuer.acs import method
from guichet.issuer.acs.messages.method import MAX_METHOD_DATA_CHARS, MethodDataError

MAX_FIELD = 256


def _csp(form_action: str) -> str:
    # The page posts its traits to 'self' (connect-src) and its form to the notification URL.
    return (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        f"form-action {form_action}; frame-ancestors *; base-uri 'none'"
    )


def _page(
    request: HttpRequest, template: str, context: dict[str, object], *, status: int, csp: str
) -> HttpResponse:
    response = HttpResponse(render_to_string(template, context, request=request), status=status)
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# csrf_exempt: the requestor's form comes from another site; the collect token protects the rest.
@csrf_exempt
@xframe_options_exempt
@require_POST
def method_page(request: HttpRequest) -> HttpResponse:
    """The threeDSMethodURL: the requestor's hidden form posts `threeDSMethodData`."""
    try:
        page = method.method_start(
            method_data=request.POST.get("threeDSMethodData", "")[: MAX_METHOD_DATA_CHARS + 1],
            ip=client_ip(request),
        )
    except MethodDataError as exc:
        context: dict[str, object] = {"problem": str(exc)}
        return _page(request, "acs/method_error.html", context, status=400, csp=_csp("'none'"))
    return _page(request, "acs/method.html", {"page": page}, status=200, csp=_csp(page.notification_origin))


@csrf_exempt  # see above: the single-use token of the page is checked by the service
@require_POST
def method_collect(request: HttpRequest) -> HttpResponse:
    """What the Method page's script read from the browser; 204 when stored, 400 otherwise."""
    fields = {name: request.POST.get(name, "")[:MAX_FIELD] for name in request.POST}
    try:
        traits = method.BrowserTraits.model_validate(
            {
                "screenWidth": fields.get("screenWidth", ""),
                "screenHeight": fields.get("screenHeight", ""),
                "colorDepth": fields.get("colorDepth", ""),
                "tzOffset": fields.get("tzOffset", ""),
                "tzName": fields.get("tzName", ""),
                "languages": [lang for lang in fields.get("languages", "").split(",") if lang][:10],
            }
        )
    except ValidationError:
        return HttpResponse(status=400)
    collected = method.method_collect(
        three_ds_server_trans_id=fields.get("threeDSServerTransID", ""),
        token=fields.get("token", ""),
        traits=traits,
        device_cookie=request.COOKIES.get(method.DEVICE_COOKIE, ""),
    )
    response = HttpResponse(status=204 if collected.accepted else 400)
    response.headers["Cache-Control"] = "no-store"
    if collected.new_device_id:
        https = settings.GUICHET.https
        # SameSite=None lets the cookie through in a third-party iframe where the browser allows it
        # at all; browsers take SameSite=None only with Secure, so over plain http it is first-party.
        response.set_cookie(
            method.DEVICE_COOKIE,
            collected.new_device_id,
            max_age=method.DEVICE_COOKIE_MAX_AGE,
            secure=https,
            httponly=True,
            samesite="None" if https else "Lax",
            path=reverse("acs:method"),  # /3ds/method: the page and its collect endpoint only
        )
    return response
