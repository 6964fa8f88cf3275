"""The demo's 3DS Server runs the 3DS Method from the card page before its AReq."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from typing import Any

import pytest
from django.test import Client

from guichet.demo.shop.models import Order
from tests.demo.shop.support import FakeAcs

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.demo.shop.urls")]


def b64url(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def card_page(client: Client) -> tuple[Order, Any]:
    client.post("/demo/shop/basket/collection-reliee/", {"method": "card"})
    order = Order.objects.get()
    response = client.get(f"/demo/shop/order/{order.id}/card/")
    order.refresh_from_db()
    return order, response


def pay(client: Client, order: Order) -> None:
    form = {"pan": "4970 1000 0000 0048", "expiry": "12/29", "name": "Marie Kafeat"}
    client.post(f"/demo/shop/order/{order.id}/card/", form, HTTP_ACCEPT="text/html")
    order.refresh_from_db()


def test_the_card_page_posts_three_ds_method_data_into_a_hidden_iframe_on_the_acs(client, fake_acs: FakeAcs):
    order, response = card_page(client)
    page = html.unescape(response.content.decode())
    assert len(order.method_trans_id) == 36
    assert (
        f'<form method="post" action="{fake_acs.url}/3ds/method" target="tdsmethod" id="method-form">' in page
    )
    notify = f"http://testserver/demo/shop/order/{order.id}/3ds/method"
    expected = b64url({"threeDSServerTransID": order.method_trans_id, "threeDSMethodNotificationURL": notify})
    assert f'name="threeDSMethodData" value="{expected}"' in page
    assert re.search(
        r'<iframe name="tdsmethod" id="method-frame" title="[^"]+" class="shop-hidden-frame" hidden>', page
    )
    policy = response["Content-Security-Policy"]
    assert f"form-action 'self' {fake_acs.url};" in policy
    assert f"frame-src 'self' {fake_acs.url};" in policy
    # a reload runs the same Method again
    client.get(f"/demo/shop/order/{order.id}/card/")
    assert Order.objects.get().method_trans_id == order.method_trans_id


def test_without_the_method_at_the_acs_there_is_no_iframe_and_the_areq_says_u(
    client, fake_acs: FakeAcs, settings
):
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, method=False)
    )
    order, response = card_page(client)
    assert "method-form" not in response.content.decode()
    assert order.method_trans_id == ""
    pay(client, order)
    assert fake_acs.received[0]["threeDSCompInd"] == "U"


def test_the_answer_on_the_notification_url_makes_the_areq_say_y_with_the_methods_id(
    client, fake_acs: FakeAcs
):
    order, _ = card_page(client)
    done = client.post(
        f"/demo/shop/order/{order.id}/3ds/method",
        {"threeDSMethodData": b64url({"threeDSServerTransID": order.method_trans_id})},
    )
    assert done.status_code == 200
    assert "frame-ancestors 'self'" in done["Content-Security-Policy"]
    pay(client, order)
    sent = fake_acs.received[0]
    assert (sent["threeDSCompInd"], sent["threeDSServerTransID"]) == ("Y", order.method_trans_id)
    assert order.three_ds_server_trans_id == order.method_trans_id


def test_a_method_without_an_answer_makes_the_areq_say_n(client, fake_acs: FakeAcs):
    order, _ = card_page(client)
    pay(client, order)
    sent = fake_acs.received[0]
    assert (sent["threeDSCompInd"], sent["threeDSServerTransID"]) == ("N", order.method_trans_id)


@pytest.mark.parametrize(
    "field", ["%%%", b64url({"threeDSServerTransID": "3ac7caa7-aa42-2663-791b-2ac05a542c4a"}), b64url({})]
)
def test_an_answer_naming_another_method_or_garbage_is_refused_and_changes_nothing(client, fake_acs, field):
    order, _ = card_page(client)
    assert (
        client.post(f"/demo/shop/order/{order.id}/3ds/method", {"threeDSMethodData": field}).status_code
        == 400
    )
    assert Order.objects.get().method_notified_at is None
