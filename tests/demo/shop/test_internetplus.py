"""The shop as a pay-on-bill merchant: signed notifications, the signed return, and the API call."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.test import Client

from guichet.core import clock as guichet_clock
from guichet.demo.shop import internetplus
from guichet.demo.shop.models import Notification, Order
from guichet.demo.shop.services import shop_order_create
from guichet.payonbill.merchants.models import Merchant

pytestmark = [pytest.mark.urls("tests.demo.shop.urls")]

SECRET = "whsec_test-secret"


def sign(secret: str, payload: bytes, t: int | None = None) -> str:
    """The Guichet-Signature of docs/merchants.md, written out independently of the shop's code."""
    t = int(guichet_clock.now().timestamp()) if t is None else t
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + payload, hashlib.sha256).hexdigest()}"


@pytest.fixture
def credentials(settings: Any, tmp_path: Any) -> None:
    settings.GUICHET = dataclasses.replace(settings.GUICHET, data_dir=tmp_path)
    (tmp_path / internetplus.CREDENTIALS_FILE).write_text(
        json.dumps({"api_key": "gk_test", "notification_secret": SECRET})
    )


@pytest.fixture
def pending(db: None, credentials: None) -> Order:
    order = shop_order_create(product="panier-editeur")
    Order.objects.filter(pk=order.pk).update(
        method=Order.Method.INTERNET_PLUS,
        status=Order.Status.PENDING,
        payment_id="pay_1",
        payment_status="pending",
    )
    order.refresh_from_db()
    return order


def event(order: Order, status: str = "succeeded", event_id: str = "evt_1", **payment: Any) -> bytes:
    body = {
        "id": event_id,
        "type": f"payment.{status}",
        "created_at": "2026-11-23T01:00:00Z",
        "payment": {"id": order.payment_id, "status": status, "reference": str(order.id), **payment},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def notify(body: bytes, signature: str | None) -> Any:
    headers = {} if signature is None else {"Guichet-Signature": signature}
    return Client().post("/demo/shop/notify", data=body, content_type="application/json", headers=headers)


def test_a_signed_notification_is_recorded_and_moves_the_order(pending: Order):
    body = event(pending)
    response = notify(body, sign(SECRET, body))
    assert response.status_code == 200
    assert response.json() == {"received": True, "problem": None}
    note = Notification.objects.get()
    assert (
        note.order_id,
        note.signature_ok,
        note.problem,
        note.event_id,
        note.event_type,
        note.payment_status,
    ) == (
        pending.id,
        True,
        "",
        "evt_1",
        "payment.succeeded",
        "succeeded",
    )
    pending.refresh_from_db()
    assert (pending.status, pending.payment_status) == (Order.Status.ACCEPTED, "succeeded")


def test_a_refusal_notification_keeps_the_reason(pending: Order):
    body = event(pending, "refused", refusal_reason="cap_per_payment")
    notify(body, sign(SECRET, body))
    pending.refresh_from_db()
    assert (pending.status, pending.refusal_reason) == (Order.Status.REFUSED, "cap_per_payment")


@pytest.mark.parametrize(
    ("signature", "problem"),
    [
        (lambda body: None, "missing signature"),
        (lambda body: "", "missing signature"),
        (lambda body: "t=abc,v1=00", "malformed signature"),
        (lambda body: f"t={int(time.time())}", "malformed signature"),
        (lambda body: sign("whsec_another-merchant", body), "bad signature"),
        (lambda body: sign(SECRET, body.replace(b"succeeded", b"refused")), "bad signature"),
        (lambda body: sign(SECRET, body, t=int(guichet_clock.now().timestamp()) - 301), "stale signature"),
    ],
    ids=["absent", "empty", "malformed-time", "no-mac", "other-secret", "other-body", "too-old"],
)
def test_a_notification_whose_signature_fails_is_refused_recorded_and_changes_nothing(
    pending: Order, signature, problem
):
    body = event(pending)
    response = notify(body, signature(body))
    assert response.status_code == 400
    assert response.json() == {"received": False, "problem": problem}
    note = Notification.objects.get()
    assert (note.signature_ok, note.problem, note.order_id) == (False, problem, pending.id)
    pending.refresh_from_db()
    assert (pending.status, pending.payment_status) == (Order.Status.PENDING, "pending")
    # and the order page shows it as refused
    page = Client().get(f"/demo/shop/order/{pending.id}/").content.decode()
    assert f"refusée\u00a0: {problem}" in page


def test_a_notification_delivered_twice_is_applied_once(pending: Order):
    first = event(pending, "succeeded", event_id="evt_7")
    notify(first, sign(SECRET, first))
    again = event(pending, "cancelled", event_id="evt_7")
    response = notify(again, sign(SECRET, again))
    assert response.status_code == 200
    assert list(Notification.objects.values_list("signature_ok", "problem")) == [
        (True, ""),
        (True, "duplicate"),
    ]
    pending.refresh_from_db()
    assert (pending.status, pending.payment_status) == (Order.Status.ACCEPTED, "succeeded")


def test_a_late_event_does_not_undo_a_final_status(pending: Order):
    for status, event_id in (("cancelled", "evt_1"), ("succeeded", "evt_2")):
        body = event(pending, status, event_id=event_id)
        assert notify(body, sign(SECRET, body)).status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.payment_status) == (Order.Status.CANCELLED, "cancelled")


def return_query(order: Order, status: str, *, secret: str = SECRET, t: int | None = None) -> dict[str, str]:
    signature = sign(secret, f"payment_id={order.payment_id}&status={status}".encode(), t)
    t_part, v1_part = signature.split(",")
    return {"payment_id": order.payment_id, "status": status, "t": t_part[2:], "v1": v1_part[3:]}


def test_the_signed_return_is_verified_and_shown(pending: Order):
    response = Client().get(f"/demo/shop/order/{pending.id}/return", return_query(pending, "cancelled"))
    assert response.status_code == 302
    assert response["Location"] == f"/demo/shop/order/{pending.id}/"
    pending.refresh_from_db()
    assert (pending.return_verified, pending.status) == (True, Order.Status.CANCELLED)
    page = Client().get(response["Location"]).content.decode()
    assert "<h1>Paiement annulé</h1>" in page
    assert '<dd id="return-verified">signature vérifiée</dd>' in page


@pytest.mark.parametrize(
    "query",
    [
        lambda order: {**return_query(order, "cancelled"), "status": "succeeded"},
        lambda order: return_query(order, "succeeded", secret="whsec_other"),
        lambda order: return_query(order, "succeeded", t=int(guichet_clock.now().timestamp()) - 600),
        lambda order: {**return_query(order, "succeeded"), "payment_id": "pay_other"},
        lambda order: {},
    ],
    ids=["status-changed", "other-secret", "too-old", "other-payment", "nothing"],
)
def test_a_return_whose_signature_fails_changes_nothing(pending: Order, query):
    Client().get(f"/demo/shop/order/{pending.id}/return", query(pending))
    pending.refresh_from_db()
    assert (pending.return_verified, pending.status, pending.payment_status) == (
        False,
        Order.Status.PENDING,
        "pending",
    )


# --- through Guichet's merchant API, over HTTP ---------------------------------------------------


def test_internet_plus_creates_the_payment_through_the_api_and_sends_the_customer_to_checkout(
    live_server, settings, tmp_path
):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url, data_dir=tmp_path)
    client = Client()
    # when the customer chooses internet+ for the 3,90 EUR basket
    response = client.post("/demo/shop/basket/panier-editeur/", {"method": "internetplus"})
    # then the shop registered itself once, created the payment and redirects to Guichet's checkout
    order = Order.objects.get()
    assert (order.method, order.status, order.payment_status) == ("internetplus", "pending", "pending")
    assert order.payment_id.startswith("pay_")
    assert response.status_code == 302
    assert response["Location"] == order.checkout_url == f"{live_server.url}/pay/{order.payment_id}/"
    credentials = internetplus.shop_credentials()
    assert credentials is not None
    # and Guichet holds that payment as the shop described it
    import urllib.request

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/payments/{order.payment_id}",
        headers={"Authorization": f"Bearer {credentials.api_key}"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        payment = json.loads(answer.read())
    assert (payment["amount"], payment["currency"], payment["product"], payment["reference"]) == (
        390,
        "EUR",
        "PANIER EDITEUR",
        str(order.id),
    )
    assert payment["return_url"] == f"http://testserver/demo/shop/order/{order.id}/return"
    assert payment["notification_url"] == "http://testserver/demo/shop/notify"
    assert payment["language"] == "fr"
    # and starting again for the same order gets the same payment (the order id is the idempotency key)
    again = internetplus.shop_internetplus_start(
        order=order, product_name="PANIER EDITEUR", shop_base="http://testserver", language="fr"
    )
    assert again.payment_id == payment["id"]


def test_the_shop_registers_again_when_its_notification_origin_changed(live_server, settings, tmp_path):
    # given the shop registered as http://testserver (its notifications go there)
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url, data_dir=tmp_path)
    Client().post("/demo/shop/basket/panier-editeur/", {"method": "internetplus"})
    first = internetplus.shop_credentials()
    # when the customer now reaches the shop as http://localhost (an allowed return host, but another
    # notification origin: Guichet refuses a per-payment notification_url on it)
    order = shop_order_create(product="panier-editeur")
    started = internetplus.shop_internetplus_start(
        order=order, product_name="PANIER EDITEUR", shop_base="http://localhost", language="fr"
    )
    # then the shop registered again, for its new origin, and the payment was created
    assert started.status == "pending", started.error
    assert internetplus.shop_credentials() != first
    assert Merchant.objects.count() == 2
