"""The back-office's billing pages in a real Chromium, as operator staff use them: a contract's bill
lines from its page, and a merchant's statement downloaded with the list's action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from guichet.backoffice.services import staff_create
from guichet.payonbill.checkout.statements import merchant_statement_csv
from guichet.payonbill.merchants.accounts import merchant_create
from guichet.payonbill.subscribers.models import Contract
from tests.payonbill.subscribers.billfeed_support import charge, in_period
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.browser


@pytest.fixture
def operator_staff(transactional_db: None) -> tuple[str, str]:
    created = staff_create(username="olivia", area="operator")
    return created.username, created.password


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()


def test_operator_staff_download_a_merchant_statement(page: Page, operator_staff: Any, tmp_path: Path):
    # given a merchant with two payments on November's bills
    merchant = merchant_create(name="EDITEUR", notification_url="https://shop.example/hook").merchant
    contract = make_contract(number="C000001")
    charge(contract, "pay_1", 390, in_period("2026-11"), merchant_id=merchant.pk)
    charge(contract, "pay_2", 1000, in_period("2026-11", day=12), merchant_id=merchant.pk)
    sign_in(page, *operator_staff)
    # when staff choose the merchant, the action and the month on the statements' list
    page.locator('a[href="/admin/checkout/merchantstatement/"]').first.click()
    page.locator(f'input[name=_selected_action][value="{merchant.pk}"]').check()
    page.select_option("select[name=action]", "download_statement")
    page.fill("input[name=period]", "2026-11")
    with page.expect_download() as download_info:
        page.locator("button[name=index]").click()
    # then the browser gets the month's statement
    download = download_info.value
    assert download.suggested_filename == f"statement-{merchant.pk}-2026-11.csv"
    saved = tmp_path / "statement.csv"
    download.save_as(saved)
    assert saved.read_bytes() == merchant_statement_csv(merchant=merchant, period="2026-11")
    assert saved.read_bytes().decode().splitlines()[-1] == f"{merchant.pk},2026-11,net,,,,,,1390,,,,2"


def test_operator_staff_reach_a_contract_bill_lines_from_its_page(page: Page, operator_staff: Any):
    # given two contracts with lines
    first, second = make_contract(number="C000001"), make_contract(number="C000002")
    charge(first, "pay_1", 390, in_period("2026-11"))
    charge(second, "pay_2", 1000, in_period("2026-11"))
    sign_in(page, *operator_staff)
    contract = Contract.objects.get(number="C000002")
    # when
    page.goto(f"/admin/subscribers/contract/{contract.pk}/change/")
    page.locator(f'a[href="/admin/subscribers/billline/?contract__id__exact={contract.pk}"]').click()
    # then only that contract's lines are listed
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody")).to_contain_text("pay_2")
