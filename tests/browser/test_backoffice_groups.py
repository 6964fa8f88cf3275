"""The staff groups in a real Chromium: an issuer staff member's back-office has cards and no
subscribers, an operator staff member's subscribers and no cards."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from guichet.backoffice.groups import AREAS, staff_groups_sync

pytestmark = pytest.mark.browser

PASSWORD = "Agent-2026-long"
ISSUER_STAFF = AREAS["issuer"][0]
OPERATOR_STAFF = AREAS["operator"][0]


def sign_in(page: Page, *, username: str, group: str) -> None:
    staff_groups_sync()  # what `guichet staff groups` does
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_issuer_staff_see_the_cards_and_no_subscriber(page: Page, transactional_db: Any) -> None:
    sign_in(page, username="issuer-agent", group=ISSUER_STAFF)
    expect(page.locator("#content-main a[href='/admin/cards/card/']").first).to_be_visible()
    expect(page.locator("#content-main a[href^='/admin/subscribers/']")).to_have_count(0)
    expect(page.locator("#content-main a[href^='/admin/merchants/']")).to_have_count(0)
    response = page.goto("/admin/subscribers/contract/")
    assert response is not None
    assert response.status == 403
    expect(page.locator("#result_list")).to_have_count(0)


def test_operator_staff_see_the_subscribers_and_no_card(page: Page, transactional_db: Any) -> None:
    sign_in(page, username="operator-agent", group=OPERATOR_STAFF)
    expect(page.locator("#content-main a[href='/admin/subscribers/contract/']").first).to_be_visible()
    expect(page.locator("#content-main a[href^='/admin/cards/']")).to_have_count(0)
    expect(page.locator("#content-main a[href^='/admin/acs/']")).to_have_count(0)
    response = page.goto("/admin/cards/card/")
    assert response is not None
    assert response.status == 403
    expect(page.locator("#result_list")).to_have_count(0)
