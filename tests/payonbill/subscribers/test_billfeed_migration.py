"""Upgrading a database whose bills predate the billing feed: each charge, and each refund of it, gets
its line, in the order they were made, and the counter continues after them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from guichet.payonbill.subscribers.models import BillLine
from tests.payonbill.subscribers.billfeed_support import charge, in_period
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("subscribers", "0001_initial")]
AFTER = [("subscribers", "0002_billing_feed")]
UTC = dt.UTC


def test_the_charges_made_before_the_feed_get_their_lines():
    # given a database before the feed, with two charges, the second refunded in part
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    state = MigrationExecutor(connection).loader.project_state(BEFORE)
    contract_model = state.apps.get_model("subscribers", "Contract")
    charge_model = state.apps.get_model("subscribers", "BillCharge")
    now = dt.datetime(2026, 11, 20, 10, tzinfo=UTC)
    contract = contract_model.objects.create(number="C000001", created_at=now, updated_at=now)
    common = {"contract": contract, "merchant_name": "EDITEUR", "product": "PANIER", "currency": "EUR"}
    charge_model.objects.create(
        payment_public_id="pay_2",
        amount=1000,
        charged_at=now,
        period="2026-11",
        **common,
        refunded_amount=300,
        refunded_at=now + dt.timedelta(days=1),
    )
    charge_model.objects.create(
        payment_public_id="pay_1",
        amount=390,
        charged_at=now - dt.timedelta(days=1),
        period="2026-11",
        **common,
    )
    # when
    MigrationExecutor(connection).migrate(AFTER)
    # then
    assert list(BillLine.objects.values_list("seq", "kind", "payment_public_id", "amount", "period")) == [
        (1, "charge", "pay_1", 390, "2026-11"),
        (2, "charge", "pay_2", 1000, "2026-11"),
        (3, "credit", "pay_2", -300, "2026-11"),
    ]
    # and new lines follow them
    charge(make_contract(), "pay_3", 500, in_period("2026-11"))
    assert BillLine.objects.get(payment_public_id="pay_3").seq == 4
