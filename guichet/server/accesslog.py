"""One access-log line per request, as gunicorn's access log was: peer, method and path (never the
query string, which may carry a token), status, body bytes, time in milliseconds."""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import Any

from guichet.core.asgi import Asgi, Receive, Scope, Send

access_log = logging.getLogger("guichet.access")


async def logged(app: Asgi, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the HTTP request `scope` with `app`, then log it (also when `app` failed)."""
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
        await app(scope, receive, sending)
    finally:
        client = scope.get("client")
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        access_log.info(
            '%s "%s %s" %s %s %sms',
            client[0] if client else "-",
            scope["method"],
            scope["path"],
            status or "-",
            size,
            elapsed_ms,
        )
