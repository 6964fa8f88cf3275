"""The benches' clients: a browser with its own cookies on one keep-alive connection per thread, the
hidden fields of a page, and a bounded pool of virtual users."""

from __future__ import annotations

import html
import http.client
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

from bench.support.base import BenchError

T = TypeVar("T")
R = TypeVar("R")

# --- HTTP client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float  # from sending the request to the last byte of the body


_connections = threading.local()
# gunicorn closes idle keep-alive connections after 2 s; open a new one well before that.
KEEPALIVE_REUSE_S = 1.0


def _connection(host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    """This thread's keep-alive connection, reopened when it sat idle long enough to be closed."""
    conn: http.client.HTTPConnection | None = getattr(_connections, "conn", None)
    last: float = getattr(_connections, "last", 0.0)
    if conn is not None and (time.monotonic() - last > KEEPALIVE_REUSE_S or conn.port != port):
        conn.close()
        conn = None
    if conn is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        _connections.conn = conn
    return conn


def _drop_connection() -> None:
    conn: http.client.HTTPConnection | None = getattr(_connections, "conn", None)
    if conn is not None:
        conn.close()
    _connections.conn = None


def keepalive_request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
) -> tuple[http.client.HTTPResponse, bytes, float]:
    """One request on this thread's keep-alive connection: the response, its body, and the seconds
    from sending to the last byte. A broken or closing connection is dropped for the next request."""
    conn = _connection(host, port, timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        raw = conn.getresponse()
        data = raw.read()
    except (OSError, http.client.HTTPException):
        _drop_connection()
        raise
    seconds = time.perf_counter() - started
    _connections.last = time.monotonic()
    if raw.will_close:
        _drop_connection()
    return raw, data, seconds


class Unexpected(Exception):
    """The server answered something else than the flow expects."""


def expect(response: Response, status: int, *, location: str = "", text: str = "") -> None:
    """Raise Unexpected unless the answer has this status (and redirect target, and text)."""
    if response.status != status:
        raise Unexpected(f"status {response.status}, expected {status}")
    if location and response.headers.get("location") != location:
        raise Unexpected(f"redirect to {response.headers.get('location')!r}, expected {location!r}")
    if text and text not in response.body:
        raise Unexpected(f"{text!r} not in the page")


def healthz(base_url: str) -> list[float]:
    """The benches' baseline request: GET /healthz (one `SELECT 1`), its seconds."""
    response = Browser(base_url).get("/healthz")
    expect(response, 200, text='"ok"')
    return [response.seconds]


class Browser:
    """One person's browser: its own cookies, no redirect following, a bounded wait per request."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {"Host": f"{self.host}:{self.port}", "Accept-Language": "fr"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        raw, data, seconds = keepalive_request(
            self.host, self.port, method, path, body=body, headers=headers, timeout=self.timeout
        )
        for value in raw.headers.get_all("Set-Cookie") or []:
            self._remember(value)
        return Response(
            status=raw.status,
            headers={k.lower(): v for k, v in raw.headers.items()},
            body=data.decode("utf-8", "replace"),
            seconds=seconds,
        )

    def _remember(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel.value == "" or morsel["max-age"] in ("0", 0):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page (CSRF token, form nonce)."""
    return {m["name"]: html.unescape(m["value"]) for m in _HIDDEN.finditer(page)}


# --- running virtual users ---------------------------------------------------------------------


def run_pool(
    items: Sequence[T], work: Callable[[T], R], *, concurrency: int, deadline: float
) -> tuple[list[R], list[str], float]:
    """Run `work` on every item with `concurrency` threads; return results, errors and wall seconds.

    Items not started by `deadline` (time.monotonic()) are counted as errors, so a bench never runs on.
    """
    results: list[R] = []
    errors: list[str] = []

    def guarded(item: T) -> R:
        if time.monotonic() > deadline:
            raise BenchError("time budget spent before this user started")
        return work(item)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="user") as pool:
        started = time.perf_counter()
        futures = [pool.submit(guarded, item) for item in items]
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 (one user's failure is counted, not fatal to the bench)
                errors.append(f"{type(exc).__name__}: {exc}")
        wall = time.perf_counter() - started
    # The pool's threads have ended: their keep-alive connections went with their thread-local state.
    return results, errors, wall
