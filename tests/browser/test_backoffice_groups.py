"""The staff groups in a real Chromium: an issuer staff member's back-office has cards, no subscribers."""

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


def test_issuer_staff_see_the_cards_and_no_subscriber(page: Page, transactional_db: Any) -> None:
    staff_groups_sync()  # what `guichet staff groups` does
    user = get_user_model().objects.create_user(username="issuer-agent", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=ISSUER_STAFF))
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill("issuer-agent")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#content-main a[href='/admin/cards/card/']").first).to_be_visible()
    expect(page.locator("#content-main a[href^='/admin/subscribers/']")).to_have_count(0)
    expect(page.locator("#content-main a[href^='/admin/merchants/']")).to_have_count(0)
    response = page.goto("/admin/subscribers/contract/")
    assert response is not None
    assert response.status == 403
    expect(page.locator("#result_list")).to_have_count(0)
