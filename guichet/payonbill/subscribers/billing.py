"""The internet bill: pay-on-bill charges and refunds on a contract's bill, its bills, its switch.

The checkout charges inside its own transaction, under `contract_lock`, after checking the block and
the caps there; a refund stays on the bill the charge was made on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.payonbill.subscribers.billfeed import bill_line_add
from guichet.payonbill.subscribers.billfeed import (
    billing_period as billing_period,
)  # the bill's rule, here too
from guichet.payonbill.subscribers.models import BillCharge, BillLine, Contract, Mailbox


class BillError(ValueError):
    """A charge or refund the bill refuses (`code`: "exists", "unknown", "too_much", "amount")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def contract_lock(*, contract_id: int) -> Contract:
    """The contract, row-locked until the end of the caller's transaction (caps under concurrency)."""
    return Contract.objects.select_for_update().get(pk=contract_id)


def contract_month_total(*, contract: Contract, at: dt.datetime) -> int:
    """Pay-on-bill total (minor units, refunds deducted) of the bill `at` belongs to."""
    total = BillCharge.objects.filter(contract=contract, period=billing_period(at)).aggregate(
        total=Sum(F("amount") - F("refunded_amount"))
    )["total"]
    return int(total or 0)


def contract_charge(
    *,
    contract: Contract,
    mailbox: Mailbox | None,
    payment_public_id: str,
    merchant_name: str,
    product: str,
    amount: int,
    currency: str = "EUR",
    at: dt.datetime | None = None,
    merchant_id: int | None = None,
) -> BillCharge:
    """Add a purchase to the contract's current bill. Call it inside the transaction that holds
    `contract_lock`, after checking the block and the caps there.

    Raises BillError("amount") for a non-positive amount, BillError("exists") when the payment is
    already on a bill (a payment is charged at most once; the unique column backs this up).
    """
    if amount <= 0:
        raise BillError("amount")
    if BillCharge.objects.filter(payment_public_id=payment_public_id).exists():
        raise BillError("exists")
    at = at or clock.now()
    with transaction.atomic():
        charge = _charge_create(
            contract=contract,
            mailbox=mailbox,
            payment_public_id=payment_public_id,
            merchant_name=merchant_name,
            product=product,
            amount=amount,
            currency=currency,
            at=at,
            merchant_id=merchant_id,
        )
        bill_line_add(charge=charge, kind=BillLine.Kind.CHARGE, amount=amount, at=at)
    return charge


def _charge_create(
    *,
    contract: Contract,
    mailbox: Mailbox | None,
    payment_public_id: str,
    merchant_name: str,
    product: str,
    amount: int,
    currency: str,
    at: dt.datetime,
    merchant_id: int | None,
) -> BillCharge:
    charge = BillCharge.objects.create(
        contract=contract,
        mailbox=mailbox,
        payment_public_id=payment_public_id,
        merchant_id=merchant_id,
        merchant_name=merchant_name[:200],
        product=product[:200],
        amount=amount,
        currency=currency,
        charged_at=at,
        period=billing_period(at),
    )
    audit_record(
        event=Event.SUBSCRIBERS_BILL_CHARGED,
        subject=f"contract:{contract.pk}",
        outcome=AuditEvent.Outcome.SUCCESS,
        payment=payment_public_id,
        amount=amount,
        currency=currency,
        period=charge.period,
    )
    return charge


def charge_refund(*, payment_public_id: str, amount: int) -> BillCharge:
    """Credit `amount` (minor units) of a charged payment back on the bill it was charged to.

    The refund stays on the charge's own bill (its period) for the customer space and the caps; the
    billing feed's credit line goes on that bill unless it is closed (billfeed.py). Raises
    BillError("unknown") for a payment not on any bill, BillError("too_much") when refunds would
    exceed the amount charged.
    """
    if amount <= 0:
        raise BillError("amount")
    with transaction.atomic():
        charge = BillCharge.objects.select_for_update().filter(payment_public_id=payment_public_id).first()
        if charge is None:
            raise BillError("unknown")
        if charge.refunded_amount + amount > charge.amount:
            raise BillError("too_much")
        charge.refunded_amount += amount
        charge.refunded_at = clock.now()
        charge.save(update_fields=["refunded_amount", "refunded_at"])
        bill_line_add(
            charge=charge,
            kind=BillLine.Kind.CREDIT,
            amount=-amount,
            at=charge.refunded_at,
        )
        audit_record(
            event=Event.SUBSCRIBERS_BILL_REFUNDED,
            subject=f"contract:{charge.contract_id}",
            outcome=AuditEvent.Outcome.SUCCESS,
            payment=payment_public_id,
            amount=amount,
        )
    return charge


@dataclass(frozen=True)
class Bill:
    period: str
    charges: list[BillCharge]

    @property
    def total(self) -> int:
        return sum(c.net_amount for c in self.charges)


def contract_bill(*, contract: Contract, period: str) -> Bill:
    """The pay-on-bill purchases of one bill, newest first."""
    charges = list(BillCharge.objects.filter(contract=contract, period=period).select_related("mailbox"))
    return Bill(period=period, charges=charges)


def contract_bill_periods(*, contract: Contract) -> list[str]:
    """Periods with purchases, newest first."""
    periods = BillCharge.objects.filter(contract=contract).values_list("period", flat=True).distinct()
    return sorted(set(periods), reverse=True)


def contract_pay_on_bill_set(*, mailbox: Mailbox, blocked: bool, ip: str) -> Contract:
    """Block or allow pay-on-bill for the mailbox's contract (the customer space's switch)."""
    with transaction.atomic():
        contract = contract_lock(contract_id=mailbox.contract_id)
        if contract.pay_on_bill_blocked != blocked:
            contract.pay_on_bill_blocked = blocked
            contract.pay_on_bill_changed_at = contract.updated_at = clock.now()
            contract.save(update_fields=["pay_on_bill_blocked", "pay_on_bill_changed_at", "updated_at"])
            audit_record(
                event=Event.SUBSCRIBERS_PAYONBILL_BLOCKED if blocked else Event.SUBSCRIBERS_PAYONBILL_ALLOWED,
                subject=mailbox.throttle_key,
                ip=ip,
                outcome=AuditEvent.Outcome.SUCCESS,
                contract=contract.pk,
            )
    return contract
