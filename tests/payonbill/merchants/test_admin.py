"""Back-office: merchants and keys; a key is shown once, at creation, and never after."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client

from guichet.core.egress import EgressPolicy
from guichet.payonbill.merchants.accounts import merchant_authenticate
from guichet.payonbill.merchants.models import ApiKey, Merchant
from tests.payonbill.merchants.conftest import make_merchant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _full_urls(settings) -> None:
    # the admin needs the project's URLs
    settings.ROOT_URLCONF = "tests.payonbill.merchants.admin_urls"


def shown(page: str) -> list[str]:
    return re.findall(r"<code>([^<]+)</code>", page)


def test_adding_a_merchant_shows_its_key_and_secret_once(admin_client: Client) -> None:
    # when
    response = admin_client.post(
        "/admin/merchants/merchant/add/",
        {
            "name": "Éditeur BO",
            "logo_url": "https://shop.example/logo.png",
            "notification_url": "https://shop.example/hook",
            "hosts": "shop.example\nPay.Shop.Example:8443",
            "is_active": "on",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    # then
    assert response.status_code == 200
    api_key, secret = shown(response.content.decode())
    merchant = Merchant.objects.get()
    assert merchant.return_hosts == ["pay.shop.example:8443", "shop.example"]
    assert merchant_authenticate(api_key=api_key) == merchant
    assert secret.startswith("whsec_")
    assert "no-store" in response["Cache-Control"]
    # never again: the change page shows the prefix only
    page = admin_client.get(f"/admin/merchants/merchant/{merchant.pk}/change/").content.decode()
    assert api_key not in page
    assert secret not in page
    assert api_key[:11] in page


def test_adding_a_key_shows_it_once_and_revoking_works(admin_client: Client) -> None:
    created = make_merchant()
    # when
    response = admin_client.post(
        "/admin/merchants/apikey/add/", {"merchant": created.merchant.pk, "label": "rotation"}
    )
    # then
    (clear,) = shown(response.content.decode())
    key = ApiKey.objects.get(label="rotation")
    assert merchant_authenticate(api_key=clear) == created.merchant
    assert clear not in admin_client.get(f"/admin/merchants/apikey/{key.pk}/change/").content.decode()
    # revoke both keys with the action
    admin_client.post(
        "/admin/merchants/apikey/",
        {"action": "revoke", "_selected_action": [str(k.pk) for k in ApiKey.objects.all()]},
    )
    assert merchant_authenticate(api_key=clear) is None
    assert merchant_authenticate(api_key=created.api_key) is None


def test_the_back_office_refuses_an_internal_notification_address(admin_client: Client, settings) -> None:
    settings.GUICHET = dataclasses.replace(settings.GUICHET, egress=EgressPolicy())
    created = make_merchant()
    response = admin_client.post(
        f"/admin/merchants/merchant/{created.merchant.pk}/change/",
        {
            "name": created.merchant.name,
            "notification_url": "http://[::1]:5432/hook",
            "hosts": "shop.example",
            "is_active": "on",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "the notification URL is refused: loopback address ::1" in response.content.decode()
    created.merchant.refresh_from_db()
    assert created.merchant.notification_url == "https://shop.example/hooks/guichet"
