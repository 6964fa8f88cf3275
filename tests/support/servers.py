"""Real peers for the tests: an SMTP server (aiosmtpd), an HTTP SMS gateway receiver, an HTTP receiver."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ReceivedEmail:
    to: str
    subject: str
    body: str
    message_id: str


class _Collector:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        with self.server.lock:
            for rcpt in envelope.rcpt_tos:
                self.server.received.append(
                    ReceivedEmail(
                        to=rcpt,
                        subject=str(parsed["Subject"]),
                        body=text,
                        message_id=str(parsed["Message-ID"]),
                    )
                )
        return "250 OK"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that keeps what it receives; can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[ReceivedEmail] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[ReceivedEmail]:
        with self.lock:
            return [m for m in self.received if m.to == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10) -> list[ReceivedEmail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} email(s) to {address}, got {len(self.to(address))}")


@dataclass
class SmsGatewayState:
    mode: str = "ok"  # ok | error | hang
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SmsGateway:
    """A real HTTP receiver speaking the SMS gateway protocol (docs/operating.md)."""

    def __init__(self) -> None:
        self.state = SmsGatewayState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length))
                with state.lock:
                    mode = state.mode
                if mode == "hang":
                    time.sleep(6)  # longer than the sender's 5 s timeout: no answer in time
                    with state.lock:
                        state.refused += 1
                    self._answer(200)
                    return
                if mode == "error":
                    with state.lock:
                        state.refused += 1
                    self._answer(500)
                    return
                with state.lock:
                    state.received.append(payload)
                    state.headers.append(dict(self.headers))
                self._answer(200)

            def _answer(self, status: int) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set_mode(self, mode: str) -> None:
        with self.state.lock:
            self.state.mode = mode

    def to(self, number: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [m for m in self.state.received if m["to"] == number]

    def wait_for(self, number: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(number)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} SMS to {number}, got {len(self.to(number))}")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[Received], tuple[int, bytes]]


class HttpReceiver:
    """A real HTTP server that records every POST and answers with `responder` (default 200, empty).

    Plays a Directory Server receiving RReqs or a merchant receiving notifications. Change the
    answer at any time with `respond_with(...)`, e.g. to be "down" (503) for a while.
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.received: list[Received] = []
        self.answered: list[int] = []
        self._lock = threading.Lock()
        self._responder: Responder = responder or (lambda _r: (200, b""))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Received(self.path, dict(self.headers), self.rfile.read(length))
                with receiver._lock:
                    responder = receiver._responder
                status, body = responder(request)
                with receiver._lock:
                    receiver.received.append(request)
                    receiver.answered.append(status)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond_with(self, responder: Responder) -> None:
        with self._lock:
            self._responder = responder

    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx."""
        with self._lock:
            return [r for r, s in zip(self.received, self.answered, strict=True) if 200 <= s < 300]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SilentListener:
    """A peer that accepts every connection and never answers (a hung DS or merchant).

    `open_connections` is how many it holds at once; `stop()` closes them, so whoever waits on one
    gets an error at once instead of at its timeout.
    """

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._socket.settimeout(0.05)  # accept() would not notice a close from another thread
        self.port = int(self._socket.getsockname()[1])
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.most_at_once = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            with self._lock:
                self._held.append(connection)
                self.most_at_once = max(self.most_at_once, len(self._held))

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._held)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._closed.set()
        self._socket.close()
        with self._lock:
            for connection in self._held:
                connection.close()
            self._held.clear()


class FullListener:
    """A peer that does not even take the connection: its accept queue is full, so a connect waits."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=0)
        self.port = int(self._socket.getsockname()[1])
        self._fillers: list[socket.socket] = []

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        for _ in range(3):  # more than the queue holds: later connects get no answer at all
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self._fillers.append(filler)
        time.sleep(0.1)

    def stop(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._socket.close()
