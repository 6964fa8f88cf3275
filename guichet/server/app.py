"""The server's application: `guichet serve` and `guichet demo` run it in uvicorn workers.

One method and path, the DS's `POST /3ds/areq`, is answered on the worker's event loop
(guichet.issuer.acs.fastpath.endpoint). Everything else is the Django WSGI application, run in a
pool of threads as gunicorn's threaded workers ran it (a2wsgi): same request objects, same
per-thread database connections. Each request gets one access-log line without its query string.

Under another ASGI server: `uvicorn guichet.server.app:application` (8 Django threads; outgoing
messages then need `guichet worker`, as `guichet serve` with GUICHET_DELIVERY=worker does).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from django.db import close_old_connections, connections

from guichet.issuer.acs.fastpath.areq import AreqDatabase
from guichet.issuer.acs.fastpath.endpoint import AreqEndpoint, Receive, Scope, Send
from guichet.issuer.acs.fastpath.stores import areq_store_for
from guichet.server.wsgi import application as django_application

access_log = logging.getLogger("guichet.access")
logger = logging.getLogger(__name__)


def _in_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    # What Django's request signals do around a request: drop connections that are too old or broken.
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


def _close_connections(executor: ThreadPoolExecutor, threads: int) -> None:
    """Close the database connections of every thread of `executor` (they are per thread)."""
    barrier = threading.Barrier(threads)

    def close() -> None:
        # Wait for the others, so that each task runs in a thread of its own.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        connections.close_all()

    for future in [executor.submit(close) for _ in range(threads)]:
        future.result()


class Application:
    """The ASGI application; `threads` is how many requests a worker runs through Django at once."""

    def __init__(self, *, threads: int = 8) -> None:
        self.threads = threads
        self.django = WSGIMiddleware(django_application, workers=threads)  # type: ignore[arg-type]
        # The DS's AReq on the event loop: as many asynchronous connections as Django has threads
        # on PostgreSQL; on SQLite its database steps run in these threads.
        self.areq_db = AreqDatabase(
            backend=areq_store_for(size=threads, offload=self.offload), offload=self.offload
        )
        self.areq = AreqEndpoint(db=self.areq_db)

    async def offload(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` in one of the threads that run Django, awaited."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.django.executor, functools.partial(_in_thread, fn, args))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.areq_db.close()
                await asyncio.get_running_loop().run_in_executor(
                    None, _close_connections, self.django.executor, self.threads
                )
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status, size = 0, 0

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            if self.areq.takes(scope):
                await self.areq(scope, receive, sending)
            else:
                await self.django(scope, receive, sending)  # type: ignore[arg-type]
        finally:
            client = scope.get("client")
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            # As gunicorn's access log was: peer, method and path (never the query string), status,
            # body bytes, time in milliseconds.
            access_log.info(
                '%s "%s %s" %s %s %sms',
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                status or "-",
                size,
                elapsed_ms,
            )


_application: Application | None = None


def __getattr__(name: str) -> Any:
    # `application` is built on first use, not at import: `guichet serve` builds its own with
    # `--threads`, and a second one would hold a second pool of threads.
    global _application
    if name == "application":
        if _application is None:
            _application = Application()
        return _application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
