"""Closing a period: its export never changes again; a later refund is a credit on the next bill."""

from __future__ import annotations

import pytest

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.core import clock
from guichet.payonbill.subscribers.billexport import bill_export
from guichet.payonbill.subscribers.billfeed import billing_period
from guichet.payonbill.subscribers.billing import charge_refund, contract_bill
from guichet.payonbill.subscribers.models import BillLine, BillPeriodClose
from tests.payonbill.subscribers.billfeed_support import charge, in_period, previous_period
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(settings):
    settings.LOGGING_CONFIG = None  # `guichet` calls django.setup() again


def test_a_refund_after_the_close_is_a_credit_on_the_next_bill(capsys, in_process):
    # given a charge last month, and last month closed
    last, current = previous_period(), billing_period(clock.now())
    contract = make_contract(number="C000001")
    charge(contract, "pay_1", 1000, in_period(last))
    assert main(["billing", "close", "--period", last]) == 0
    assert capsys.readouterr().out == f"{last} closed (last line 1)\n"
    closed_export = bill_export(period=last)
    # when the payment is refunded in part after the close
    charge_refund(payment_public_id="pay_1", amount=300)
    # then the closed month's export is byte for byte the same
    assert bill_export(period=last) == closed_export
    # and the credit is a line of the current month's bill
    credit = BillLine.objects.get(kind="credit")
    assert (credit.seq, credit.period, credit.amount, credit.payment_public_id) == (2, current, -300, "pay_1")
    assert bill_export(period=current).decode().split("\r\n")[1:3] == [
        f"2,{current},C000001,credit,{credit.at.astimezone(_paris()).isoformat(timespec='seconds')},"
        "pay_1,7,EDITEUR,PANIER EDITEUR,-300,EUR,,,",
        f",{current},C000001,total,,,,,,-300,,,,1",
    ]
    # the customer space still shows the refund beside its charge, on last month's bill
    assert contract_bill(contract=contract, period=last).total == 700


def test_before_the_close_a_refund_stays_on_the_charge_bill():
    last = previous_period()
    charge(make_contract(), "pay_1", 1000, in_period(last))
    charge_refund(payment_public_id="pay_1", amount=300)
    assert list(BillLine.objects.values_list("kind", "period", "amount")) == [
        ("charge", last, 1000),
        ("credit", last, -300),
    ]


def test_closing_again_changes_nothing(capsys, in_process):
    last = previous_period()
    assert main(["billing", "close", "--period", last]) == 0
    first = BillPeriodClose.objects.get()
    assert main(["billing", "close", "--period", last]) == 0
    assert (
        capsys.readouterr().out == f"{last} closed (last line 0)\n{last} was already closed (last line 0)\n"
    )
    assert list(BillPeriodClose.objects.all()) == [first]
    assert AuditEvent.objects.filter(event="subscribers:bill:closed").count() == 1


def test_the_current_month_cannot_be_closed(capsys, in_process):
    current = billing_period(clock.now())
    assert main(["billing", "close", "--period", current]) == 1
    assert capsys.readouterr().err.startswith(f"guichet: {current} is not over yet: it ends at ")
    assert not BillPeriodClose.objects.exists()


def _paris():
    import zoneinfo

    return zoneinfo.ZoneInfo("Europe/Paris")
