"""The 3DS Method's device joined to the AReq on the event loop, on SQLite and PostgreSQL alike:
the same answer as Django's path, one look-up, and no ORM on the loop."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.utils import ConnectionHandler

from guichet.issuer.acs import device_store as acs_store
from guichet.issuer.acs.device_store import DeviceQuery
from guichet.issuer.acs.models import AcsTransaction, DeviceObservation
from tests.issuer.acs.support import VISA_PAN, enrolled_holder
from tests.issuer.acs.test_areq_asgi import Harness
from tests.issuer.acs.test_method import RULE, acs_config, challenge_passed, payment, run_method

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["acs_config"]  # the fixture, used by name


@pytest.fixture
def harness() -> Iterator[Harness]:
    running = Harness()
    yield running
    running.close()


def post(harness: Harness, areq: dict[str, Any]) -> dict[str, Any]:
    status, _, content = harness.request("POST", "/3ds/areq", json.dumps(areq).encode())
    assert status == 200
    answer: dict[str, Any] = json.loads(content)
    return answer


def test_a_recognised_device_is_frictionless_on_the_event_loop(client, harness, acs_config, monkeypatch):
    enrolled_holder(VISA_PAN)
    acs_config(rules=RULE)
    first = str(uuid.uuid4())
    device = run_method(client, first)
    answer = post(harness, payment(first))
    assert answer["transStatus"] == "C"
    assert AcsTransaction.objects.get().device_hash == device
    challenge_passed(answer["acsTransID"])
    second = str(uuid.uuid4())
    run_method(client, second)
    looked_up: list[str] = []
    backend = harness.app.areq_db.backend
    original = backend.devices

    async def counting(queries: list[DeviceQuery]) -> Any:
        looked_up.extend(str(query.key) for query in queries)
        return await original(queries)

    monkeypatch.setattr(harness.app.areq_db.device, "_run", counting)  # what the Batcher calls
    built_on_loop: list[str] = []
    create = ConnectionHandler.create_connection

    def watching(self: ConnectionHandler, alias: str) -> Any:
        if threading.current_thread() is harness.thread:
            built_on_loop.append(alias)
        return create(self, alias)

    monkeypatch.setattr(ConnectionHandler, "create_connection", watching)

    answer = post(harness, payment(second))

    assert (answer["transStatus"], answer["eci"]) == ("Y", "05")
    assert looked_up == [second]  # one look-up, for this AReq's Method
    assert built_on_loop == []  # no Django connection (no ORM) on the loop
    tx = AcsTransaction.objects.get(acs_trans_id=answer["acsTransID"])
    assert (tx.decided_by, tx.device_hash) == ("recognised_device", device)


@pytest.mark.parametrize("comp_ind", ["N", "U"])
def test_comp_ind_n_or_u_asks_for_no_device(client, harness, acs_config, monkeypatch, comp_ind):
    enrolled_holder(VISA_PAN)
    trans_id = str(uuid.uuid4())
    run_method(client, trans_id)
    monkeypatch.setattr(harness.app.areq_db.device, "_run", None)  # would fail if called
    answer = post(harness, payment(trans_id, comp_ind))
    assert (answer["messageType"], answer["transStatus"]) == ("ARes", "C")
    assert AcsTransaction.objects.get().device_hash == ""


def test_comp_ind_y_with_nothing_stored_is_no_device(harness, acs_config):
    enrolled_holder(VISA_PAN)
    acs_config(rules=RULE)
    answer = post(harness, payment(str(uuid.uuid4())))
    assert (answer["messageType"], answer["transStatus"]) == ("ARes", "C")
    assert DeviceObservation.objects.count() == 0


def test_the_look_up_is_the_same_sql_through_django(client):
    enrolled_holder(VISA_PAN)
    trans_id = str(uuid.uuid4())
    device = run_method(client, trans_id)
    card_id = AcsTransaction._meta.get_field("card").related_model.objects.get().pk  # type: ignore[union-attr]
    since = DeviceObservation.objects.get().created_at
    seen = acs_store.device_lookup(key=uuid.UUID(trans_id), card_id=card_id, since=since)
    assert seen == acs_store.DeviceSeen(hash=device, recognised=False)
    assert acs_store.device_lookup(key=uuid.uuid4(), card_id=card_id, since=since) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the grouped statement is PostgreSQL's")
def test_the_grouped_look_up_answers_each_areq_as_its_own_would(client):
    enrolled_holder(VISA_PAN)
    trans_id = str(uuid.uuid4())
    device = run_method(client, trans_id)
    card_id = AcsTransaction._meta.get_field("card").related_model.objects.get().pk  # type: ignore[union-attr]
    since = DeviceObservation.objects.get().created_at
    queries = [
        DeviceQuery(key=uuid.UUID(trans_id), card_id=card_id, since=since),
        DeviceQuery(key=uuid.uuid4(), card_id=card_id, since=since),  # no such Method
        DeviceQuery(key=uuid.UUID(trans_id), card_id=card_id + 1, since=since),  # same Method, other card
        DeviceQuery(
            key=uuid.UUID(trans_id), card_id=card_id, since=since + dt.timedelta(seconds=1)
        ),  # too old
    ]
    with connection.cursor() as cursor:
        cursor.execute(acs_store.device_lookup_many_sql(), acs_store.device_lookup_many_params(queries))
        grouped = acs_store.devices_in_order(cursor.fetchall(), queries)
    alone = [acs_store.device_lookup(key=q.key, card_id=q.card_id, since=q.since) for q in queries]

    assert grouped == alone
    assert grouped[0] == acs_store.DeviceSeen(hash=device, recognised=False)
    assert grouped[1] is None
