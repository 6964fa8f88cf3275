"""The payment lifecycle as the checkout drives it, expiry, refunds and the signed return."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_http_content
from guichet.delivery.worker import deliver_due
from guichet.payonbill.merchants import payments
from guichet.payonbill.merchants.errors import PaymentNotFound, PaymentRefused
from guichet.payonbill.merchants.models import IdempotencyRecord, Notification, Payment, Refund
from guichet.payonbill.merchants.notifications import payment_return_url, sign
from guichet.payonbill.merchants.payments import (
    payment_cancel,
    payment_complete,
    payment_for_checkout,
    payment_refuse,
)
from tests.payonbill.merchants.billers import RecordingBiller
from tests.payonbill.merchants.conftest import Api, payment_body


def create(api: Api, **changes: Any) -> str:
    response = api.post("payments", payment_body(**changes))
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def events() -> list[tuple[str, str]]:
    """(type, payment id) of every notification written to the outbox, in order."""
    found = []
    for message in OutboxMessage.objects.order_by("seq"):
        body = json.loads(outbox_http_content(message).body)
        found.append((body["type"], body["payment"]["id"]))
    return found


class Bill:
    """Stands for the checkout's charge: records lines in the database, or refuses."""

    def __init__(self, refuse: str = "") -> None:
        self.calls: list[str] = []
        self.refuse = refuse

    def __call__(self, payment: Payment) -> None:
        self.calls.append(payment.public_id)
        # a write that must vanish when the charge is refused
        audit_record(event=Event.SUBSCRIBERS_BILL_CHARGED, subject=payment.public_id)
        if self.refuse:
            raise PaymentRefused(self.refuse)


def test_payment_for_checkout_gives_what_the_page_shows(api: Api, merchant) -> None:
    payment_id = create(api)
    payment = payment_for_checkout(payment_id=payment_id)
    assert payment is not None
    assert (payment.merchant.name, payment.merchant.logo_url) == ("Éditeur Test", "")
    assert (payment.amount, payment.currency, payment.product, payment.status) == (
        390,
        "EUR",
        "PANIER EDITEUR",
        "pending",
    )
    assert payment_for_checkout(payment_id="pay_unknown") is None


def test_complete_charges_once_and_notifies(api: Api) -> None:
    payment_id = create(api)
    bill = Bill()
    # when
    done = payment_complete(payment_id=payment_id, payer_email="marie@example.fr", charge=bill)
    again = payment_complete(payment_id=payment_id, payer_email="other@example.fr", charge=bill)
    # then
    assert bill.calls == [payment_id]
    assert (done.status, done.payer_email) == ("succeeded", "marie@example.fr")
    assert (again.status, again.payer_email) == ("succeeded", "marie@example.fr")
    assert events() == [("payment.succeeded", payment_id)]
    assert AuditEvent.objects.filter(event=Event.SUBSCRIBERS_BILL_CHARGED).count() == 1
    got = api.get(f"payments/{payment_id}").json()
    assert got["status"] == "succeeded"
    assert got["completed_at"] is not None
    assert "payer_email" not in got  # the customer's address stays with the operator


def test_refused_charge_keeps_nothing_it_wrote(api: Api) -> None:
    payment_id = create(api)
    bill = Bill(refuse="monthly_cap_exceeded")
    # when
    done = payment_complete(payment_id=payment_id, payer_email="marie@example.fr", charge=bill)
    # then
    assert (done.status, done.refusal_reason, done.payer_email) == ("refused", "monthly_cap_exceeded", "")
    assert AuditEvent.objects.filter(event=Event.SUBSCRIBERS_BILL_CHARGED).count() == 0
    assert events() == [("payment.refused", payment_id)]
    assert api.get(f"payments/{payment_id}").json()["refusal_reason"] == "monthly_cap_exceeded"
    # a refused payment is final
    assert (
        payment_complete(payment_id=payment_id, payer_email="x@example.fr", charge=Bill()).status == "refused"
    )


def test_cancel_and_refuse_act_on_pending_payments_only(api: Api) -> None:
    cancelled, refused = create(api), create(api)
    assert payment_cancel(payment_id=cancelled).status == "cancelled"
    assert (
        payment_refuse(payment_id=refused, reason="pay_on_bill_blocked").refusal_reason
        == "pay_on_bill_blocked"
    )
    # idempotent: nothing changes and nothing more is notified
    assert payment_cancel(payment_id=cancelled).status == "cancelled"
    assert payment_refuse(payment_id=cancelled, reason="other").status == "cancelled"
    assert payment_cancel(payment_id=refused).status == "refused"
    assert events() == [("payment.cancelled", cancelled), ("payment.refused", refused)]
    with pytest.raises(PaymentNotFound):
        payment_cancel(payment_id="pay_unknown")
    with pytest.raises(PaymentNotFound):
        payment_complete(payment_id="pay_unknown", payer_email="a@b.fr", charge=Bill())


def test_a_payment_expires_when_read_after_its_time(api: Api, clock) -> None:
    payment_id = create(api)
    clock.advance(seconds=15 * 60 - 1)
    assert api.get(f"payments/{payment_id}").json()["status"] == "pending"
    clock.advance(seconds=1)
    # when: read by the merchant, then by the checkout
    assert api.get(f"payments/{payment_id}").json()["status"] == "expired"
    payment = payment_for_checkout(payment_id=payment_id)
    # then: expired once, notified once, never charged
    assert payment is not None
    assert payment.status == "expired"
    bill = Bill()
    assert payment_complete(payment_id=payment_id, payer_email="a@b.fr", charge=bill).status == "expired"
    assert bill.calls == []
    assert events() == [("payment.expired", payment_id)]


def test_complete_after_the_time_expires_instead_of_charging(api: Api, clock) -> None:
    payment_id = create(api)
    clock.advance(seconds=15 * 60)
    bill = Bill()
    assert payment_complete(payment_id=payment_id, payer_email="a@b.fr", charge=bill).status == "expired"
    assert bill.calls == []


def test_the_periodic_sweeper_expires_due_payments(api: Api, clock) -> None:
    late, fresh = create(api), None
    clock.advance(seconds=10 * 60)
    fresh = create(api)
    clock.advance(seconds=5 * 60)
    # when: the delivery pass runs the periodic tasks (registered by the app)
    deliver_due()
    # then
    assert dict(Payment.objects.values_list("public_id", "status")) == {late: "expired", fresh: "pending"}
    assert events() == [("payment.expired", late)]
    assert payments.payment_expire_due() == 0


def test_payment_ttl_is_configurable(api: Api, settings) -> None:
    import dataclasses

    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, merchants=dataclasses.replace(settings.GUICHET.merchants, payment_ttl_s=60)
    )
    payment = Payment.objects.get(public_id=create(api))
    assert (payment.expires_at - payment.created_at).total_seconds() == 60


def test_signed_return_urls(api: Api, merchant, clock) -> None:
    paid, cancelled = create(api), create(api)
    payment_complete(payment_id=paid, payer_email="marie@example.fr", charge=Bill())
    payment_cancel(payment_id=cancelled)
    secret = merchant.notification_secret
    for payment_id, base, status in (
        (paid, "https://shop.example/paid", "succeeded"),
        (cancelled, "https://shop.example/cancelled", "cancelled"),
    ):
        url = payment_return_url(payment=Payment.objects.get(public_id=payment_id))
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base
        query = dict(parse_qsl(parts.query))
        t = query["t"]
        assert int(t) == int(clock.now().timestamp())
        assert (query["payment_id"], query["status"]) == (payment_id, status)
        expected = sign(secret=secret, payload=f"payment_id={payment_id}&status={status}".encode(), at=int(t))
        assert f"t={t},v1={query['v1']}" == expected
    # the merchant's own query parameters are kept
    assert "order=1" in payment_return_url(payment=Payment.objects.get(public_id=paid))


def test_signature_is_hmac_sha256_of_time_dot_body() -> None:
    # a fixed vector a merchant can check their code against
    assert sign(secret="whsec_test", payload=b'{"id":"evt_1"}', at=1700000000) == (
        "t=1700000000,v1=" + hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}', "sha256").hexdigest()
    )


# --- refunds -------------------------------------------------------------------------------------


@pytest.fixture
def paid(api: Api) -> str:
    payment_id = create(api, amount=1000)
    payment_complete(payment_id=payment_id, payer_email="marie@example.fr", charge=Bill())
    return payment_id


@pytest.fixture
def credited() -> list[tuple[str, int]]:
    return RecordingBiller.credits


def test_partial_then_full_refund(api: Api, paid: str, credited) -> None:
    # when
    first = api.post(f"payments/{paid}/refunds", {"amount": 300, "reason": "one item returned"})
    rest = api.post(f"payments/{paid}/refunds", raw=b"", content_type="application/json")
    # then
    assert first.status_code == 201
    refund = Refund.objects.get(public_id=first.json()["id"])
    assert first.json() == {
        "id": refund.public_id,
        "payment_id": paid,
        "amount": 300,
        "reason": "one item returned",
        "created_at": refund.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert rest.status_code == 201
    assert (rest.json()["amount"], rest.json()["reason"]) == (700, None)
    assert api.get(f"payments/{paid}").json()["amount_refunded"] == 1000
    assert credited == [(paid, 300), (paid, 700)]
    assert events() == [("payment.succeeded", paid), ("refund.succeeded", paid), ("refund.succeeded", paid)]
    # nothing is left
    nothing = api.post(f"payments/{paid}/refunds", {})
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (409, "payment_fully_refunded")


def test_a_failing_biller_cancels_the_refund(api: Api, paid: str, caplog) -> None:
    RecordingBiller.failure = RuntimeError("bill unavailable")
    # when
    response = api.post(f"payments/{paid}/refunds", {"amount": 100}, idempotency_key="r")
    # then
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert Refund.objects.count() == 0
    assert Payment.objects.get(public_id=paid).amount_refunded == 0
    assert events() == [("payment.succeeded", paid)]
    assert IdempotencyRecord.objects.filter(key="r").count() == 0


def test_over_refund_is_refused_and_changes_nothing(api: Api, paid: str, credited) -> None:
    assert api.post(f"payments/{paid}/refunds", {"amount": 600}).status_code == 201
    # when
    response = api.post(f"payments/{paid}/refunds", {"amount": 401})
    # then
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "refund_exceeds_payment",
        "message": "at most 400 (minor units) is left to refund.",
        "field": "amount",
    }
    assert Payment.objects.get(public_id=paid).amount_refunded == 600
    assert Refund.objects.count() == 1
    assert credited == [(paid, 600)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": 0}, "out_of_range"),
        ({"amount": -5}, "out_of_range"),
        ({"amount": "5"}, "invalid_type"),
        ({"amount": 5, "extra": 1}, "unknown_field"),
    ],
)
def test_bad_refund_input(api: Api, paid: str, body: dict[str, Any], code: str) -> None:
    response = api.post(f"payments/{paid}/refunds", body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert Refund.objects.count() == 0


def test_only_succeeded_payments_are_refundable(api: Api) -> None:
    pending = create(api)
    response = api.post(f"payments/{pending}/refunds", {"amount": 1})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_not_refundable"
    assert Refund.objects.count() == 0


def test_refund_idempotency(api: Api, paid: str) -> None:
    first = api.post(f"payments/{paid}/refunds", {"amount": 100}, idempotency_key="r1")
    again = api.post(f"payments/{paid}/refunds", {"amount": 100}, idempotency_key="r1")
    other = api.post(f"payments/{paid}/refunds", {"amount": 200}, idempotency_key="r1")
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Refund.objects.count() == 1
    assert Payment.objects.get(public_id=paid).amount_refunded == 100
    # the payments' key space is another one: the same key creates a payment
    assert api.post("payments", payment_body(), idempotency_key="r1").status_code == 201


def test_notifications_carry_unique_event_ids_and_the_payment(api: Api, paid: str) -> None:
    api.post(f"payments/{paid}/refunds", {"amount": 100})
    bodies = [json.loads(outbox_http_content(m).body) for m in OutboxMessage.objects.order_by("seq")]
    ids = [b["id"] for b in bodies]
    assert len(set(ids)) == 2
    assert set(Notification.objects.values_list("event_id", flat=True)) == set(ids)
    assert bodies[1]["refund"]["amount"] == 100
    assert bodies[1]["payment"]["amount_refunded"] == 100
    message = OutboxMessage.objects.order_by("seq").first()
    assert message is not None
    assert (message.recipient, message.template) == (
        f"merchant:{Payment.objects.get().merchant_id}",
        "merchant.notification",
    )
    assert outbox_http_content(message).url == "https://shop.example/hooks/guichet"


def test_the_default_biller_is_the_bills(settings) -> None:
    from guichet.payonbill.checkout.billing import BillBiller
    from guichet.payonbill.merchants.billing import biller

    settings.GUICHET_BILLER = "guichet.payonbill.checkout.billing.BillBiller"
    assert isinstance(biller(), BillBiller)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no.such.Biller", "GUICHET_BILLER='no.such.Biller' cannot be imported"),
        ("tests.payonbill.merchants.billers.NoCredit", "has no credit(*, payment, refund) method"),
    ],
)
def test_a_wrong_biller_stops_the_start(settings, path: str, message: str) -> None:
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    settings.GUICHET_BILLER = path
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        apps.get_app_config("merchants").ready()
