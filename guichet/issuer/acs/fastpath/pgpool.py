"""PostgreSQL connections for the code that runs on a worker's event loop (the DS's AReq).

Django's connections belong to threads; a request served on the event loop would have to hop to a
thread for each query. This is a small pool of psycopg asynchronous connections opened with the
parameters Django computes from DATABASES (same server, same adapters, same time zone), in autocommit:
each statement is its own transaction. Statements are prepared on the server at first use (Django's
own connections use client-side binding, planned at every execution).

`Batcher` groups the calls that arrive while one is being served, so that concurrent requests share
one round trip and one commit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import psycopg
from django.db import connections
from psycopg.pq import TransactionStatus

T = TypeVar("T")
R = TypeVar("R")

ACQUIRE_TIMEOUT_S = 5.0  # waiting longer for a connection means the database is down or swamped


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
    """At most `size` asynchronous connections to the `alias` database, opened when first needed
    (so a database down at start-up is only an error for the requests that need it meanwhile).

    A connection comes back to the pool only when it is idle and healthy; a broken one (database
    restarted, statement failed mid-transfer) is closed and a new one is opened for the next user.
    Not thread-safe: one per event loop (a worker has one). The pool is deliberately small and plain:
    psycopg_pool's checks cost as much as the AReq's own Python work.
    """

    def __init__(self, *, size: int, alias: str = "default") -> None:
        self.size = size
        self._params = _params(alias)
        self._time_zone = connections[alias].timezone_name
        self._idle: deque[psycopg.AsyncConnection[Any]] = deque()
        self._waiters: deque[asyncio.Future[psycopg.AsyncConnection[Any] | None]] = deque()
        self._count = 0  # open or opening connections
        self._closed = False

    async def _open_one(self) -> psycopg.AsyncConnection[Any]:
        connection = await psycopg.AsyncConnection.connect(**self._params)
        # As Django does for its own connections: datetimes are read in its time zone (UTC).
        if self._time_zone and connection.info.parameter_status("TimeZone") != self._time_zone:
            await connection.execute("SELECT set_config('TimeZone', %s, false)", [self._time_zone])
        return connection

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.popleft().close()
        while self._hand(None):
            pass

    async def _acquire(self) -> psycopg.AsyncConnection[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACQUIRE_TIMEOUT_S
        while True:
            if self._closed:
                raise psycopg.OperationalError("the connection pool is closed")
            if self._idle:  # only when nobody waits: a released connection goes to a waiter first
                return self._idle.popleft()
            if self._count < self.size:
                self._count += 1
                try:
                    return await self._open_one()
                except BaseException:
                    self._count -= 1
                    self._hand(None)
                    raise
            # First come, first served: a late request must not take the connection a waiter was
            # woken for (that starved some requests for seconds under load).
            waiter: asyncio.Future[psycopg.AsyncConnection[Any] | None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                handed = await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise psycopg.OperationalError("no database connection available in time") from None
            if handed is not None:
                return handed
            # None: a connection was closed, so there is room to open one; try again.

    def _hand(self, connection: psycopg.AsyncConnection[Any] | None) -> bool:
        """Give `connection` (None: room for a new one) to the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def _release(self, connection: psycopg.AsyncConnection[Any]) -> None:
        idle = connection.info.transaction_status == TransactionStatus.IDLE
        if self._closed or connection.closed or connection.broken or not idle:
            self._count -= 1
            await connection.close()
            self._hand(None)
        elif not self._hand(connection):
            self._idle.append(connection)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for a few statements (autocommit: each is its own transaction)."""
        connection = await self._acquire()
        try:
            yield connection
        finally:
            await self._release(connection)


class Batcher(Generic[T, R]):
    """Groups the calls that arrive while earlier ones are being served into one call of `run`.

    `await batcher(item)` returns `item`'s result from `run(items) -> results` (one per item, in
    order; an exception in the list fails only that item, an exception raised fails them all). The
    first call runs at once, alone; while `parallel` runs are in flight, the calls that arrive wait
    and go together in the next run (at most `max_batch`). Under load one database round trip and one
    commit then serve many requests, and nothing waits for a batch to fill.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_batch: int = 32,
        parallel: int = 2,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._parallel = parallel
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._running: set[asyncio.Task[None]] = set()  # referenced, or the loop may drop them

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if len(self._running) < self._parallel:
            self._running.add(asyncio.get_running_loop().create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
                try:
                    results: Sequence[R | BaseException] = await self._run([item for item, _ in batch])
                except BaseException as exc:  # every caller of the batch gets it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):  # cancelled: the loop is stopping
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # the caller went away (cancelled)
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # Here, not in a done callback: a call arriving between the last look at the queue and
            # the callback would find this run still counted and wait for ever.
            self._running.discard(asyncio.current_task())  # type: ignore[arg-type]
