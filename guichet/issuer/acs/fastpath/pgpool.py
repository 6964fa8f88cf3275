"""PostgreSQL connections for the code that runs on a worker's event loop (the DS's AReq).

Django's connections belong to threads; a request served on the event loop would have to hop to a
thread for each query. This is psycopg_pool's asynchronous pool of connections opened with the
parameters Django computes from DATABASES (same server, same adapters, same time zone), in autocommit:
each statement is its own transaction. Statements are prepared on the server at first use (Django's
own connections use client-side binding, planned at every execution).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from django.db import connections
from psycopg_pool import AsyncConnectionPool

ACQUIRE_TIMEOUT_S = 5.0  # waiting longer for a connection means the database is down or swamped
# A connection is replaced after this long (psycopg_pool spreads the ends by ±5 %), so that memory a
# server backend holds on to, and a change of server behind a name, do not last for ever.
MAX_LIFETIME_S = 3600.0
MAX_IDLE_S = 600.0  # an unused connection is closed after this long


def _params(alias: str) -> dict[str, Any]:
    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)  # Django's is a synchronous, client-side binding cursor
    params.update(autocommit=True, prepare_threshold=0)  # prepare every statement at its first run
    # One plan per prepared statement. PostgreSQL's default re-plans the card look-up at every run
    # (its `= ANY($1)` makes the generic plan look dearer than custom ones), and planning it costs
    # the backend twice what running it does (220 against 73 µs of CPU per look-up, measured).
    params["options"] = f"{params.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
    return params


class AsyncDatabase:
    """At most `size` asynchronous connections to the `alias` database (psycopg_pool), opened when
    first needed: a database down at start-up is only an error for the requests that need it meanwhile.

    The pool gives back a connection only when it is idle and healthy; a broken one (database
    restarted, statement failed mid-transfer) is closed and replaced. No check before each use (the
    pool's `check`): it would cost a round trip per AReq, and the AReq retries its read once instead.
    One per event loop (a worker has one).
    """

    def __init__(self, *, size: int, alias: str = "default") -> None:
        self.size = size
        time_zone = connections[alias].timezone_name
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            kwargs=_params(alias),
            min_size=0,
            max_size=size,
            open=False,
            configure=_time_zone_setter(time_zone),
            timeout=ACQUIRE_TIMEOUT_S,
            max_lifetime=MAX_LIFETIME_S,
            max_idle=MAX_IDLE_S,
            name="guichet-areq",
        )
        self._opened = False

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for a few statements (autocommit: each is its own transaction)."""
        if not self._opened:
            # On the event loop that uses it (the pool's workers are tasks of that loop).
            await self._pool.open()
            self._opened = True
        async with self._pool.connection() as connection:
            yield connection


def _time_zone_setter(time_zone: str | None) -> Any:
    async def configure(connection: psycopg.AsyncConnection[Any]) -> None:
        # As Django does for its own connections: datetimes are read in its time zone (UTC).
        if time_zone and connection.info.parameter_status("TimeZone") != time_zone:
            await connection.execute("SELECT set_config('TimeZone', %s, false)", [time_zone])

    return configure
