"""Confirmations racing each other: one charge per payment, and the caps hold.

Each thread has its own database connection, as parallel requests do. On PostgreSQL the row locks
(payment, then contract) serialise what must be; on SQLite the IMMEDIATE transactions serialise
every writer. Run on PostgreSQL with GUICHET_TEST_DATABASE_URL=postgresql://...
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from guichet.delivery.models import OutboxMessage
from guichet.payonbill.checkout.services import checkout_confirm
from guichet.payonbill.merchants.models import Notification, Payment
from guichet.payonbill.subscribers.models import BillCharge
from tests.payonbill.checkout.support import mailbox, multi_bal

pytestmark = pytest.mark.django_db(transaction=True)


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in `count` threads that start together; each closes its connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[n] = work(n)
        except BaseException as exc:  # noqa: BLE001 (reported below: a thread must not hide a failure)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_fifty_parallel_confirmations_of_one_payment_charge_once(shop):
    # given a signed-in subscriber and one pending payment of 3,90 EUR
    contract = multi_bal()
    payer = mailbox("paul@lagon.example")
    created = shop.pay(amount=390)

    # when 50 confirmations of it arrive at once
    def confirm(_n: int) -> str:
        result = checkout_confirm(payment_id=created["id"], mailbox=payer, ip="198.51.100.20", language="fr")
        assert result is not None
        return result.payment.status

    statuses = in_parallel(50, confirm)

    # then every one sees the payment succeeded, and exactly one charge, one email, one event exist
    assert Counter(statuses) == {"succeeded": 50}
    assert list(BillCharge.objects.values_list("contract", "payment_public_id", "amount")) == [
        (contract.pk, created["id"], 390)
    ]
    assert OutboxMessage.objects.filter(template="checkout_summary").count() == 1
    assert (
        Notification.objects.filter(payment__public_id=created["id"], type="payment.succeeded").count() == 1
    )
    assert Payment.objects.get(public_id=created["id"]).status == "succeeded"


def test_parallel_purchases_of_one_contract_stay_within_the_monthly_cap(shop):
    # given a contract with two mailboxes and ten pending payments of 40 EUR (cap: 300 EUR a month)
    contract = multi_bal()
    payers = [mailbox("paul@lagon.example"), mailbox("lea@lagon.example")]
    payments = [shop.pay(amount=4000)["id"] for _ in range(10)]
    assert connection.vendor in ("postgresql", "sqlite")

    # when both mailboxes confirm all of them at once
    def confirm(n: int) -> tuple[str, str]:
        result = checkout_confirm(
            payment_id=payments[n], mailbox=payers[n % 2], ip="198.51.100.20", language="fr"
        )
        assert result is not None
        return result.payment.status, result.payment.refusal_reason

    outcomes = in_parallel(10, confirm)

    # then exactly 7 are charged (280 EUR), the 3 others refused for the monthly cap
    assert Counter(outcomes) == {("succeeded", ""): 7, ("refused", "monthly_cap_exceeded"): 3}
    charged = list(BillCharge.objects.filter(contract=contract).values_list("amount", flat=True))
    assert charged == [4000] * 7
    assert OutboxMessage.objects.filter(template="checkout_summary").count() == 7
    assert Payment.objects.filter(status="succeeded").count() == 7
