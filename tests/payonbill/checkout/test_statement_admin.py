"""The back-office's bill lines and statements: operator staff see them and download a statement;
issuer staff do not see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.backoffice.services import staff_create
from guichet.payonbill.checkout.statements import merchant_statement_csv
from guichet.payonbill.merchants.accounts import merchant_create
from guichet.payonbill.merchants.models import Merchant
from guichet.payonbill.subscribers.models import BillLine
from tests.payonbill.subscribers.billfeed_support import charge, in_period
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.django_db
STATEMENTS = "/admin/checkout/merchantstatement/"


def staff(area: str) -> Client:
    staff_create(username=f"{area}-staff", area=area)
    client = Client()
    client.force_login(get_user_model().objects.get(username=f"{area}-staff"))
    return client


@pytest.fixture
def billed() -> Merchant:
    merchant = merchant_create(name="EDITEUR", notification_url="https://shop.example/hook").merchant
    other = merchant_create(name="JEUX", notification_url="https://jeux.example/hook").merchant
    first, second = make_contract(number="C000001"), make_contract(number="C000002")
    charge(first, "pay_1", 390, in_period("2026-11"), merchant_id=merchant.pk)
    charge(second, "pay_2", 1000, in_period("2026-11"), merchant_id=merchant.pk)
    charge(second, "pay_3", 700, in_period("2026-11"), merchant="JEUX", merchant_id=other.pk)
    return merchant


def download(client: Client, *merchants: Merchant, period: str = "2026-11") -> Any:
    return client.post(
        STATEMENTS,
        {"action": "download_statement", "_selected_action": [m.pk for m in merchants], "period": period},
    )


def test_operator_staff_download_a_merchant_statement(billed):
    # when
    response = download(staff("operator"), billed)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="statement-{billed.pk}-2026-11.csv"'
    assert response.content == merchant_statement_csv(merchant=billed, period="2026-11")
    assert AuditEvent.objects.filter(event="checkout:statement:exported").count() == 2


@pytest.mark.parametrize(
    ("period", "message"),
    [("2026-13", "the period must be a month written YYYY-MM, got '2026-13'")],
)
def test_a_bad_month_is_said_and_nothing_is_downloaded(billed, period, message):
    response = download(staff("operator"), billed, period=period)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [message]
    assert not AuditEvent.objects.filter(event="checkout:statement:exported").exists()


def test_one_merchant_at_a_time(billed):
    response = download(staff("operator"), *Merchant.objects.all())
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Sélectionnez un seul marchand : un relevé est celui d'un marchand."  # the back-office speaks French
    ]


def test_a_contract_page_leads_to_its_bill_lines_only(billed):
    client = staff("operator")
    contract = BillLine.objects.get(payment_public_id="pay_2").contract
    page = client.get(f"/admin/subscribers/contract/{contract.pk}/change/").content.decode()
    link = f"/admin/subscribers/billline/?contract__id__exact={contract.pk}"
    assert f'href="{link}"' in page
    listing = client.get(link)
    assert listing.status_code == 200
    shown = listing.context["cl"].result_list
    assert sorted(line.payment_public_id for line in shown) == ["pay_2", "pay_3"]


def test_bill_lines_cannot_be_changed_or_deleted(billed):
    client = staff("operator")
    line = BillLine.objects.first()
    assert line is not None
    assert client.post(f"/admin/subscribers/billline/{line.pk}/change/", {"amount": 1}).status_code == 403
    assert client.post(f"/admin/subscribers/billline/{line.pk}/delete/", {"post": "yes"}).status_code == 403
    assert BillLine.objects.get(pk=line.pk).amount == line.amount


def test_issuer_staff_see_neither_statements_nor_bill_lines(billed):
    client = staff("issuer")
    assert client.get(STATEMENTS).status_code == 403
    assert download(client, billed).status_code == 403
    assert client.get("/admin/subscribers/billline/").status_code == 403
    assert not AuditEvent.objects.filter(event="checkout:statement:exported").exists()
