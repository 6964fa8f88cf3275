"""A merchant's side for the checkout tests: a real HTTP server that receives the notifications and
the customer's return, and checks every `Guichet-Signature` the way a merchant would (docs/merchants.md),
with its own HMAC code rather than Guichet's."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def signature_ok(secret: str, header: str, payload: bytes, *, now: float | None = None) -> bool:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`, at most 5 minutes old."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    if abs((time.time() if now is None else now) - int(parts["t"])) > 300:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@dataclass
class Notification:
    body: dict[str, Any]
    signed: bool


@dataclass
class Return:
    path: str
    query: dict[str, str]
    signed: bool


@dataclass
class MerchantSite:
    """Notifications at /notify, the shop's pages (return, cancel) at any other path."""

    secret: str = ""  # the notification secret, known once the merchant is created
    now: Callable[[], float] = time.time  # the merchant's clock, to judge a signature's age
    notifications: list[Notification] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signed = signature_ok(
                    site.secret, self.headers.get("Guichet-Signature", ""), raw, now=site.now()
                )
                with site.lock:
                    site.notifications.append(Notification(json.loads(raw), signed))
                self._answer(200 if signed else 400, b"")

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if not parts.path.startswith("/shop/"):
                    self._answer(404, b"")  # the browser's /favicon.ico
                    return
                query = dict(parse_qsl(parts.query))
                payload = f"payment_id={query.get('payment_id', '')}&status={query.get('status', '')}"
                header = f"t={query.get('t', '')},v1={query.get('v1', '')}"
                signed = signature_ok(site.secret, header, payload.encode(), now=site.now())
                with site.lock:
                    site.returns.append(Return(parts.path, query, signed))
                page = (
                    "<!DOCTYPE html><html lang='en'><head><title>Shop</title></head><body>"
                    f"<h1>Back at the shop</h1><p id='status'>{query.get('status', '')}</p>"
                    f"<p id='signed'>{'signed' if signed else 'NOT SIGNED'}</p></body></html>"
                )
                self._answer(200, page.encode(), content_type="text/html; charset=utf-8")

            def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self, payment_id: str) -> list[Notification]:
        with self.lock:
            return [n for n in self.notifications if n.body["payment"]["id"] == payment_id]

    def wait_for_events(self, payment_id: str, count: int, timeout: float = 10) -> list[Notification]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.events(payment_id)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} notification(s) for {payment_id}, got {self.events(payment_id)}"
        )
