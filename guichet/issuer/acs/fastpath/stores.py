"""The AReq's two database steps on the event loop, one interface for both databases.

`AreqStore.lookups` reads the cards of several AReqs in one query, `AreqStore.devices` their 3DS
Method devices; `AreqStore.stores` writes their rows in one transaction. PostgreSQL (`PgStore`):
asynchronous connections on the loop. SQLite (`ThreadStore`): Django's connection in a thread
(SQLite's connections are per thread), one transaction, so one WAL sync, for the AReqs that arrived
together. `areq_store_for` chooses by the
database Django is configured with; nothing else asks which one it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from guichet.issuer.acs import device_store, store
from guichet.issuer.acs.device_store import DeviceQuery, DeviceSeen
from guichet.issuer.acs.fastpath.pgpool import AsyncDatabase

Offload = Callable[..., Awaitable[Any]]  # offload(fn, *args): fn(*args) in a thread, awaited
Row = Sequence[Any]


class AreqStore(Protocol):
    async def lookups(self, indexes: list[str]) -> Sequence[Row | None]:
        """The card row (or None) of each PAN index, in order."""
        ...

    async def stores(self, built: list[store.Built]) -> Sequence[BaseException | None]:
        """Store each AReq's rows; per AReq None when stored, else its error."""
        ...

    async def devices(self, queries: list[DeviceQuery]) -> Sequence[DeviceSeen | None]:
        """The 3DS Method's device of each AReq (`device_store.device_lookup`), in order (None: none)."""
        ...

    async def close(self) -> None: ...


class ThreadStore:
    """Through Django's connection, in one of the threads that run Django."""

    def __init__(self, *, offload: Offload) -> None:
        self.offload = offload

    async def lookups(self, indexes: list[str]) -> Sequence[Row | None]:
        rows: list[Row | None] = await self.offload(store.card_lookup_many, indexes)
        return rows

    async def stores(self, built: list[store.Built]) -> Sequence[BaseException | None]:
        results: list[BaseException | None] = await self.offload(store.areq_store_many, built)
        return results

    async def devices(self, queries: list[DeviceQuery]) -> Sequence[DeviceSeen | None]:
        seen: list[DeviceSeen | None] = await self.offload(device_store.device_lookup_many, queries)
        return seen

    async def close(self) -> None:
        return None  # the threads' connections are Django's: the server closes them


class PgStore:
    """Through a pool of asynchronous connections, on the event loop."""

    def __init__(self, *, size: int, django: BaseDatabaseWrapper) -> None:
        self.pool = AsyncDatabase(size=size)
        self.django = django

    async def lookups(self, indexes: list[str]) -> Sequence[Row | None]:
        # Retried once on a fresh connection: a pooled one may have been cut (a database restart),
        # and a read can be repeated.
        try:
            return await self._lookups(indexes)
        except psycopg.OperationalError:
            return await self._lookups(indexes)

    async def _lookups(self, indexes: list[str]) -> list[Row | None]:
        async with self.pool.connection() as connection:
            sql = store.card_lookup_many_sql(self.django)
            cursor = await connection.execute(sql, [list(set(indexes))], prepare=True)
            return store.card_rows_in_order(await cursor.fetchall(), indexes)

    async def stores(self, built: list[store.Built]) -> Sequence[BaseException | None]:
        """The rows of several AReqs in one statement; if it fails, each on its own, so that one bad
        row (a card deleted meanwhile) fails only its own AReq."""
        async with self.pool.connection() as connection:
            # One statement, atomic by itself, for the whole group: one round trip.
            try:
                return await self._store(connection, built)
            except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
                if len(built) == 1:
                    return [exc]
            outcomes: list[BaseException | None] = []
            for one in built:  # one row cannot be stored: each AReq on its own
                try:
                    outcomes += await self._store(connection, [one])
                except psycopg.Error as exc:
                    if connection.broken:
                        raise
                    outcomes.append(exc)
            return outcomes

    async def devices(self, queries: list[DeviceQuery]) -> Sequence[DeviceSeen | None]:
        # Retried once on a fresh connection like the card look-up: a read can be repeated.
        sql, params = (
            device_store.device_lookup_many_sql(),
            device_store.device_lookup_many_params(queries),
        )
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as connection:
                    cursor = await connection.execute(sql, params, prepare=True)
                    return device_store.devices_in_order(await cursor.fetchall(), queries)
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _store(
        connection: psycopg.AsyncConnection[Any], built: list[store.Built]
    ) -> list[BaseException | None]:
        sql, params = store.pg_store_statement(built, numbered=True)
        async with psycopg.AsyncRawCursor(connection) as cursor:
            await cursor.execute(sql, params, prepare=True)
        return [None] * len(built)

    async def close(self) -> None:
        await self.pool.close()


def areq_store_for(*, size: int, offload: Offload) -> AreqStore:
    """The store for the configured database: `size` connections on PostgreSQL."""
    django = connections[DEFAULT_DB_ALIAS]
    if django.vendor == "postgresql":
        return PgStore(size=size, django=django)
    return ThreadStore(offload=offload)
