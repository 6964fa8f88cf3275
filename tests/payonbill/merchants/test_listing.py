"""GET /api/v1/payments: filters by status, creation time and reference, and pages joined by a cursor
that neither skip nor repeat; a bad parameter is a 400 that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from guichet.payonbill.merchants.models import Payment
from guichet.payonbill.merchants.payments import payment_cancel, payment_complete, payment_refuse
from tests.payonbill.merchants.conftest import Api, make_merchant, payment_body
from tests.payonbill.merchants.test_payments import Bill

pytestmark = pytest.mark.django_db
BAD_MOMENT = "{} must be a date (2026-11-01) or a date-time with its offset (2026-11-01T00:00:00Z)."


def ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [p["id"] for p in answer.json()["data"]]


@pytest.fixture
def five(api: Api, clock) -> dict[str, str]:
    """Five payments an hour apart, one of each status (the pending one still payable)."""
    made = {}
    for name in ("succeeded", "cancelled", "refused", "expired", "pending"):
        made[name] = api.post("payments", payment_body(reference=f"order-{name}")).json()["id"]
        if name == "succeeded":
            payment_complete(payment_id=made[name], payer_email="marie@example.fr", charge=Bill())
        elif name == "cancelled":
            payment_cancel(payment_id=made[name])
        elif name == "refused":
            payment_refuse(payment_id=made[name], reason="monthly_cap_exceeded")
        if name != "pending":
            clock.advance(seconds=3600)  # past the TTL: "expired" stays pending in the table, due
    return made


@pytest.mark.parametrize("status", ["succeeded", "cancelled", "refused", "expired", "pending"])
def test_status_filter(api: Api, five, status):
    assert ids(api.get(f"payments?status={status}")) == [five[status]]


def test_a_pending_payment_past_its_time_is_listed_as_expired(api: Api, five):
    # the "expired" one was never swept: the listing expires it, and filters as if done
    assert Payment.objects.get(public_id=five["expired"]).status == "pending"
    assert ids(api.get("payments?status=pending")) == [five["pending"]]
    assert api.get("payments?status=expired").json()["data"][0]["status"] == "expired"
    assert Payment.objects.get(public_id=five["expired"]).status == "expired"


def test_reference_filter(api: Api, five):
    assert ids(api.get("payments?reference=order-refused")) == [five["refused"]]
    assert ids(api.get("payments?reference=order-none")) == []


def test_created_since_is_inclusive_and_created_before_exclusive(api: Api, five):
    created = {name: Payment.objects.get(public_id=pid).created_at for name, pid in five.items()}
    since = created["refused"].isoformat()
    before = created["pending"].isoformat()
    query = {"created_since": since, "created_before": before}
    answer = api.client.get("/api/v1/payments", query, headers={"Authorization": f"Bearer {api.key}"})
    assert ids(answer) == [five["expired"], five["refused"]]
    # a date is midnight UTC; a date-time may carry any offset
    assert ids(api.get("payments?created_since=2000-01-01")) == ids(api.get("payments"))
    assert ids(api.get("payments?created_before=2000-01-01T00:00:00Z")) == []


def test_filters_combine(api: Api, five):
    assert ids(api.get("payments?status=cancelled&reference=order-cancelled")) == [five["cancelled"]]
    assert ids(api.get("payments?status=cancelled&reference=order-refused")) == []


def test_pages_joined_by_the_cursor_neither_skip_nor_repeat(api: Api, five):
    # given a payment created while the merchant pages
    pages: list[list[str]] = []
    cursor = None
    while True:
        answer = api.get("payments?limit=2" + (f"&after={cursor}" if cursor else ""))
        pages.append(ids(answer))
        if not pages[-1] or len(pages) == 1:
            api.post("payments", payment_body(reference="order-late"))  # newer: on no page of this walk
        body = answer.json()
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
        assert cursor == pages[-1][-1]
    order = ["pending", "expired", "refused", "cancelled", "succeeded"]
    assert pages == [[five[n] for n in order[:2]], [five[n] for n in order[2:4]], [five[order[4]]]]


def test_the_cursor_keeps_the_filters(api: Api, five):
    first = api.get("payments?limit=1&created_since=2000-01-01&status=refused").json()
    assert (first["has_more"], first["next_cursor"]) == (False, None)
    page = api.get(f"payments?limit=2&after={five['refused']}").json()
    assert [p["id"] for p in page["data"]] == [five["cancelled"], five["succeeded"]]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("status=paid", "status", "status must be one of: pending, succeeded, cancelled, refused, expired."),
        ("reference=" + "x" * 65, "reference", "reference must have 1 to 64 characters."),
        ("reference=", "reference", "reference must have 1 to 64 characters."),
        (
            "created_since=yesterday",
            "created_since",
            BAD_MOMENT.format("created_since"),
        ),
        (
            "created_before=2026-11-01T00:00:00",
            "created_before",
            BAD_MOMENT.format("created_before"),
        ),
        (
            "created_since=2026-02-30",
            "created_since",
            BAD_MOMENT.format("created_since"),
        ),
        (
            "created_since=2026-11-02&created_before=2026-11-01",
            "created_before",
            "created_before must be later than created_since.",
        ),
        ("after=42", "after", "after must be the next_cursor of a previous page (a payment id)."),
        ("after=pay_unknown", "after", "after must be the next_cursor of a previous page (a payment id)."),
        ("limit=101", "limit", "limit must be a whole number from 1 to 100."),
        ("limit=³", "limit", "limit must be a whole number from 1 to 100."),
    ],
)
def test_a_bad_parameter_is_a_clear_400_that_changes_nothing(api: Api, five, query, field, message):
    # given a payment past its time, which a listing would expire
    before = list(Payment.objects.order_by("id").values_list("public_id", "status"))
    # when
    answer = api.get(f"payments?{query}")
    # then
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": {"code": "invalid_parameter", "message": message, "field": field}},
    )
    assert list(Payment.objects.order_by("id").values_list("public_id", "status")) == before
    assert ("" if query.startswith("after") else five["expired"]) in {
        p for p, s in before if s == "pending"
    } | {""}


def test_another_merchant_payment_is_not_a_cursor(api: Api, five):
    other = Api(api.client, make_merchant("Autre éditeur").api_key)
    answer = other.get(f"payments?after={five['pending']}")
    assert (answer.status_code, answer.json()["error"]["field"]) == (400, "after")
