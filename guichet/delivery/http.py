"""Outbox messages posted to an HTTP endpoint: RReqs to a Directory Server, notifications to merchants.

Each kind of message registers how it is prepared (headers computed at each attempt, such as a
signature carrying the current time) and when an answer counts as accepted (for instance a valid
RRes). Anything else is retried by the outbox with its usual back-off.
"""

from __future__ import annotations

import functools
import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError

HTTP_TIMEOUT_S = 10.0
# A peer that does not even take the connection is given much less: its lane's threads are few.
CONNECT_TIMEOUT_S = 3.0
# An answer larger than this is cut: no acknowledgement we check needs more.
MAX_ANSWER_BYTES = 64 * 1024

Prepare = Callable[[OutboxMessage, bytes], dict[str, str]]
Accept = Callable[[OutboxMessage, int, bytes], None]


def accept_2xx(message: OutboxMessage, status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise DeliveryError(f"answered {status}")


@dataclass(frozen=True)
class HttpKind:
    prepare: Prepare | None
    accept: Accept


_kinds: dict[str, HttpKind] = {}


def register_http_kind(kind: str, *, prepare: Prepare | None = None, accept: Accept | None = None) -> None:
    """Declare a kind of HTTP message (call from an AppConfig.ready(); registering again replaces)."""
    _kinds[kind] = HttpKind(prepare=prepare, accept=accept or accept_2xx)


def registered_http_kinds() -> frozenset[str]:
    return frozenset(_kinds)


def http_kind(kind: str) -> HttpKind:
    try:
        return _kinds[kind]
    except KeyError:
        raise DeliveryError(f"no handler registered for kind {kind!r}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other: following it could post the body somewhere unintended."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _connect(address: tuple[str, int], timeout: object, source_address: object = None) -> socket.socket:
    """Connect within CONNECT_TIMEOUT_S, then give each read the request's own timeout."""
    read_timeout = timeout if isinstance(timeout, int | float) else None
    connect_timeout = min(read_timeout, CONNECT_TIMEOUT_S) if read_timeout else CONNECT_TIMEOUT_S
    sock = socket.create_connection(address, connect_timeout, source_address)  # type: ignore[arg-type]
    sock.settimeout(read_timeout)
    return sock


# http.client opens every socket (plain or before TLS) through `_create_connection`: replacing it is
# the one place where connecting gets its own timeout.
@functools.cache
def _short_connect(connection: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    class ShortConnect(connection):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = _connect

    return ShortConnect


class _HttpHandler(urllib.request.HTTPHandler):
    def do_open(
        self, http_class: Any, req: urllib.request.Request, **kwargs: Any
    ) -> http.client.HTTPResponse:
        return super().do_open(_short_connect(http_class), req, **kwargs)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def do_open(
        self, http_class: Any, req: urllib.request.Request, **kwargs: Any
    ) -> http.client.HTTPResponse:
        return super().do_open(_short_connect(http_class), req, **kwargs)


_opener = urllib.request.build_opener(_NoRedirect, _HttpHandler, _HttpsHandler)


def http_post(message: OutboxMessage, url: str, headers: dict[str, str], body: bytes) -> None:
    """One attempt: POST, then let the kind decide whether the answer is an acceptance."""
    kind = http_kind(message.template)
    all_headers = {"Content-Type": "application/json", **headers}
    if kind.prepare is not None:
        all_headers.update(kind.prepare(message, body))
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (http/https checked on enqueue)
    for name, value in all_headers.items():
        request.add_header(name, value)
    try:
        with _opener.open(request, timeout=HTTP_TIMEOUT_S) as response:
            status, answer = response.status, response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read(MAX_ANSWER_BYTES)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"unreachable: {type(reason).__name__}") from None
    kind.accept(message, status, answer)
