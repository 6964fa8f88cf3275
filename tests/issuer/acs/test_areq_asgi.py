"""guichet.server.app answers POST /3ds/areq on the event loop: same answer, headers and rows as Django.

Runs the ASGI application in-process (its lifespan too: it opens the PostgreSQL pool) on each
database; committed data (transactional_db), since its connections are not the test's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import psycopg
import pytest
from a2wsgi import WSGIMiddleware
from django.db import OperationalError, connection
from django.db.utils import ConnectionHandler

from guichet.audit.models import AuditEvent
from guichet.issuer.acs import answering
from guichet.issuer.acs import store as acs_store
from guichet.issuer.acs.fastpath.stores import PgStore
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.rules import Decision
from guichet.issuer.cards.models import Card
from guichet.issuer.cards.services import pan_index
from guichet.server import app as asgi
from tests.issuer.acs.support import ACS_TRANS_ID, VISA_PAN, areq_220, enrolled_holder

pytestmark = pytest.mark.django_db(transaction=True)

Exchange = tuple[int, dict[str, str], bytes]
T = TypeVar("T")


class Harness:
    """An `asgi.Application` started through its lifespan; `request()` plays one HTTP exchange."""

    def __init__(self) -> None:
        # The loop runs in a thread of its own: the browser tests leave one in the main thread.
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app = asgi.Application(threads=2)
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.lifespan = asyncio.run_coroutine_threadsafe(self._lifespan(), self.loop)
        self.run(self._startup())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    async def _lifespan(self) -> None:
        async def receive() -> dict[str, Any]:
            return await self.to_app.get()

        async def send(message: Any) -> None:
            pass

        await self.app({"type": "lifespan"}, receive, send)

    async def _startup(self) -> None:
        await self.to_app.put({"type": "lifespan.startup"})
        await asyncio.sleep(0.05)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.to_app.put_nowait, {"type": "lifespan.shutdown"})
        self.lifespan.result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def together(self, bodies: list[bytes]) -> list[Exchange]:
        """POST /3ds/areq for each body, all at once (as a DS's connections do)."""

        async def every() -> list[Exchange]:
            return list(
                await asyncio.gather(*(self._exchange("POST", "/3ds/areq", body, {}, 0) for body in bodies))
            )

        return self.run(every())

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
        chunk: int = 0,
    ) -> Exchange:
        return self.run(self._exchange(method, path, body, headers or {}, chunk))

    async def _exchange(
        self, method: str, path: str, body: bytes, headers: dict[str, str], chunk: int
    ) -> Exchange:
        sent = {"host": "testserver", "content-type": "application/json", "content-length": str(len(body))}
        sent |= headers
        path, _, query = path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": [(k.encode(), v.encode()) for k, v in sent.items()],
            "client": ("192.0.2.7", 50000), "server": ("testserver", 80),
        }  # fmt: skip
        pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk and body else [body]
        incoming = [
            {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
            for i, piece in enumerate(pieces)
        ]
        out: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            out.append(message)

        await self.app(scope, receive, send)
        start = out[0]
        assert start["type"] == "http.response.start"
        content = b"".join(m.get("body", b"") for m in out[1:])
        return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content


@pytest.fixture
def harness() -> Iterator[Harness]:
    running = Harness()
    yield running
    running.close()


@pytest.fixture
def fixed_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answering, "new_acs_trans_id", lambda: ACS_TRANS_ID)


@pytest.fixture
def no_django(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fails the test if a request reaches the Django WSGI application."""
    reached: list[Any] = []

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    monkeypatch.setattr(WSGIMiddleware, "__call__", lambda self, *a: refuse(*a))
    return reached


def _stored() -> tuple[int, int, int]:
    return (
        AcsTransaction.objects.count(),
        AcsMessage.objects.count(),
        AuditEvent.objects.filter(event__startswith="acs:areq").count(),
    )


def test_the_areq_is_answered_on_the_event_loop_as_the_full_stack_answers_it(client, harness, fixed_id):
    enrolled_holder(VISA_PAN)
    body = json.dumps(areq_220(acctNumber=VISA_PAN)).encode()
    full = client.post("/3ds/areq", data=body, content_type="application/json")
    full_rows = list(AcsMessage.objects.order_by("kind").values_list("kind", "direction", "body"))
    full_tx = AcsTransaction.objects.values().get()
    AcsTransaction.objects.all().delete()
    AuditEvent.objects.all().delete()

    status, headers, content = harness.request("POST", "/3ds/areq", body)

    assert status == 200
    assert content == full.content  # byte for byte: same JSON encoder
    assert json.loads(content)["transStatus"] == "C"
    assert headers == {k.lower(): v for k, v in full.headers.items()}
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert headers["content-language"] == "fr"
    tx = AcsTransaction.objects.values().get()
    changing = {"created_at", "ares_sent_at", "updated_at", "purchase_date"}
    assert {k: v for k, v in tx.items() if k not in changing} == {
        k: v for k, v in full_tx.items() if k not in changing
    }
    assert str(tx["acs_trans_id"]) == ACS_TRANS_ID
    rows = list(AcsMessage.objects.order_by("kind").values_list("kind", "direction", "body"))
    assert rows == full_rows
    assert len(rows) == 2
    assert "4970100000000006" not in json.dumps([r[2] for r in rows])  # the PAN is masked
    audit = AuditEvent.objects.get(event="acs:areq:answered")
    assert (audit.subject, audit.ip, audit.outcome) == (ACS_TRANS_ID, "192.0.2.7", "info")


def test_the_body_may_arrive_in_pieces(harness, no_django):
    enrolled_holder(VISA_PAN)
    status, _, content = harness.request(
        "POST", "/3ds/areq", json.dumps(areq_220(acctNumber=VISA_PAN)).encode(), chunk=100
    )
    assert status == 200
    assert json.loads(content)["transStatus"] == "C"
    assert no_django == []
    assert _stored() == (1, 2, 1)


def test_an_unknown_card_is_answered_u_08_and_recorded(harness, no_django):
    status, _, content = harness.request(
        "POST", "/3ds/areq", json.dumps(areq_220(acctNumber=VISA_PAN)).encode()
    )
    answer = json.loads(content)
    assert (status, answer["transStatus"], answer["transStatusReason"]) == (200, "U", "08")
    assert _stored() == (1, 2, 1)
    assert AcsTransaction.objects.get().card_id is None


def test_a_malformed_areq_gets_an_erro_audited_and_nothing_else_stored(harness, no_django):
    duplicated = json.dumps(areq_220(acctNumber=VISA_PAN))[:-1] + ', "messageType": "AReq"}'
    status, _, content = harness.request("POST", "/3ds/areq", duplicated.encode())
    answer = json.loads(content)
    assert (status, answer["messageType"], answer["errorCode"]) == (200, "Erro", "204")
    assert (AcsTransaction.objects.count(), AcsMessage.objects.count()) == (0, 0)
    refused = AuditEvent.objects.get(event="acs:areq:refused")
    assert (refused.ip, refused.detail["error_code"]) == ("192.0.2.7", "204")


def test_an_areq_naming_an_unlisted_ds_gets_erro_203_on_the_event_loop_too(harness, no_django):
    body = json.dumps(areq_220(acctNumber=VISA_PAN, dsURL="http://127.0.0.1:5432/")).encode()
    status, _, content = harness.request("POST", "/3ds/areq", body)
    answer = json.loads(content)
    assert (status, answer["errorCode"], answer["errorDetail"]) == (200, "203", "dsURL")
    assert (AcsTransaction.objects.count(), AcsMessage.objects.count()) == (0, 0)
    assert AuditEvent.objects.get(event="acs:areq:refused").detail["error_code"] == "203"


def test_an_oversized_body_is_refused_101_without_being_read_whole_and_the_connection_closed(
    harness, no_django
):
    status, headers, content = harness.request("POST", "/3ds/areq", b"{" + b" " * 300_000 + b"}", chunk=65536)
    assert (status, json.loads(content)["errorCode"]) == (200, "101")
    assert headers["connection"] == "close"
    assert AcsTransaction.objects.count() == 0


def test_a_database_failure_is_an_erro_403_and_no_5xx(harness, no_django, monkeypatch, caplog):
    enrolled_holder(VISA_PAN)

    # The driver's error on the event loop (PostgreSQL), Django's in a thread (SQLite).
    error = psycopg.OperationalError if connection.vendor == "postgresql" else OperationalError

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(
        acs_store, "pg_store_statement" if connection.vendor == "postgresql" else "areq_store", broken
    )
    with caplog.at_level(logging.ERROR):
        status, _, content = harness.request(
            "POST", "/3ds/areq", json.dumps(areq_220(acctNumber=VISA_PAN)).encode()
        )
    answer = json.loads(content)
    assert (status, answer["errorCode"], answer["errorDetail"]) == (
        200,
        "403",
        "ACS database unavailable",
    )
    assert AcsTransaction.objects.count() == 0
    assert AuditEvent.objects.get(event="acs:areq:refused").detail["error_code"] == "403"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "ACS: database failure while answering an AReq"
    ]


def test_an_issuers_rule_runs_in_a_thread_and_may_use_the_orm(harness, no_django, monkeypatch, settings):
    enrolled_holder(VISA_PAN)
    seen: list[int] = []
    threads: list[threading.Thread] = []

    class CountingRule:
        name = "tests.counting"

        def decide(self, context: Any) -> Decision | None:
            threads.append(threading.current_thread())
            seen.append(AcsTransaction.objects.count())  # the ORM: refused on an event loop
            return Decision("Y")

    for module in ("guichet.issuer.acs.fastpath.areq", "guichet.issuer.acs.answering"):
        monkeypatch.setattr(f"{module}.rules_load", lambda configured: (CountingRule(),))
    acs = dataclasses.replace(settings.GUICHET.acs, rules=(("tests.counting", ()),))  # not built in
    settings.GUICHET = dataclasses.replace(settings.GUICHET, acs=acs)
    status, _, content = harness.request(
        "POST", "/3ds/areq", json.dumps(areq_220(acctNumber=VISA_PAN)).encode()
    )
    answer = json.loads(content)
    assert (status, answer["transStatus"], len(answer["authenticationValue"])) == (200, "Y", 28)
    assert seen == [0]
    assert threads != [harness.thread]  # (the tests allow the ORM anywhere: check the thread itself)
    assert AcsTransaction.objects.get().decided_by == "tests.counting"


def test_a_host_outside_allowed_hosts_goes_to_django_which_refuses_it(harness, settings):
    enrolled_holder(VISA_PAN)
    settings.ALLOWED_HOSTS = ["acs.bank.example"]
    status, _, _ = harness.request(
        "POST",
        "/3ds/areq",
        json.dumps(areq_220(acctNumber=VISA_PAN)).encode(),
        headers={"host": "evil.example"},
    )
    assert status == 400
    assert _stored() == (0, 0, 0)


def test_a_request_with_a_cookie_goes_through_django_with_the_same_answer(harness, fixed_id, monkeypatch):
    enrolled_holder(VISA_PAN)
    status, headers, content = harness.request(
        "POST",
        "/3ds/areq",
        json.dumps(areq_220(acctNumber=VISA_PAN)).encode(),
        headers={"cookie": "django_language=en"},
    )
    assert (status, json.loads(content).get("transStatus"), headers["content-language"]) == (
        200,
        "C",
        "en",
    ), content
    assert _stored() == (1, 2, 1)


def test_other_methods_and_paths_are_served_by_django(harness):
    assert harness.request("GET", "/3ds/areq")[0] == 405
    status, headers, content = harness.request("GET", "/healthz")
    assert (status, json.loads(content)) == (200, {"status": "ok", "database": "ok"})
    assert "content-security-policy" in headers


def test_every_request_gets_one_access_log_line_without_its_query_string(harness, caplog):
    with caplog.at_level(logging.INFO, logger="guichet.access"):
        harness.request("GET", "/healthz?secret=1")
        harness.request("POST", "/3ds/areq", b"not json")
    lines = [r.getMessage() for r in caplog.records if r.name == "guichet.access"]
    assert len(lines) == 2
    assert lines[0].startswith('192.0.2.7 "GET /healthz" 200 ')
    assert lines[1].startswith('192.0.2.7 "POST /3ds/areq" 200 ')
    assert all(line.endswith("ms") and "secret" not in line for line in lines)


def test_areqs_that_arrive_together_share_their_database_round_trips(harness, no_django, monkeypatch):
    pans = [enrolled_holder()[1] for _ in range(12)]
    batches: list[int] = []
    lookup = harness.app.areq.db.lookup
    original = lookup._run

    async def counting(indexes: list[str]) -> Any:
        batches.append(len(indexes))
        return await original(indexes)

    monkeypatch.setattr(lookup, "_run", counting)
    stores: list[int] = []
    statements: list[int] = []
    store = harness.app.areq.db.store
    original_store, original_statement = store._run, acs_store.pg_store_statement

    async def counting_stores(built: list[acs_store.Built]) -> Any:
        stores.append(len(built))
        return await original_store(built)

    def counting_statements(built: list[acs_store.Built], **kwargs: Any) -> Any:
        statements.append(len(built))
        return original_statement(built, **kwargs)

    monkeypatch.setattr(store, "_run", counting_stores)
    monkeypatch.setattr(acs_store, "pg_store_statement", counting_statements)
    answers = harness.together(
        [json.dumps(areq_220(acctNumber=pan, dsTransID=str(uuid.uuid4()))).encode() for pan in pans]
    )

    assert [(status, json.loads(content)["transStatus"]) for status, _, content in answers] == [
        (200, "C")
    ] * 12
    assert sum(batches) == 12
    assert len(batches) < 12  # grouped: the first alone, the others together
    assert sum(stores) == 12
    assert len(stores) < 12
    if connection.vendor == "postgresql":
        assert statements == stores  # each group's rows in one statement
    assert _stored() == (12, 24, 12)
    assert set(AcsTransaction.objects.values_list("card__pan_index", flat=True)) == {
        pan_index(p) for p in pans
    }


def test_a_row_that_fails_in_a_group_fails_only_its_own_areq(harness, no_django, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a column's length: the row cannot be made to fail this way")
    pans = [enrolled_holder()[1] for _ in range(6)]
    bad_card = Card.objects.get(pan_index=pan_index(pans[3])).pk
    original = acs_store.pg_store_statement

    def one_too_long(built: list[acs_store.Built], **kwargs: Any) -> Any:
        for one in built:
            if one.record["card_id"] == bad_card:
                one.record["ds_reference_number"] = "X" * 300  # longer than the column: cannot be stored
        return original(built, **kwargs)

    monkeypatch.setattr(acs_store, "pg_store_statement", one_too_long)
    answers = harness.together(
        [json.dumps(areq_220(acctNumber=pan, dsTransID=str(uuid.uuid4()))).encode() for pan in pans]
    )

    kinds = [
        json.loads(content).get("transStatus") or json.loads(content)["errorCode"]
        for _, _, content in answers
    ]
    assert kinds == ["C", "C", "C", "403", "C", "C"]
    assert _stored() == (5, 10, 6)
    assert AuditEvent.objects.filter(event="acs:areq:answered").count() == 5
    assert AuditEvent.objects.filter(event="acs:areq:refused").count() == 1


def test_the_event_loop_never_builds_a_django_connection_per_areq(harness, no_django, monkeypatch):
    # On an event loop `django.db.connection` is per task: touching it would build a connection
    # object for every AReq (and leave reference cycles for the collector: pauses under load).
    pans = [enrolled_holder()[1] for _ in range(3)]
    harness.together([json.dumps(areq_220(acctNumber=pan)).encode() for pan in pans])
    built_on_loop: list[str] = []
    original = ConnectionHandler.create_connection

    def counting(self: ConnectionHandler, alias: str) -> Any:
        if threading.current_thread() is harness.thread:
            built_on_loop.append(alias)
        return original(self, alias)

    monkeypatch.setattr(ConnectionHandler, "create_connection", counting)
    answers = harness.together(
        [
            json.dumps(areq_220(acctNumber=pans[i % 3], dsTransID=str(uuid.uuid4()))).encode()
            for i in range(20)
        ]
    )

    assert [json.loads(content)["transStatus"] for _, _, content in answers] == ["C"] * 20
    assert built_on_loop == []
    assert _stored() == (23, 46, 23)


def test_the_pool_keeps_one_plan_for_the_card_look_up(harness):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    pan = enrolled_holder()[1]
    harness.together([json.dumps(areq_220(acctNumber=pan)).encode()])

    async def plans() -> list[Any]:
        backend = harness.app.areq_db.backend
        assert isinstance(backend, PgStore)
        async with backend.pool.connection() as pooled:
            cursor = await pooled.execute(
                "SELECT current_setting('plan_cache_mode'), generic_plans FROM pg_prepared_statements"
                " WHERE statement LIKE %s",
                ["%= ANY(%"],
            )
            return await cursor.fetchall()

    # the look-up was prepared on this pooled connection and runs on its generic plan
    assert harness.run(plans()) == [("force_generic_plan", 1)]
