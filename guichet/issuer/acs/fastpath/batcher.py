"""Grouping the calls that arrive together, so that concurrent AReqs share one database round trip
and one commit."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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
