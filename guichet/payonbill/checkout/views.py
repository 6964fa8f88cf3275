"""Thin views of the hosted checkout: show the payment, confirm, cancel, show the outcome."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from guichet.core import clock
from guichet.core.http import client_ip
from guichet.core.middleware import CSP, language_keep, language_suggest
from guichet.core.money import money_format
from guichet.payonbill.checkout.services import (
    Step,
    checkout_cancel,
    checkout_confirm,
    checkout_is_open,
    checkout_payment,
)
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.models import Payment
from guichet.payonbill.merchants.notifications import payment_return_url
from guichet.payonbill.subscribers.sessions import subscribers_current, subscribers_signin_url

INTENT = "checkout:intent"  # the payment confirmed before the sign-in, resumed after it
INTENT_MAX_AGE_S = 15 * 60
PAID = "checkout:paid"  # payments completed in this browser: only they show the payer's address


def _language() -> str:
    return (get_language() or "fr")[:2]


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "checkout/unknown.html", status=404)


@never_cache
@require_GET
def payment_page(request: HttpRequest, public_id: str) -> HttpResponse:
    payment = checkout_payment(public_id)
    if payment is None:
        return _not_found(request)
    # The customer arrives from the merchant's site, in the language the merchant said they use.
    suggested = language_suggest(request, payment.language)
    if not checkout_is_open(payment):
        response = _outcome(request, payment)
    else:
        response = _with_logo(
            render(request, "checkout/confirm.html", _context(payment)), payment, cancel_form=True
        )
    if suggested:
        language_keep(response, payment.language)
    return response


@never_cache
@require_POST
def confirm(request: HttpRequest, public_id: str) -> HttpResponse:
    return _confirm(request, public_id)


@never_cache
@require_GET
def resume(request: HttpRequest, public_id: str) -> HttpResponse:
    """Back from the sign-in: the confirmation given before it (a POST with CSRF) goes on.

    Only a confirmation recorded in this session for this payment resumes, so a link cannot make a
    signed-in customer pay without having confirmed.
    """
    intent = request.session.pop(INTENT, None)
    fresh = (
        isinstance(intent, dict)
        and intent.get("payment") == public_id
        and clock.now().timestamp() - float(intent.get("at", 0)) < INTENT_MAX_AGE_S
    )
    if not fresh or subscribers_current(request) is None:
        return redirect("checkout:payment", public_id=public_id)
    return _confirm(request, public_id)


def _confirm(request: HttpRequest, public_id: str) -> HttpResponse:
    confirmation = checkout_confirm(
        payment_id=public_id,
        mailbox=subscribers_current(request),
        ip=client_ip(request),
        language=_language(),
    )
    if confirmation is None:
        return _not_found(request)
    if confirmation.step is Step.SIGN_IN:
        request.session[INTENT] = {"payment": public_id, "at": clock.now().timestamp()}
        return redirect(subscribers_signin_url(reverse("checkout:resume", kwargs={"public_id": public_id})))
    if confirmation.charged_here:
        paid = [p for p in request.session.get(PAID, []) if p != public_id][-9:]
        request.session[PAID] = [*paid, public_id]
    # Post/redirect/get: a reload shows the outcome and never posts again.
    return redirect("checkout:payment", public_id=public_id)


@never_cache
@require_POST
def cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    payment = checkout_cancel(payment_id=public_id, ip=client_ip(request))
    if payment is None:
        return _not_found(request)
    if payment.status == m.CANCELLED:
        return HttpResponseRedirect(payment_return_url(payment=payment))
    return redirect("checkout:payment", public_id=public_id)


@never_cache
@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "checkout/terms.html", _operator_context())


def _outcome(request: HttpRequest, payment: Payment) -> HttpResponse:
    context = {**_context(payment), "return_url": payment_return_url(payment=payment)}
    if payment.status == m.SUCCEEDED and _paid_here(request, payment):
        context["delay"] = settings.GUICHET.checkout.return_delay_s
        return _with_logo(render(request, "checkout/done.html", context), payment)
    if payment.status == m.REFUSED:
        return _with_logo(render(request, "checkout/refused.html", context), payment)
    status = payment.status if payment.status in (m.SUCCEEDED, m.CANCELLED) else m.EXPIRED
    return _with_logo(render(request, "checkout/closed.html", {**context, "closed": status}), payment)


def _paid_here(request: HttpRequest, payment: Payment) -> bool:
    """The end page, with the payer's address, is for the browser that paid: the one whose
    confirmation charged the bill, or one signed in with the mailbox that paid (a double click's
    second request may be the one whose answer the browser shows)."""
    if payment.public_id in request.session.get(PAID, []):
        return True
    mailbox = subscribers_current(request)
    return mailbox is not None and bool(mailbox.address) and mailbox.address == payment.payer_email


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _with_logo(response: HttpResponse, payment: Payment, *, cancel_form: bool = False) -> HttpResponse:
    """The page's policy, widened only where this payment needs it: images from the merchant's logo
    host; on the confirmation page, the cancel form's redirect to the merchant's cancel_url (a
    browser checks a form's redirects against form-action too)."""
    policy = CSP
    logo = _origin(payment.merchant.logo_url)
    if logo:
        policy = policy.replace("img-src 'self' data:", f"img-src 'self' data: {logo}")
    back = _origin(payment.cancel_url)
    if cancel_form and back:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {back}")
    if policy != CSP:
        response.headers["Content-Security-Policy"] = policy
    return response


def _operator_context() -> dict[str, Any]:
    config = settings.GUICHET
    return {
        "operator": config.subscribers,
        # The operator's own pay-on-bill terms when configured, else the built-in page.
        "terms_url": config.subscribers.operator_terms_url or reverse("checkout:terms"),
        "monthly_cap": money_format(config.checkout.monthly_cap, "EUR", _language()),
        "payment_cap": money_format(config.checkout.payment_cap, "EUR", _language()),
    }


def _context(payment: Payment) -> dict[str, Any]:
    return {
        **_operator_context(),
        "payment": payment,
        "price": money_format(payment.amount, payment.currency, _language()),
    }
