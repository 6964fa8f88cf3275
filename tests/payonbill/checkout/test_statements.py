"""`guichet merchants statement`: a merchant's payments and refunds of a month, which add up to the
billing export's lines of that merchant, to the cent."""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections import defaultdict

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.core import clock
from guichet.payonbill.checkout.services import checkout_confirm
from guichet.payonbill.checkout.statements import merchant_statement_csv
from guichet.payonbill.merchants.models import Merchant
from guichet.payonbill.subscribers.billexport import bill_export
from guichet.payonbill.subscribers.billfeed import billing_period
from guichet.payonbill.subscribers.models import BillLine
from tests.payonbill.checkout.support import Shop, mailbox, multi_bal, open_shop, subscribers_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(settings):
    settings.LOGGING_CONFIG = None  # `guichet` calls django.setup() again


def paid(shop: Shop, amount: int, reference: str, login: str = "paul@lagon.example") -> str:
    created = shop.pay(amount=amount, reference=reference, product=f"Article {reference}")
    result = checkout_confirm(
        payment_id=created["id"], mailbox=mailbox(login), ip="198.51.100.20", language="fr"
    )
    assert result is not None
    return str(created["id"])


def refund(shop: Shop, payment_id: str, amount: int) -> None:
    answer = Client().post(
        f"/api/v1/payments/{payment_id}/refunds",
        data={"amount": amount},
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.api_key}"},
    )
    assert answer.status_code == 201, answer.content


@pytest.fixture
def month(shop, merchant_site, settings):
    """Two merchants' payments this month, with VAT at 20 %, one refunded in part."""
    subscribers_settings(settings, billing_vat_rate_bp=2000)
    other = open_shop(merchant_site, name="JEUX")
    multi_bal()
    first = paid(shop, 390, "A-1")
    second = paid(shop, 1000, "A-2")
    paid(other, 2500, "B-1", login="lea@lagon.example")
    refund(shop, second, 250)
    return {"shop": shop, "other": other, "first": first, "second": second}


def _at(payment_id: str, kind: str) -> str:
    line = BillLine.objects.get(payment_public_id=payment_id, kind=kind)
    return line.at.astimezone(zoneinfo.ZoneInfo("Europe/Paris")).isoformat(timespec="seconds")


def test_the_statement_lists_payments_and_refunds_then_their_totals(month, capsys, in_process):
    # when
    period = billing_period(clock.now())
    merchant = month["shop"].merchant_id
    status = main(["merchants", "statement", "--merchant", str(merchant), "--period", period])
    # then
    out = capsys.readouterr()
    assert (status, out.err) == (0, "")
    first, second = month["first"], month["second"]
    m = str(merchant)
    assert out.out.split("\r\n") == [
        "merchant_id,period,kind,line_id,at,payment_id,reference,product,amount,currency,vat_rate,vat_amount,count",
        f"{m},{period},payment,1,{_at(first, 'charge')},{first},A-1,Article A-1,390,EUR,20,65,",
        f"{m},{period},payment,2,{_at(second, 'charge')},{second},A-2,Article A-2,1000,EUR,20,167,",
        f"{m},{period},refund,4,{_at(second, 'credit')},{second},A-2,Article A-2,-250,EUR,20,-42,",
        f"{m},{period},payments,,,,,,1390,,,232,2",
        f"{m},{period},refunds,,,,,,-250,,,-42,1",
        f"{m},{period},net,,,,,,1140,,,190,3",
        "",
    ]
    assert AuditEvent.objects.filter(event="checkout:statement:exported").count() == 1


def test_the_statements_add_up_to_the_billing_export_to_the_cent(month):
    # given the month's billing export, summed per merchant
    period = billing_period(clock.now())
    export = list(csv.DictReader(io.StringIO(bill_export(period=period).decode())))
    per_merchant: dict[str, int] = defaultdict(int)
    for row in export:
        if row["kind"] != "total":
            per_merchant[row["merchant_id"]] += int(row["amount"])
    overall = int(export[-1]["amount"])
    # when each merchant's statement is summed
    nets = {}
    for merchant in Merchant.objects.all():
        rows = list(
            csv.DictReader(io.StringIO(merchant_statement_csv(merchant=merchant, period=period).decode()))
        )
        assert sum(int(r["amount"]) for r in rows if r["kind"] in ("payment", "refund")) == int(
            rows[-1]["amount"]
        )
        nets[str(merchant.pk)] = int(rows[-1]["amount"])
    # then
    assert (
        nets
        == dict(per_merchant)
        == {str(month["shop"].merchant_id): 1140, str(month["other"].merchant_id): 2500}
    )
    assert sum(nets.values()) == overall == 3640


def test_a_month_without_payments_has_zero_totals(shop):
    rows = merchant_statement_csv(merchant=Merchant.objects.get(), period="2026-01").decode().split("\r\n")
    m = shop.merchant_id
    assert rows[1:] == [
        f"{m},2026-01,payments,,,,,,0,,,,0",
        f"{m},2026-01,refunds,,,,,,0,,,,0",
        f"{m},2026-01,net,,,,,,0,,,,0",
        "",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--merchant", "999", "--period", "2026-01"], "guichet: no merchant with id '999'\n"),
        (["--merchant", "x", "--period", "2026-01"], "guichet: no merchant with id 'x'\n"),
        (
            ["--merchant", "{id}", "--period", "2026-1"],
            "guichet: the period must be a month written YYYY-MM, got '2026-1'\n",
        ),
    ],
)
def test_bad_arguments_are_refused_with_a_message(shop, capsys, in_process, args, message):
    args = [a.replace("{id}", str(shop.merchant_id)) for a in args]
    assert main(["merchants", "statement", *args]) == 1
    assert capsys.readouterr().err == message
    assert not AuditEvent.objects.filter(event="checkout:statement:exported").exists()
