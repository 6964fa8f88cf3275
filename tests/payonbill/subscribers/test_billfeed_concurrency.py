"""The feed read by cursor while charges and refunds are being written in parallel: every line once,
in order, no gap. Each thread has its own database connection, as parallel requests do; run it on
PostgreSQL too (GUICHET_TEST_DATABASE_URL=postgresql://...), where commits are truly concurrent."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connections, transaction
from django.test import Client

from guichet.core import clock
from guichet.payonbill.subscribers.billfeed import bill_period_close, billing_period
from guichet.payonbill.subscribers.billing import charge_refund, contract_lock
from guichet.payonbill.subscribers.models import BillLine, BillPeriodClose
from guichet.payonbill.subscribers.operator_keys import operator_key_add
from tests.payonbill.checkout.test_checkout_concurrency import in_parallel
from tests.payonbill.subscribers.billfeed_support import charge, in_period, previous_period
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 4
EACH = 12


def test_a_reader_paging_during_parallel_writes_sees_every_line_once_in_order():
    # given contracts to charge, and the billing system's key
    contracts = [make_contract(number=f"C{n:06d}") for n in range(WRITERS)]
    key = operator_key_add(name="facturation")[1]
    done = threading.Event()
    seen: list[int] = []

    def write(n: int) -> None:
        rng = random.Random(n)
        for i in range(EACH):
            with transaction.atomic():
                contract = contract_lock(contract_id=contracts[n].pk)
                charge(contract, f"pay_{n}_{i}", 100 + i, in_period("2026-11"))
                # the rest of a checkout's transaction: a line numbered later may commit first
                # unless the numbering orders the commits
                time.sleep(rng.uniform(0, 0.01))
            if i % 3 == 2:
                charge_refund(payment_public_id=f"pay_{n}_{i}", amount=50)

    def read() -> None:
        client = Client()
        cursor = "0"
        try:
            while True:
                finished = done.is_set()  # read before the page: a last page after every write
                page = client.get(
                    "/api/operator/v1/bill-lines",
                    {"after": cursor, "limit": "3"},
                    headers={"Authorization": f"Bearer {key}"},
                ).json()
                seen.extend(line["line_id"] for line in page["data"])
                cursor = page["next_cursor"]
                if finished and not page["has_more"]:
                    return
                if not page["data"]:
                    time.sleep(0.002)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    # when the writers write while the reader pages
    in_parallel(WRITERS, write)
    done.set()
    reader.join(timeout=120)
    # then every line was read once, in order, without a gap
    written = list(BillLine.objects.order_by("seq").values_list("seq", flat=True))
    expected = WRITERS * (EACH + EACH // 3)
    assert len(written) == expected
    assert written == list(range(1, expected + 1))
    assert seen == written


def test_a_close_racing_refunds_leaves_the_closed_bill_as_it_was():
    # given charges last month, refunded while the month is being closed
    last = previous_period()
    contract = make_contract(number="C000001")
    for n in range(WRITERS * 3):
        charge(contract, f"pay_{n}", 1000, in_period(last))

    def work(n: int) -> None:
        if n == 0:
            bill_period_close(period=last)
            return
        for i in range(3):
            charge_refund(payment_public_id=f"pay_{(n - 1) * 3 + i}", amount=100)

    # when
    in_parallel(WRITERS + 1, work)
    # then every credit is on last month's bill if written before the close, else on the current one
    close = BillPeriodClose.objects.get(period=last)
    credits = list(BillLine.objects.filter(kind="credit").values_list("seq", "period"))
    assert len(credits) == WRITERS * 3
    assert all(
        period == (last if seq <= close.last_seq else billing_period(clock.now())) for seq, period in credits
    )
    assert (
        BillLine.objects.filter(period=last).order_by("-seq").values_list("seq", flat=True)[0]
        <= close.last_seq
    )
