"""`guichet billing export`: every line of a period per contract, with totals, byte for byte stable."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.payonbill.subscribers.billexport import bill_export
from guichet.payonbill.subscribers.billfeed import period_end, vat_included
from guichet.payonbill.subscribers.billing import charge_refund
from guichet.payonbill.subscribers.models import BillLine
from tests.payonbill.subscribers.billfeed_support import UTC, charge, vat_settings
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.django_db

HEADER = (
    "line_id,period,contract,kind,at,payment_id,merchant_id,merchant,product,amount,currency,"
    "vat_rate,vat_amount,lines"
)


@pytest.fixture
def in_process(settings):
    settings.LOGGING_CONFIG = None  # `guichet` calls django.setup() again


@pytest.fixture
def november(settings):
    """Two contracts with charges in November 2026 (Paris time), one refunded in part, and one in
    October and one in December that the November export must leave out."""
    vat_settings(settings, 2000)
    a = make_contract(number="C000002")
    b = make_contract(number="C000001")
    charge(a, "pay_oct", 500, dt.datetime(2026, 10, 31, 22, 59, tzinfo=UTC))  # 23:59 in Paris: October
    charge(a, "pay_a1", 390, dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC), product="Ebook, «tome 1»")
    charge(b, "pay_b1", 1200, dt.datetime(2026, 11, 15, 9, 0, tzinfo=UTC), merchant="JEUX", merchant_id=8)
    charge(a, "pay_a2", 1000, dt.datetime(2026, 11, 30, 22, 0, tzinfo=UTC))
    charge(b, "pay_dec", 100, dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC))  # 00:00 1 December in Paris
    charge_refund(payment_public_id="pay_a2", amount=250)  # November is still open


def test_vat_included_is_rounded_half_away_from_zero():
    assert vat_included(amount=390, rate_bp=2000) == 65  # 390 / 1.2 = 325, VAT 65
    assert vat_included(amount=1000, rate_bp=2000) == 167  # 166.67
    assert vat_included(amount=-250, rate_bp=2000) == -42  # 41.67
    assert vat_included(amount=100, rate_bp=550) == 5  # 5.21
    assert vat_included(amount=390, rate_bp=None) is None


def test_the_csv_export_lists_each_contract_lines_then_its_total_then_the_period_total(november):
    # when
    data = bill_export(period="2026-11")
    # then: contracts in number order, times in Paris, the credit negative with its VAT
    assert data.decode().split("\r\n") == [
        HEADER,
        "3,2026-11,C000001,charge,2026-11-15T10:00:00+01:00,pay_b1,8,JEUX,PANIER EDITEUR,1200,EUR,20,200,",
        ",2026-11,C000001,total,,,,,,1200,,,200,1",
        '2,2026-11,C000002,charge,2026-11-01T00:30:00+01:00,pay_a1,7,EDITEUR,"Ebook, «tome 1»",'
        "390,EUR,20,65,",
        "4,2026-11,C000002,charge,2026-11-30T23:00:00+01:00,pay_a2,7,EDITEUR,PANIER EDITEUR,1000,EUR,20,167,",
        "6,2026-11,C000002,credit,"
        + _local(BillLine.objects.get(kind="credit").at)
        + ",pay_a2,7,EDITEUR,PANIER EDITEUR,-250,EUR,20,-42,",
        ",2026-11,C000002,total,,,,,,1140,,,190,3",
        ",2026-11,,total,,,,,,2340,,,390,4",
        "",
    ]


def _local(at: dt.datetime) -> str:
    """The refund's time as the export writes it (the refund is made now, in Paris time)."""
    return at.astimezone(zoneinfo.ZoneInfo("Europe/Paris")).isoformat(timespec="seconds")


def test_the_json_export_has_the_same_lines_and_totals(november):
    # when
    document = json.loads(bill_export(period="2026-11", export_format="json"))
    # then
    assert document["period"] == "2026-11"
    assert document["time_zone"] == "Europe/Paris"
    assert [c["contract"] for c in document["contracts"]] == ["C000001", "C000002"]
    assert [line["line_id"] for line in document["contracts"][1]["lines"]] == [2, 4, 6]
    assert document["contracts"][0]["lines"][0] == {
        "line_id": 3,
        "period": "2026-11",
        "contract": "C000001",
        "kind": "charge",
        "at": "2026-11-15T10:00:00+01:00",
        "payment_id": "pay_b1",
        "merchant_id": 8,
        "merchant": "JEUX",
        "product": "PANIER EDITEUR",
        "amount": 1200,
        "currency": "EUR",
        "vat_rate": "20",
        "vat_amount": 200,
    }
    assert document["contracts"][1]["total"] == {"amount": 1140, "vat_amount": 190, "lines": 3}
    assert document["total"] == {"amount": 2340, "vat_amount": 390, "lines": 4}


def test_without_a_vat_rate_the_vat_columns_are_empty(settings):
    # given no GUICHET_BILLING_VAT_RATE (the default)
    charge(make_contract(number="C000009"), "pay_1", 390, dt.datetime(2026, 11, 2, 9, tzinfo=UTC))
    # when
    lines = bill_export(period="2026-11").decode().split("\r\n")
    # then
    assert lines[1:4] == [
        "1,2026-11,C000009,charge,2026-11-02T10:00:00+01:00,pay_1,7,EDITEUR,PANIER EDITEUR,390,EUR,,,",
        ",2026-11,C000009,total,,,,,,390,,,,1",
        ",2026-11,,total,,,,,,390,,,,1",
    ]


def test_a_line_keeps_the_vat_rate_it_was_written_with(settings, november):
    # given the rate changes after November's lines were written
    before = bill_export(period="2026-11")
    vat_settings(settings, 550)
    # when
    after = bill_export(period="2026-11")
    # then
    assert after == before


def test_the_same_period_exported_twice_gives_the_same_bytes(november, capsys, in_process, tmp_path):
    # when
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert main(["billing", "export", "--period", "2026-11", "--output", str(first)]) == 0
    assert main(["billing", "export", "--period", "2026-11", "--output", str(second)]) == 0
    assert main(["billing", "export", "--period", "2026-11", "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert main(["billing", "export", "--period", "2026-11", "--format", "json"]) == 0
    # then
    assert first.read_bytes() == second.read_bytes() == bill_export(period="2026-11")
    assert capsys.readouterr().out == printed
    assert printed.encode() == bill_export(period="2026-11", export_format="json")
    assert AuditEvent.objects.filter(event="subscribers:bill:exported").count() == 6


def test_an_empty_period_has_only_the_header_and_a_zero_total():
    assert bill_export(period="2026-05").decode().split("\r\n") == [
        HEADER,
        ",2026-05,,total,,,,,,0,,,,0",
        "",
    ]


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "11-2026", "", "2026-11-01"])
def test_a_bad_period_is_refused_with_a_message(capsys, in_process, period):
    # when
    status = main(["billing", "export", "--period", period])
    # then
    assert status == 1
    assert capsys.readouterr().err == f"guichet: the period must be a month written YYYY-MM, got {period!r}\n"
    assert not AuditEvent.objects.filter(event="subscribers:bill:exported").exists()


def test_a_period_ends_at_midnight_of_the_next_month_in_the_billing_time_zone():
    assert period_end(period="2026-12").isoformat() == "2027-01-01T00:00:00+01:00"
    assert period_end(period="2026-03").isoformat() == "2026-04-01T00:00:00+02:00"
