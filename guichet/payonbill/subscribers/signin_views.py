"""Thin views of the pages before the customer space: sign-in, personalisation, forgotten password,
sign-out, and the operator's stylesheet."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from guichet.core.http import client_ip
from guichet.core.views import brand_palette
from guichet.payonbill.subscribers import sessions
from guichet.payonbill.subscribers.account import (
    CredentialsInvalid,
    ResetOutcome,
    mailbox_personalise,
    password_reset_confirm,
    password_reset_request,
    reset_reference,
)
from guichet.payonbill.subscribers.forms import ForgotForm, PersonaliseForm, ResetForm, SigninForm
from guichet.payonbill.subscribers.logins import LOGIN
from guichet.payonbill.subscribers.sessions import safe_next, subscribers_current
from guichet.payonbill.subscribers.signin import SigninOutcome, mailbox_signin

# "mémoriser l'adresse mail": this cookie holds the address, nothing else.
REMEMBER_COOKIE = "guichet_sub_email"
RESET_SALT = "guichet.payonbill.subscribers.reset-link"

View = Callable[..., HttpResponse]


def page_language() -> str:
    return (get_language() or "fr")[:2]


def no_store(view: View) -> View:
    """Pages about a subscriber are never cached (shared computers, the back button)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapper


def _remembered_email(request: HttpRequest) -> str:
    """The address "mémoriser l'adresse mail" kept (or an initial login), if it looks like one."""
    value = request.COOKIES.get(REMEMBER_COOKIE, "")
    return value if LOGIN.fullmatch(value) else ""


def _remember(response: HttpResponse, address: str, remember: bool) -> None:
    if remember and address:
        response.set_cookie(
            REMEMBER_COOKIE,
            address,
            max_age=settings.GUICHET.subscribers.remember_email_days * 86400,
            path=reverse("subscribers:home"),
            secure=settings.GUICHET.https,
            httponly=True,
            samesite="Lax",
        )
    elif not remember:
        response.delete_cookie(REMEMBER_COOKIE, path=reverse("subscribers:home"), samesite="Lax")


def operator_css(request: HttpRequest) -> HttpResponse:
    """The operator's colour, as a stylesheet: the pages' CSP allows no inline style.

    As for the issuer's /brand.css, the text on the colour and the colour used as text keep WCAG AA's
    contrast whatever the operator picks (dark text on a light colour, a darkened colour as text)."""
    colour = settings.GUICHET.subscribers.operator_colour
    on_brand, ink = brand_palette(colour)
    css = (
        f":root {{ --brand: {colour}; --operator: {colour}; --on-brand: {on_brand}; --brand-text: {ink}; }}\n"
        ".lang.current, .primary, .icon { color: var(--on-brand); }\n"
        "button.link, .portal-links a { color: var(--brand-text); }\n"
    )
    response = HttpResponse(css, content_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _for_payment(next_url: str) -> bool:
    return next_url.startswith("/pay/")


@no_store
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.GET.get("next"))
    if subscribers_current(request) is not None:
        return redirect(next_url)
    remembered = _remembered_email(request)
    context: dict[str, Any] = {
        "next": next_url,
        "for_payment": _for_payment(next_url),
        "days": settings.GUICHET.subscribers.stay_signed_in_days,
    }
    if request.method == "GET":
        form = SigninForm(initial={"login": remembered, "remember_email": bool(remembered)})
        return render(request, "subscribers/signin.html", {**context, "form": form})
    form = SigninForm(request.POST)
    if not form.is_valid():
        return render(request, "subscribers/signin.html", {**context, "form": form}, status=400)
    data = form.cleaned_data
    result = mailbox_signin(
        login=data["login"], password=data["password"], ip=client_ip(request), language=page_language()
    )
    if result.outcome is SigninOutcome.SIGNED_IN and result.mailbox is not None:
        sessions.session_sign_in(request, result.mailbox, stay=data["stay"])
        response: HttpResponse = redirect(next_url)
        _remember(response, result.mailbox.login, data["remember_email"])
        return response
    if result.outcome is SigninOutcome.PERSONALISE and result.mailbox is not None:
        sessions.session_set_pending(
            request, result.mailbox, stay=data["stay"], remember=data["remember_email"]
        )
        return redirect(reverse("subscribers:personalise") + "?" + urlencode({"next": next_url}))
    status = 400 if result.outcome is SigninOutcome.FAILED else 429
    form = SigninForm(
        initial={"login": data["login"], "remember_email": data["remember_email"], "stay": data["stay"]}
    )
    context.update(form=form, outcome=result.outcome.value)
    return render(request, "subscribers/signin.html", context, status=status)


PROBLEMS = {
    ("login", "invalid"): gettext_noop("Please enter a valid email address."),
    ("login", "domain"): gettext_noop("Your address must end with @{domain}."),
    ("login", "taken"): gettext_noop("This address is already taken. Please choose another one."),
    ("login", "already"): gettext_noop("This mailbox is already personalised."),
    ("password", "length"): gettext_noop("The password must have 8 to 128 characters."),
    ("password", "letters_digits"): gettext_noop("The password must contain letters and digits."),
    ("password", "contains_login"): gettext_noop("The password must not contain your login."),
    ("password", "same"): gettext_noop("Please choose a password different from your current one."),
    ("confirmation", "mismatch"): gettext_noop(
        "The two passwords differ. Please type the same password twice."
    ),
    ("current", "wrong"): gettext_noop("Your current password is not correct."),
}


def problem_message(invalid: CredentialsInvalid) -> str:
    text = PROBLEMS.get((invalid.field, invalid.code), gettext_noop("Please check the form."))
    return _(text).format(domain=settings.GUICHET.subscribers.operator_mail_domain)


@no_store
@require_http_methods(["GET", "POST"])
def personalise(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.GET.get("next"))
    pending = sessions.session_pending(request)
    if pending is None:
        if subscribers_current(request) is not None:
            return redirect(next_url)
        return redirect(sessions.subscribers_signin_url(next_url))
    mailbox, state = pending
    context: dict[str, Any] = {
        "next": next_url,
        "domain": settings.GUICHET.subscribers.operator_mail_domain,
        "for_payment": _for_payment(next_url),
    }
    if request.method == "GET":
        return render(request, "subscribers/personalise.html", {**context, "form": PersonaliseForm()})
    form = PersonaliseForm(request.POST)
    if form.is_valid():
        try:
            mailbox = mailbox_personalise(
                mailbox=mailbox,
                login=form.cleaned_data["login"],
                password=form.cleaned_data["password"],
                confirmation=form.cleaned_data["confirmation"],
                ip=client_ip(request),
            )
        except CredentialsInvalid as invalid:
            form.add_error(invalid.field, problem_message(invalid))
        else:
            sessions.session_sign_in(request, mailbox, stay=bool(state.get("stay")))
            messages.success(request, _("Your email address and password are now personalised."))
            response: HttpResponse = redirect(next_url)
            _remember(response, mailbox.login, bool(state.get("remember")))
            return response
    # A bound form shows the errors; password inputs never render what was typed.
    return render(request, "subscribers/personalise.html", {**context, "form": form}, status=400)


@no_store
@require_http_methods(["GET", "POST"])
def forgot(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.GET.get("next"))
    context: dict[str, Any] = {"next": next_url}
    if request.method == "GET":
        form = ForgotForm(initial={"login": request.GET.get("login") or _remembered_email(request)})
        return render(request, "subscribers/forgot.html", {**context, "form": form})
    form = ForgotForm(request.POST)
    if not form.is_valid():
        return render(request, "subscribers/forgot.html", {**context, "form": form}, status=400)

    def link(mailbox_id: int, code: str) -> str:
        ref = signing.dumps(mailbox_id, salt=RESET_SALT)
        query = urlencode({"r": ref, "c": code, "next": next_url})
        return f"{settings.GUICHET.public_url}{reverse('subscribers:reset')}?{query}"

    outcome, reference = password_reset_request(
        login=form.cleaned_data["login"], ip=client_ip(request), language=page_language(), link=link
    )
    if outcome is ResetOutcome.RATE_LIMITED:
        return render(
            request,
            "subscribers/forgot.html",
            {**context, "form": form, "outcome": outcome.value},
            status=429,
        )
    request.session[sessions.RESET] = reference
    messages.info(
        request,
        _(
            "If this address is known, an email with a code valid for 10 minutes has been sent to it. "
            "Remember to look in your junk or spam folder."
        ),
    )
    return redirect(reverse("subscribers:reset") + "?" + urlencode({"next": next_url}))


@no_store
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.GET.get("next"))
    context: dict[str, Any] = {"next": next_url}
    if request.method == "GET":
        ref = request.GET.get("r")
        if ref:
            # The link of the email, maybe opened in another browser: it names the mailbox.
            try:
                mailbox_id = int(signing.loads(ref, salt=RESET_SALT, max_age=3600))
                request.session[sessions.RESET] = reset_reference(mailbox_id)
            except (signing.BadSignature, ValueError, TypeError):
                request.session[sessions.RESET] = ""
        if sessions.RESET not in request.session:
            return redirect(reverse("subscribers:forgot") + "?" + urlencode({"next": next_url}))
        form = ResetForm(initial={"code": request.GET.get("c", "")[:16]})
        return render(request, "subscribers/reset.html", {**context, "form": form})
    if sessions.RESET not in request.session:
        return redirect(reverse("subscribers:forgot") + "?" + urlencode({"next": next_url}))
    form = ResetForm(request.POST)
    outcome = ""
    if form.is_valid():
        try:
            result, _mailbox = password_reset_confirm(
                reference=str(request.session.get(sessions.RESET) or ""),
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password"],
                confirmation=form.cleaned_data["confirmation"],
                ip=client_ip(request),
                language=page_language(),
            )
        except CredentialsInvalid as invalid:
            form.add_error(invalid.field, problem_message(invalid))
        else:
            if result is ResetOutcome.DONE:
                sessions.session_sign_out(request)
                messages.success(request, _("Your password has been changed. Please sign in with it."))
                return redirect(sessions.subscribers_signin_url(next_url))
            outcome = result.value
    status = 429 if outcome == ResetOutcome.BLOCKED.value else 400
    return render(
        request, "subscribers/reset.html", {**context, "form": form, "outcome": outcome}, status=status
    )


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    sessions.session_sign_out(request)
    messages.info(request, _("You are signed out."))
    return redirect("subscribers:signin")
