"""The DS's AReq answered on a worker's event loop (see guichet.issuer.acs.fastpath.endpoint).

The same steps as `answering.acs_areq_answer`, with the same SQL, rows and answer: parse, look the card
up, decide, build the ARes and its rows, store them. Only the I/O differs: it goes through
`AreqDatabase`, which groups the look-ups and the writes of the AReqs a worker is answering at the
same time (one query for their cards, one statement for their rows: under load this halves the
CPU the database work costs on both sides). An ARes is still sent only once its rows are committed.
What needs Django's synchronous connection, auditing a refused AReq, and an issuer's own rules (they
may query the database through the ORM) runs in a thread through `AreqDatabase.offload`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from guichet.core import clock
from guichet.issuer.acs import answering, store
from guichet.issuer.acs.fastpath.pgpool import AsyncDatabase, Batcher
from guichet.issuer.acs.messages import AReq, Erro
from guichet.issuer.acs.rules import BUILTIN, decide, rules_load
from guichet.issuer.cards.services import pan_index

Offload = Callable[..., Awaitable[Any]]  # offload(fn, *args): fn(*args) in a thread, awaited
Row = Sequence[Any]


class AreqDatabase:
    """The AReq's two database steps, grouped across the requests of one event loop.

    PostgreSQL: through `db`, asynchronous connections, on the loop. SQLite (`db` None): the same
    groups through Django's connection in a thread (`offload`): one transaction, so one WAL sync, for
    the AReqs that arrived together.
    """

    def __init__(self, *, db: AsyncDatabase | None, offload: Offload, max_batch: int = 32) -> None:
        self.db = db
        self.offload = offload
        # Django's connection for its vendor and operations only (no I/O). Held here because on the
        # event loop `django.db.connection` is per task: each AReq would build (and drop) a new one.
        self.django = connections[DEFAULT_DB_ALIAS]
        # One run at a time: the AReqs that arrive meanwhile make the next group.
        self.lookup: Batcher[str, Row | None] = Batcher(self._lookups, max_batch=max_batch, parallel=1)
        self.store: Batcher[store.Built, None] = Batcher(self._stores, max_batch=max_batch, parallel=1)

    async def _lookups(self, indexes: list[str]) -> Sequence[Row | None]:
        """One query for the cards of several AReqs; on PostgreSQL retried once on a fresh connection,
        since a pooled one may have been cut (a database restart) and a read can be repeated."""
        if self.db is None:
            rows: list[Row | None] = await self.offload(store.card_lookup_many, indexes)
            return rows
        try:
            return await self._pg_lookups(self.db, indexes)
        except psycopg.OperationalError:
            return await self._pg_lookups(self.db, indexes)

    async def _pg_lookups(self, db: AsyncDatabase, indexes: list[str]) -> list[Row | None]:
        async with db.connection() as connection:
            sql = store.card_lookup_many_sql(self.django)
            cursor = await connection.execute(sql, [list(set(indexes))], prepare=True)
            return store.card_rows_in_order(await cursor.fetchall(), indexes)

    async def _stores(self, built: list[store.Built]) -> Sequence[BaseException | None]:
        """The rows of several AReqs in one statement; if it fails, each on its own, so that one bad
        row (a card deleted meanwhile) fails only its own AReq."""
        if self.db is None:
            results: list[BaseException | None] = await self.offload(store.areq_store_many, built)
            return results
        async with self.db.connection() as connection:
            # One statement, atomic by itself, for the whole group: one round trip.
            try:
                return await self._pg_store(connection, built)
            except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
                if len(built) == 1:
                    return [exc]
            outcomes: list[BaseException | None] = []
            for one in built:  # one row cannot be stored: each AReq on its own
                try:
                    outcomes += await self._pg_store(connection, [one])
                except psycopg.Error as exc:
                    if connection.broken:
                        raise
                    outcomes.append(exc)
            return outcomes

    @staticmethod
    async def _pg_store(
        connection: psycopg.AsyncConnection[Any], built: list[store.Built]
    ) -> list[BaseException | None]:
        sql, params = store.pg_store_statement(built, numbered=True)
        async with psycopg.AsyncRawCursor(connection) as cursor:
            await cursor.execute(sql, params, prepare=True)
        return [None] * len(built)


async def acs_areq_answer_async(*, raw: bytes, ip: str, db: AreqDatabase) -> dict[str, Any]:
    """The ARes or Erro (as JSON) for an AReq body. Never raises: a failure is an Erro 403/404."""
    acs_trans_id = answering.new_acs_trans_id()
    parsed = answering.areq_parse(raw=raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro):
        answer: dict[str, Any] = await db.offload(answering.areq_refused, parsed, ip)
        return answer
    try:
        return await _answer(parsed, acs_trans_id, ip, db)
    except Exception as exc:  # noqa: BLE001 (the DS gets an Erro, the failure goes to the log)
        erro = answering.areq_failure(parsed, acs_trans_id, exc)
    refused: dict[str, Any] = await db.offload(answering.areq_refused, erro, ip)
    return refused


async def _answer(areq: AReq, acs_trans_id: str, ip: str, db: AreqDatabase) -> dict[str, Any]:
    config = settings.GUICHET
    now = clock.now()
    pan = areq.acctNumber
    row = await db.lookup(pan_index(pan)) if answering.in_card_ranges(pan, config.acs.card_ranges) else None
    context = answering.areq_context(areq, *store.card_from_row(row, db.django), now=now)
    rules = rules_load(config.acs.rules)
    # Built-in rules only look at the AReq and the card: they run on the event loop. An issuer's
    # may query the database through the ORM: in a thread.
    if all(name in BUILTIN for name, _ in config.acs.rules):
        chosen = decide(context, rules)
    else:
        chosen = await db.offload(decide, context, rules)
    built = answering.areq_build(areq, acs_trans_id, ip, context, chosen)
    await db.store(built)
    answering.areq_broken_log(built)
    return built.wire
