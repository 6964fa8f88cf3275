"""Thin views of the customer space: the bills, the pay-on-bill switch, the password, sign-out everywhere."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guichet.codes.services import Blocked
from guichet.core import clock
from guichet.core.http import client_ip
from guichet.payonbill.subscribers import sessions
from guichet.payonbill.subscribers.account import (
    CredentialsInvalid,
    mailbox_password_change,
    mailbox_sign_out_everywhere,
)
from guichet.payonbill.subscribers.billing import (
    billing_period,
    contract_bill,
    contract_bill_periods,
    contract_month_total,
    contract_pay_on_bill_set,
)
from guichet.payonbill.subscribers.forms import PasswordChangeForm
from guichet.payonbill.subscribers.models import Mailbox
from guichet.payonbill.subscribers.sessions import subscribers_current
from guichet.payonbill.subscribers.signin_views import View, no_store, page_language, problem_message

PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def signed_in(view: View) -> View:
    """Customer-space pages: the signed-in mailbox, else the sign-in page that comes back here."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        had_session = bool(request.session.get(sessions.MAILBOX))
        mailbox = subscribers_current(request)
        if mailbox is None:
            if had_session:
                messages.warning(request, _("Your session has ended. Please sign in again."))
            return redirect(sessions.subscribers_signin_url(request.get_full_path()))
        return view(request, mailbox, *args, **kwargs)

    return no_store(wrapper)


@signed_in
@require_POST
def signout_everywhere(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    mailbox_sign_out_everywhere(mailbox=mailbox, ip=client_ip(request))
    sessions.session_sign_out(request)
    messages.info(request, _("You are signed out on all your devices."))
    return redirect("subscribers:signin")


def _period_date(period: str) -> dt.date:
    year, month = period.split("-")
    return dt.date(int(year), int(month), 1)


@signed_in
@require_GET
def home(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    contract = mailbox.contract
    now = clock.now()
    current = billing_period(now)
    bill = contract_bill(contract=contract, period=current)
    past = [p for p in contract_bill_periods(contract=contract) if p < current]
    context = {
        "mailbox": mailbox,
        "contract": contract,
        "bill": bill,
        "bill_month": _period_date(current),
        "month_total": contract_month_total(contract=contract, at=now),
        "past": [(p, _period_date(p)) for p in past],
        "signed_in_at": sessions.session_signed_in_at(request),
        "stay": bool(request.session.get(sessions.STAY)),
    }
    return render(request, "subscribers/home.html", context)


@signed_in
@require_GET
def bill_page(request: HttpRequest, mailbox: Mailbox, period: str) -> HttpResponse:
    if not PERIOD.fullmatch(period):
        raise Http404
    bill = contract_bill(contract=mailbox.contract, period=period)
    context = {
        "mailbox": mailbox,
        "contract": mailbox.contract,
        "bill": bill,
        "bill_month": _period_date(period),
        "current": period == billing_period(clock.now()),
    }
    return render(request, "subscribers/bill.html", context)


@signed_in
@require_POST
def pay_on_bill(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    action = request.POST.get("action")
    if action not in ("block", "allow"):
        return HttpResponse(status=400)
    contract_pay_on_bill_set(mailbox=mailbox, blocked=action == "block", ip=client_ip(request))
    messages.success(
        request,
        _("Pay-on-bill is now blocked.") if action == "block" else _("Pay-on-bill is now allowed."),
    )
    return redirect("subscribers:home")


@signed_in
@require_http_methods(["GET", "POST"])
def password(request: HttpRequest, mailbox: Mailbox) -> HttpResponse:
    if request.method == "GET":
        return render(
            request, "subscribers/password.html", {"mailbox": mailbox, "form": PasswordChangeForm()}
        )
    form = PasswordChangeForm(request.POST)
    outcome = ""
    if form.is_valid():
        try:
            updated = mailbox_password_change(
                mailbox=mailbox,
                current=form.cleaned_data["current"],
                password=form.cleaned_data["password"],
                confirmation=form.cleaned_data["confirmation"],
                ip=client_ip(request),
                language=page_language(),
            )
        except CredentialsInvalid as invalid:
            form.add_error(invalid.field, problem_message(invalid))
        except Blocked:
            outcome = "blocked"
        else:
            sessions.session_refresh_epoch(request, updated)
            messages.success(
                request, _("Your password has been changed. Your other sessions have been ended.")
            )
            return redirect("subscribers:home")
    context = {"mailbox": mailbox, "form": form, "outcome": outcome}
    return render(request, "subscribers/password.html", context, status=429 if outcome else 400)
