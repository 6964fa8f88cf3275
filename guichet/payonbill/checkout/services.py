"""Pay-on-bill checkout: who pays, the caps, the charge on the bill and the summary email.

The payment itself (statuses, locking, notifications, signed return) belongs to the merchants area;
the contract, its bill and the sign-in to the subscribers area. This module decides, for one
confirmation, which contract pays and whether it may, and records the charge inside the merchants'
locked completion so a payment is charged at most once.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.core.money import money_format
from guichet.core.text import one_line
from guichet.delivery.services import outbox_enqueue_email
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.errors import PaymentRefused
from guichet.payonbill.merchants.models import Payment
from guichet.payonbill.merchants.payments import (
    payment_cancel,
    payment_complete,
    payment_for_checkout,
    payment_refuse,
)
from guichet.payonbill.subscribers.billing import (
    contract_charge,
    contract_lock,
    contract_month_total,
)
from guichet.payonbill.subscribers.models import Contract, Mailbox
from guichet.payonbill.subscribers.rollout import contract_address, contract_individual_signin, line_contract

BILL_CURRENCY = "EUR"  # the internet bill is in euros; the caps are too
SUMMARY_VALIDITY = dt.timedelta(days=3)


class Refusal(enum.StrEnum):
    """Why a pay-on-bill payment was refused: the `refusal_reason` the merchant receives."""

    PAYMENT_CAP = "payment_cap_exceeded"
    MONTHLY_CAP = "monthly_cap_exceeded"
    BLOCKED = "pay_on_bill_blocked"
    NOT_SUBSCRIBER = "not_a_subscriber"
    CURRENCY = "currency_not_supported"


class Step(enum.Enum):
    SIGN_IN = "sign_in"  # the customer must sign in first, then come back
    FINAL = "final"  # the payment has its final status (or was already final)


@dataclass(frozen=True)
class Confirmation:
    step: Step
    payment: Payment
    # True only for the one confirmation that charged the bill: the end page naming the payer's
    # address is for that browser, not for whoever posts the same payment id afterwards.
    charged_here: bool = False


@dataclass(frozen=True)
class Payer:
    contract: Contract
    email: str  # where the summary goes; "" when the contract has no known address (no summary)
    mailbox: Mailbox | None  # None when the line was recognised (customers without the new sign-in)


def checkout_payment(payment_id: str) -> Payment | None:
    """The payment behind a checkout URL, or None for an unknown id."""
    return payment_for_checkout(payment_id=payment_id)


def checkout_is_open(payment: Payment) -> bool:
    return payment.status == m.PENDING and payment.expires_at > clock.now()


def _payer(*, mailbox: Mailbox | None, ip: str) -> Payer | Step | Refusal:
    """Who pays: the signed-in mailbox's contract, else the contract of the recognised line when it
    does not have the new individual sign-in yet (the legacy path); otherwise the sign-in first.

    The individual sign-in works from any connection (line_contract), so an unknown line
    leads to the sign-in, not to a refusal. Only a contract with an internet line pays on its bill.
    """
    if mailbox is not None:
        if mailbox.contract.line_ip is None:
            return Refusal.NOT_SUBSCRIBER
        return Payer(contract=mailbox.contract, email=mailbox.address, mailbox=mailbox)
    contract = line_contract(ip=ip)
    if contract is None or contract_individual_signin(contract=contract):
        return Step.SIGN_IN
    return Payer(contract=contract, email=contract_address(contract=contract), mailbox=None)


def checkout_confirm(
    *, payment_id: str, mailbox: Mailbox | None, ip: str, language: str
) -> Confirmation | None:
    """The customer confirmed: charge the bill, refuse, or ask to sign in first. Idempotent.

    None for an unknown payment id.
    """
    payment = payment_for_checkout(payment_id=payment_id)
    if payment is None:
        return None
    if not checkout_is_open(payment):
        return Confirmation(Step.FINAL, payment)
    # Refusals that do not depend on who pays come before any sign-in.
    early = _refusal_for_payment(payment)
    if early is not None:
        return Confirmation(Step.FINAL, _refuse(payment, early, ip=ip, mailbox=mailbox))
    payer = _payer(mailbox=mailbox, ip=ip)
    if payer is Step.SIGN_IN:
        audit_record(event=Event.CHECKOUT_PAYMENT_SIGNIN_REQUIRED, subject=payment.public_id, ip=ip)
        return Confirmation(Step.SIGN_IN, payment)
    if isinstance(payer, Refusal):
        return Confirmation(Step.FINAL, _refuse(payment, payer, ip=ip, mailbox=mailbox))
    assert isinstance(payer, Payer)
    attempts: list[Payment] = []

    def charge(locked: Payment) -> None:
        attempts.append(locked)
        _charge(locked, payer=payer, language=language)

    done = payment_complete(payment_id=payment.public_id, payer_email=payer.email, charge=charge)
    if attempts:
        _audit_outcome(done, payer=payer, ip=ip)
    return Confirmation(Step.FINAL, done, charged_here=bool(attempts) and done.status == m.SUCCEEDED)


def _refusal_for_payment(payment: Payment) -> Refusal | None:
    if payment.currency != BILL_CURRENCY:
        return Refusal.CURRENCY
    if payment.amount > settings.GUICHET.checkout.payment_cap:
        return Refusal.PAYMENT_CAP
    return None


def _refuse(payment: Payment, reason: Refusal, *, ip: str, mailbox: Mailbox | None) -> Payment:
    refused = payment_refuse(payment_id=payment.public_id, reason=reason.value)
    if refused.status == m.REFUSED and refused.refusal_reason == reason.value:
        audit_record(
            event=Event.CHECKOUT_PAYMENT_REFUSED,
            subject=payment.public_id,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason=reason.value,
            contract=mailbox.contract_id if mailbox is not None else None,
        )
    return refused


def _charge(payment: Payment, *, payer: Payer, language: str) -> None:
    """Inside the merchants' locked completion: lock the contract, check the caps, add the charge.

    The contract's row lock serialises the purchases of one subscriber, so the monthly total read
    here cannot be overtaken by a parallel purchase before this one is recorded.
    """
    contract = contract_lock(contract_id=payer.contract.pk)
    config = settings.GUICHET.checkout
    if contract.pay_on_bill_blocked:
        raise PaymentRefused(Refusal.BLOCKED.value)
    if payment.currency != BILL_CURRENCY:
        raise PaymentRefused(Refusal.CURRENCY.value)
    if payment.amount > config.payment_cap:
        raise PaymentRefused(Refusal.PAYMENT_CAP.value)
    now = clock.now()
    if contract_month_total(contract=contract, at=now) + payment.amount > config.monthly_cap:
        raise PaymentRefused(Refusal.MONTHLY_CAP.value)
    contract_charge(
        contract=contract,
        mailbox=payer.mailbox,
        payment_public_id=payment.public_id,
        merchant_name=payment.merchant.name,
        product=payment.product,
        amount=payment.amount,
        at=now,
        merchant_id=payment.merchant_id,
    )
    if not payer.email:
        return  # a legacy contract whose mailboxes were never personalised: no address to write to
    # The summary is written in the same transaction as the charge: both happen or neither.
    outbox_enqueue_email(
        to=payer.email,
        template="checkout_summary",
        language=language,
        context={
            # Written by the merchant: one line each, so none can add lines of its own to our email.
            "merchant": one_line(payment.merchant.name, max_length=100),
            "product": one_line(payment.product, max_length=128),
            "reference": one_line(payment.reference, max_length=64),
            "amount": money_format(payment.amount, payment.currency, language),
            "address": payer.email,
            "date": now,
            # The bill's own time zone (its months are cut there), not UTC: the date the customer sees
            # on the bill.
            "time_zone": settings.GUICHET.subscribers.billing_time_zone,
            "payment_id": payment.public_id,
            "operator_name": settings.GUICHET.subscribers.operator_short_name,
            "service_name": settings.GUICHET.subscribers.service_name,
            "account_url": settings.GUICHET.public_url + reverse("subscribers:home"),
        },
        valid_for=SUMMARY_VALIDITY,
    )


def _audit_outcome(payment: Payment, *, payer: Payer, ip: str) -> None:
    if payment.status == m.SUCCEEDED:
        audit_record(
            event=Event.CHECKOUT_PAYMENT_CHARGED,
            subject=payment.public_id,
            ip=ip,
            outcome=AuditEvent.Outcome.SUCCESS,
            contract=payer.contract.pk,
            amount=payment.amount,
            signed_in=payer.mailbox is not None,
        )
    elif payment.status == m.REFUSED:
        audit_record(
            event=Event.CHECKOUT_PAYMENT_REFUSED,
            subject=payment.public_id,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason=payment.refusal_reason,
            contract=payer.contract.pk,
        )


def checkout_cancel(*, payment_id: str, ip: str) -> Payment | None:
    """The customer chose "Annuler la commande": the payment is cancelled if still pending; None for
    an unknown id."""
    payment = payment_for_checkout(payment_id=payment_id)
    if payment is None:
        return None
    if checkout_is_open(payment):
        payment = payment_cancel(payment_id=payment.public_id)
        audit_record(event=Event.CHECKOUT_PAYMENT_CANCELLED, subject=payment.public_id, ip=ip)
    return payment
