"""fastpath.batcher.Batcher: calls that arrive during a run go together into the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from guichet.issuer.acs.fastpath.batcher import Batcher

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the browser tests leave an event loop in the main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


class Recorder:
    """A `run` that records its batches and answers each item doubled (an exception for "bad")."""

    def __init__(self, *, fail_all: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail_all = fail_all

    async def __call__(self, items: list[str]) -> Sequence[str | BaseException]:
        self.batches.append(items)
        await self.release.wait()
        if self.fail_all:
            raise ConnectionError("database gone")
        return [ValueError(item) if item == "bad" else item * 2 for item in items]


async def _gather(batcher: Batcher[str, str], recorder: Recorder, items: list[str]) -> list[object]:
    first = asyncio.ensure_future(batcher(items[0]))
    await asyncio.sleep(0)  # the first run starts with the first item alone
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batcher(item)) for item in items[1:]]
    await asyncio.sleep(0)
    recorder.release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_the_first_call_runs_alone_and_the_next_ones_together():
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder, max_batch=32, parallel=1)
    results = run_async(_gather(batcher, recorder, ["a", "b", "c", "d"]))
    assert results == ["aa", "bb", "cc", "dd"]
    assert recorder.batches == [["a"], ["b", "c", "d"]]


def test_a_batch_holds_at_most_max_batch_items():
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder, max_batch=2, parallel=1)
    results = run_async(_gather(batcher, recorder, ["a", "b", "c", "d", "e"]))
    assert results == ["aa", "bb", "cc", "dd", "ee"]
    assert recorder.batches == [["a"], ["b", "c"], ["d", "e"]]


def test_an_item_s_own_failure_fails_only_that_item():
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder, parallel=1)
    results = run_async(_gather(batcher, recorder, ["a", "b", "bad", "d"]))
    assert results[:2] == ["aa", "bb"]
    assert isinstance(results[2], ValueError)
    assert results[3] == "dd"


def test_a_run_that_raises_fails_every_item_of_its_batch_and_the_batcher_goes_on():
    recorder = Recorder(fail_all=True)
    batcher: Batcher[str, str] = Batcher(recorder, parallel=1)

    async def scenario() -> tuple[list[object], str]:
        failed = await _gather(batcher, recorder, ["a", "b", "c"])
        recorder.fail_all = False
        return failed, await batcher("e")

    failed, later = run_async(scenario())
    assert [type(r) for r in failed] == [ConnectionError] * 3
    assert later == "ee"
    assert recorder.batches[-1] == ["e"]


def test_a_cancelled_caller_does_not_disturb_the_others():
    recorder = Recorder()
    batcher: Batcher[str, str] = Batcher(recorder, parallel=1)

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(batcher("a"))
        await asyncio.sleep(0)
        second, third = asyncio.ensure_future(batcher("b")), asyncio.ensure_future(batcher("c"))
        await asyncio.sleep(0)
        second.cancel()
        recorder.release.set()
        return list(await asyncio.gather(first, second, third, return_exceptions=True))

    results = run_async(scenario())
    assert results[0] == "aa"
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[2] == "cc"


@pytest.mark.parametrize("parallel", [1, 2])
def test_without_contention_every_call_runs_at_once(parallel):
    batches: list[list[str]] = []

    async def run(items: list[str]) -> list[str]:
        batches.append(items)
        return items

    async def scenario() -> list[str]:
        batcher: Batcher[str, str] = Batcher(run, parallel=parallel)
        return [await batcher(item) for item in "xyz"]

    assert run_async(scenario()) == ["x", "y", "z"]
    assert batches == [["x"], ["y"], ["z"]]
