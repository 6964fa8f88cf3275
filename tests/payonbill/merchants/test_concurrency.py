"""Many requests at once on one payment, each thread with its own database connection.

Meaningful on PostgreSQL (row locks, a unique constraint racing); on SQLite the IMMEDIATE
transactions serialise writers and the same assertions hold. Run on PostgreSQL with
GUICHET_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<name>.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from django.db import connections
from django.test import Client

from guichet.payonbill.merchants.models import IdempotencyRecord, Notification, Payment, Refund
from guichet.payonbill.merchants.payments import payment_complete
from tests.payonbill.merchants.conftest import Api, make_merchant, payment_body

pytestmark = pytest.mark.django_db(transaction=True)

N = 50
R = TypeVar("R")


def all_at_once(count: int, work: Callable[[], R]) -> list[R]:
    """Run `work` in `count` threads released together; each closes its connection when done."""
    barrier = threading.Barrier(count)

    def one() -> R:
        try:
            barrier.wait(timeout=30)
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one) for _ in range(count)]
        return [f.result(timeout=120) for f in futures]


def test_parallel_creates_with_one_idempotency_key_make_one_payment() -> None:
    key = make_merchant().api_key

    def create() -> tuple[int, Any]:
        response = Api(Client(), key).post("payments", payment_body(), idempotency_key="same-order")
        return response.status_code, response.json()

    # when
    answers = all_at_once(N, create)
    # then
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    payment = Payment.objects.get()
    assert {status for status, _ in answers} == {201}
    assert {body["id"] for _, body in answers} == {payment.public_id}


def test_parallel_completions_charge_once() -> None:
    key = make_merchant().api_key
    payment_id = Api(Client(), key).post("payments", payment_body()).json()["id"]
    charges: list[str] = []
    lock = threading.Lock()

    def charge(payment: Payment) -> None:
        with lock:
            charges.append(payment.public_id)

    def complete() -> str:
        return payment_complete(payment_id=payment_id, payer_email="marie@example.fr", charge=charge).status

    # when
    statuses = all_at_once(N, complete)
    # then
    assert charges == [payment_id]
    assert statuses == ["succeeded"] * N
    assert list(Notification.objects.values_list("type", flat=True)) == ["payment.succeeded"]


def test_parallel_refunds_never_exceed_the_amount_paid() -> None:
    key = make_merchant().api_key
    payment_id = Api(Client(), key).post("payments", payment_body(amount=1000)).json()["id"]
    payment_complete(payment_id=payment_id, payer_email="marie@example.fr", charge=lambda p: None)

    def refund() -> int:
        return int(Api(Client(), key).post(f"payments/{payment_id}/refunds", {"amount": 300}).status_code)

    # when: 20 refunds of 3.00 on a 10.00 payment
    statuses = all_at_once(20, refund)
    # then: three fit, the others are refused
    assert sorted(statuses) == [201] * 3 + [422] * 17
    assert Payment.objects.get().amount_refunded == 900
    assert Refund.objects.count() == 3
