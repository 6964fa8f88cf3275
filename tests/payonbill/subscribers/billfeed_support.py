"""Bill lines made the way the checkout makes them: charges and refunds through the bill's services."""

from __future__ import annotations

import dataclasses
import datetime as dt

from guichet.core import clock
from guichet.payonbill.subscribers.billfeed import billing_period, period_parse
from guichet.payonbill.subscribers.billing import contract_charge
from guichet.payonbill.subscribers.models import BillCharge, Contract

UTC = dt.UTC


def vat_settings(settings, rate_bp: int | None) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        subscribers=dataclasses.replace(settings.GUICHET.subscribers, billing_vat_rate_bp=rate_bp),
    )


def previous_period() -> str:
    """The month before the current one (a month that is over, so it may be closed)."""
    first = period_parse(period=billing_period(clock.now()))
    return billing_period(dt.datetime.combine(first, dt.time(12), tzinfo=UTC) - dt.timedelta(days=2))


def in_period(period: str, day: int = 10, hour: int = 12) -> dt.datetime:
    first = period_parse(period=period)
    return dt.datetime(first.year, first.month, day, hour, tzinfo=UTC)


def charge(
    contract: Contract,
    payment: str,
    amount: int,
    at: dt.datetime,
    *,
    merchant: str = "EDITEUR",
    merchant_id: int | None = 7,
    product: str = "PANIER EDITEUR",
) -> BillCharge:
    return contract_charge(
        contract=contract,
        mailbox=None,
        payment_public_id=payment,
        merchant_name=merchant,
        product=product,
        amount=amount,
        at=at,
        merchant_id=merchant_id,
    )
