"""Thin views: parse the form, call one service, render."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.codes import policy
from guichet.core import clock
from guichet.core.http import client_ip
from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import EpinInvalid, epin_set
from guichet.issuer.enrollment.forms import CodesForm, EmailForm, EpinForm
from guichet.issuer.enrollment.services import (
    CodeResult,
    enrollment_resend_codes,
    enrollment_start,
    enrollment_verify,
)

HOLDER = "enroll_holder"
STAGE = "enroll_stage"
SEEN = "enroll_seen"

View = Callable[..., HttpResponse]


def _language() -> str:
    return (get_language() or "fr")[:2]


def _holder(request: HttpRequest) -> Cardholder | None:
    pk = request.session.get(HOLDER)
    return Cardholder.objects.filter(pk=pk).first() if pk else None


def _issue_nonce(request: HttpRequest, form: str) -> str:
    nonce = secrets.token_urlsafe(16)
    request.session[f"nonce:{form}"] = nonce
    return nonce


def _take_nonce(request: HttpRequest, form: str) -> bool:
    """A form can be submitted once: a replay (back button, resent request) changes nothing."""
    expected = request.session.pop(f"nonce:{form}", None)
    given = request.POST.get("nonce", "")
    return bool(expected) and secrets.compare_digest(str(expected), given)


def _end(request: HttpRequest) -> None:
    language = request.session.get("_language")
    request.session.flush()
    if language:
        request.session["_language"] = language


def signed_in(view: View) -> View:
    """Pages after the two codes: the session ends after the configured inactivity (5 minutes)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        holder = _holder(request) if request.session.get(STAGE) == "auth" else None
        now = clock.now().timestamp()
        idle = now - float(request.session.get(SEEN, 0))
        if holder is None:
            return redirect("enrollment:start")
        if idle > settings.GUICHET.portal_idle_timeout_s:
            audit_record(
                event=Event.ENROLLMENT_SESSION_EXPIRED, subject=holder.throttle_key, ip=client_ip(request)
            )
            _end(request)
            messages.warning(
                request, _("Your session ended after 5 minutes without activity. Please start again.")
            )
            return redirect("enrollment:start")
        request.session[SEEN] = now
        return view(request, holder, *args, **kwargs)

    return wrapper


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if request.session.get(STAGE) == "auth":
            return redirect("enrollment:methods")
        return render(request, "enrollment/start.html", {"form": EmailForm()})
    form = EmailForm(request.POST)
    if not form.is_valid():
        return render(request, "enrollment/start.html", {"form": form}, status=400)
    _end(request)
    outcome, holder = enrollment_start(
        email=form.cleaned_data["email"], ip=client_ip(request), language=_language()
    )
    if outcome is CodeResult.COOLDOWN:
        # Codes were just sent: let the person type them rather than send more.
        messages.info(request, _cooldown_text())
    if outcome in (CodeResult.SENT, CodeResult.COOLDOWN) and holder is not None:
        request.session[HOLDER] = holder.pk
        request.session[STAGE] = "codes"
        return redirect("enrollment:codes")
    status = 429 if outcome in (CodeResult.RATE_LIMITED, CodeResult.HOURLY_CAP, CodeResult.BLOCKED) else 200
    return render(request, "enrollment/start.html", {"form": form, "outcome": outcome.value}, status=status)


@require_http_methods(["GET", "POST"])
def codes(request: HttpRequest) -> HttpResponse:
    holder = _holder(request)
    if holder is None or request.session.get(STAGE) != "codes":
        return redirect("enrollment:start")
    if request.method == "GET":
        return _codes_page(request, CodesForm())
    if not _take_nonce(request, "codes"):
        messages.error(request, _("This form was already submitted. Please check the page and try again."))
        return redirect("enrollment:codes")
    if request.POST.get("action") == "resend":
        outcome = enrollment_resend_codes(cardholder=holder, ip=client_ip(request), language=_language())
        return _codes_page(
            request,
            CodesForm(),
            outcome=outcome.value,
            status=200 if outcome in (CodeResult.SENT, CodeResult.COOLDOWN) else 429,
        )
    form = CodesForm(request.POST)
    if not form.is_valid():
        return _codes_page(request, form, status=400)
    outcome = enrollment_verify(
        cardholder=holder,
        sms_code=form.cleaned_data["sms_code"],
        email_code=form.cleaned_data["email_code"],
        ip=client_ip(request),
        language=_language(),
    )
    if outcome is CodeResult.VERIFIED:
        request.session.cycle_key()  # a new session id once the person is known
        request.session[STAGE] = "auth"
        request.session[SEEN] = clock.now().timestamp()
        return redirect("enrollment:methods")
    return _codes_page(
        request, CodesForm(), outcome=outcome.value, status=429 if outcome is CodeResult.BLOCKED else 400
    )


def _cooldown_text() -> str:
    """The resend cooldown's message, with the cooldown the codes core applies."""
    seconds = int(policy.RESEND_COOLDOWN.total_seconds())
    return ngettext(
        "Codes were sent less than %(seconds)s second ago. "
        "Please use them, or wait before asking for new ones.",
        "Codes were sent less than %(seconds)s seconds ago. "
        "Please use them, or wait before asking for new ones.",
        seconds,
    ) % {"seconds": seconds}


def _codes_page(
    request: HttpRequest, form: CodesForm, *, outcome: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "outcome": outcome,
        "nonce": _issue_nonce(request, "codes"),
        "cooldown": _cooldown_text() if outcome == CodeResult.COOLDOWN.value else "",
    }
    return render(request, "enrollment/codes.html", context, status=status)


@signed_in
def methods(request: HttpRequest, holder: Cardholder) -> HttpResponse:
    return render(request, "enrollment/methods.html", {"holder": holder, "cards": list(holder.cards.all())})


@signed_in
@require_GET
def phone(request: HttpRequest, holder: Cardholder) -> HttpResponse:
    """How to change the phone that receives the codes: by calling the issuer, never from a web
    session (whoever holds one could otherwise send the codes to their own phone). Changes nothing."""
    context = {"holder": holder, "cards": list(holder.cards.all())}
    return render(request, "enrollment/phone.html", context)


@signed_in
@require_http_methods(["GET", "POST"])
def password(request: HttpRequest, holder: Cardholder) -> HttpResponse:
    cards = list(holder.cards.all())
    if request.method == "GET":
        return _password_page(request, holder, cards, EpinForm())
    if not _take_nonce(request, "epin"):
        messages.error(request, _("This form was already submitted. Please check the page and try again."))
        return redirect("enrollment:methods")
    form = EpinForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            epin_set(
                cardholder=holder,
                epin=form.cleaned_data["epin"],
                confirmation=form.cleaned_data["confirmation"],
                ip=client_ip(request),
            )
        except EpinInvalid as invalid:
            error = invalid.code
        else:
            messages.success(
                request,
                _(
                    "You have successfully registered for secure 3D Secure online transactions and activated "
                    "your password payment method. You can now make 3D Secure online transactions. Thank you."
                ),
            )
            return redirect("enrollment:methods")
    return _password_page(request, holder, cards, EpinForm(), error=error, bound=form, status=400)


def _password_page(
    request: HttpRequest,
    holder: Cardholder,
    cards: list[Any],
    form: EpinForm,
    *,
    error: str = "",
    bound: EpinForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "holder": holder,
        "cards": cards,
        "form": form,
        "error": error,
        "bound": bound,
        "nonce": _issue_nonce(request, "epin"),
    }
    return render(request, "enrollment/password.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    holder = _holder(request)
    if holder is not None:
        audit_record(
            event=Event.ENROLLMENT_SESSION_LOGOUT, subject=holder.throttle_key, ip=client_ip(request)
        )
    _end(request)
    messages.info(request, _("You are signed out."))
    return redirect("enrollment:start")


def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "enrollment/help.html")


def secure_shopping(request: HttpRequest) -> HttpResponse:
    return render(request, "enrollment/secure_shopping.html")
