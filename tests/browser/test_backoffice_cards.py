"""The back-office's card actions in a real Chromium, as staff use them on a call: find the card, read
its state (masked), block it, unblock it, change the cardholder's phone with an SMS hold."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from guichet.audit.models import AuditEvent
from guichet.issuer.cards.lifecycle import CardholderInput, CardInput, card_block, card_get, cardholder_upsert
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import epin_set
from tests.support.factories import make_pan

pytestmark = pytest.mark.browser

PAN = make_pan()
PASSWORD = "Agent-2026-long"


@pytest.fixture
def staff_page(page: Page, transactional_db: Any) -> Page:
    """A signed-in staff member (the test mode needs no second factor) and Marie's card K-1."""
    get_user_model().objects.create_user(
        username="agent", password=PASSWORD, is_staff=True, is_superuser=True
    )
    holder = cardholder_upsert(
        data=CardholderInput(
            email="marie@example.com", phone="+687751123", name="Marie Kafeat", reference="C-1",
            cards=[CardInput(pan=PAN, expiry="2912", reference="K-1")],
        ),
        actor="test",
    ).cardholder  # fmt: skip
    epin_set(cardholder=holder, epin="4821", confirmation="4821", ip="127.0.0.1")
    page.goto("/admin/login/?next=/admin/cards/card/")
    page.locator("#id_username").fill("agent")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/cards/card/$"))
    return page


def run_action(page: Page, label: str) -> None:
    page.locator("#result_list tbody input.action-select").first.check()
    page.locator("select[name=action]").select_option(label=label)
    page.locator("button[name=index]").click()


def test_staff_block_a_card_from_the_card_list(staff_page: Page) -> None:
    run_action(staff_page, "Block the selected cards: stolen")
    expect(staff_page.locator(".messagelist")).to_contain_text("1 card(s) blocked (stolen).")
    expect(staff_page.locator("#result_list tbody tr").first.locator(".field-block_reason")).to_have_text(
        "Stolen"
    )
    card = Card.objects.get()
    assert (card.status, card.block_reason) == ("blocked", "stolen")
    assert AuditEvent.objects.get(event="cards:card:blocked").detail == {
        "actor": "backoffice:agent",
        "reason": "stolen",
    }


def test_staff_unblock_a_card_from_the_card_list(staff_page: Page) -> None:
    card_block(card=card_get(reference="K-1"), reason="fraud", actor="api:gi_test")
    staff_page.reload()
    run_action(staff_page, "Unblock the selected cards")
    expect(staff_page.locator(".messagelist")).to_contain_text("1 card(s) unblocked.")
    assert Card.objects.get().status == "active"
    assert AuditEvent.objects.get(event="cards:card:unblocked").detail["actor"] == "backoffice:agent"


def test_staff_read_a_cards_state_masked(staff_page: Page) -> None:
    card = Card.objects.get()
    staff_page.locator("#result_list tbody tr th a").first.click()
    expect(staff_page).to_have_url(re.compile(rf"/admin/cards/card/{card.pk}/change/$"))
    content = staff_page.locator("#content")
    expect(content).to_contain_text(card.masked_pan)
    expect(content).to_contain_text("K-1")
    expect(content).to_contain_text("xxxxxxx23")
    expect(staff_page.locator(".field-enrolled img")).to_have_attribute("alt", "True")
    assert PAN not in staff_page.content()
    assert "+687751123" not in staff_page.content()


def test_staff_change_the_phone_with_an_sms_hold(staff_page: Page) -> None:
    holder = Cardholder.objects.get()
    staff_page.goto(f"/admin/cards/cardholder/{holder.pk}/change/")
    staff_page.locator("#id_phone").fill("+687700001")
    staff_page.locator("#id_hold_hours").fill("24")
    staff_page.locator("input[name=_save]").click()
    expect(staff_page).to_have_url(re.compile(r"/admin/cards/cardholder/$"))
    holder.refresh_from_db()
    assert holder.phone == "+687700001"
    assert holder.sms_hold_until is not None
    assert AuditEvent.objects.get(event="cards:phone:changed").detail["actor"] == "backoffice:agent"
