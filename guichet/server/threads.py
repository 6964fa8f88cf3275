"""Django in a pool of threads under the ASGI server, as gunicorn's threaded workers ran it (a2wsgi):
same request objects, same per-thread database connections."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from django.db import close_old_connections, connections

from guichet.server.wsgi import application as django_application


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


class DjangoThreads:
    """The Django application as ASGI, run in `threads` threads; `offload` runs other work there."""

    def __init__(self, *, threads: int) -> None:
        self.threads = threads
        self.app = WSGIMiddleware(django_application, workers=threads)  # type: ignore[arg-type]

    @property
    def executor(self) -> ThreadPoolExecutor:
        return self.app.executor

    async def offload(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` in one of the threads that run Django, awaited."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(_in_thread, fn, args))

    async def close(self) -> None:
        """Close each thread's database connections (at the server's shutdown)."""
        await asyncio.get_running_loop().run_in_executor(
            None, _close_connections, self.executor, self.threads
        )
