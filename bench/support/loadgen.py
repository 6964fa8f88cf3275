"""The load of the AReq bench: keep-alive HTTP/1.1 connections on one asyncio loop, back to back or
paced at a fixed rate, each answer checked and timed, with the server's CPU, log and peak memory
figures taken over the measured window."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable

from bench.support.base import log
from bench.support.clients import Unexpected
from bench.support.figures import CaseResult
from bench.support.procs import disk_stalls
from bench.support.server import PostgresBackends, Server

WARMUP_S = 2.0


def request_bytes(method: str, path: str, port: int, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


class _Http(asyncio.Protocol):
    """One HTTP/1.1 client connection with as little Python per request as possible.

    The bench client shares the server's two cores: asyncio streams (readline per header line, one
    task per wait_for) cost about 0.6 ms of CPU per request, this protocol about half of that.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(self.buffer[:head_end]).lower()
        at = head.find(b"\r\ncontent-length:")
        length = 0
        if at >= 0:
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        total = head_end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[head_end + 4 : total])
        del self.buffer[:total]
        waiter.set_result((int(head[9:12]), body, b"\r\nconnection: close" in head))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        assert self.transport is not None
        self.waiter = self.loop.create_future()
        self.transport.write(request)
        return self.waiter


def _time_out(waiter: asyncio.Future[tuple[int, bytes, bool]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no answer in 30 s"))


async def _connection(
    port: int,
    requests: list[bytes],
    check: Callable[[int, bytes], None],
    measure_from: float,
    stop_at: float,
    result: CaseResult,
    pace: tuple[float, float] | None = None,
) -> None:
    """One DS connection: requests back to back until `stop_at`; reconnects when the server closes.

    With `pace` (first send time, interval) the connection sends on that schedule instead, and a
    latency runs from the scheduled time: an answer that keeps the next request waiting counts its
    wait too (no coordinated omission).
    """
    loop = asyncio.get_running_loop()
    conn: _Http | None = None
    i = random.randrange(len(requests))
    sent = 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        if pace is not None:
            scheduled = pace[0] + sent * pace[1]
            sent += 1
            if scheduled > started:
                await asyncio.sleep(scheduled - started)
            started = scheduled
        close = False
        try:
            if conn is None or conn.lost:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(lambda: _Http(loop), "127.0.0.1", port), 10
                )
                assert conn is not None
            waiter = conn.exchange(requests[i])
            timer = loop.call_later(30, _time_out, waiter)
            try:
                status, body, close = await waiter
            finally:
                timer.cancel()
            check(status, body)
            if started >= measure_from:
                result.latencies.append(time.perf_counter() - started)
        except (TimeoutError, OSError, ValueError, Unexpected) as exc:
            if started >= measure_from:
                result.failures.append(f"{type(exc).__name__}: {exc}")
            close = True
        if close and conn is not None:
            if conn.transport is not None:
                conn.transport.close()
            conn = None
        i = (i + 1) % len(requests)
    if conn is not None and conn.transport is not None:
        conn.transport.close()


def run_case(
    server: Server,
    backends: PostgresBackends | None,
    *,
    database: str,
    case: str,
    logged: tuple[str, str],
    requests: list[bytes],
    check: Callable[[int, bytes], None],
    connections: int,
    seconds: float,
    rate: float | None = None,
) -> CaseResult:
    """`connections` connections for `seconds` after the warm-up: back to back, or `rate` requests
    a second in all, spread evenly over the connections."""
    result = CaseResult(database=database, case=case)
    began = time.perf_counter()
    measure_from = began + WARMUP_S
    stop_at = measure_from + seconds

    def pace(k: int) -> tuple[float, float] | None:
        return None if rate is None else (began + k / rate, connections / rate)

    async def drive() -> None:
        await asyncio.gather(
            *(
                _connection(server.port, requests, check, measure_from, stop_at, result, pace(k))
                for k in range(connections)
            )
        )

    # CPU and log figures from the end of the warm-up (the client sleeps until then at no cost).
    async def main() -> tuple[float, float, int, dict[int, float], float]:
        task = asyncio.ensure_future(drive())
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        marks = (
            server.cpu_seconds(),
            time.process_time(),
            server.log_size(),
            backends.cpu_seconds() if backends else {},
            time.perf_counter(),
        )
        result.disk_stall_seconds = await disk_stalls(stop_at)
        await task
        return marks

    # The DS's own garbage collector must not pause it: a full collection of this process (tens of
    # ms) would delay every answer in flight and be counted as the server's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        server_cpu, client_cpu, log_at, database_cpu, measured_at = asyncio.run(main())
    finally:
        gc.enable()
        gc.unfreeze()
    result.wall_seconds = time.perf_counter() - measured_at
    result.server_cpu_seconds = server.cpu_seconds() - server_cpu
    if backends:
        result.database_cpu_seconds = backends.used_since(database_cpu)
    time.sleep(0.3)  # let the last access log lines reach the file
    result.server_ms = server.access_ms(log_at, *logged)
    result.peak_rss_kib = server.peak_rss_kib()
    log(
        f"{database}: {case}: {result.requests} answers, {result.throughput:.0f}/s, "
        f"{len(result.failures)} failed; CPU used: server {result.server_cpu_seconds:.1f} s, "
        f"bench client {time.process_time() - client_cpu:.1f} s in {result.wall_seconds:.1f} s"
    )
    return result
