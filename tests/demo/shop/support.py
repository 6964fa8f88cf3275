"""A stand-in ACS on a real HTTP server, answering each AReq with what the test decides."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.servers import free_port

Answer = Callable[[dict[str, Any]], tuple[int, bytes]]


def ares(areq: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
    """An ARes echoing `areq`'s identifiers, as a conforming ACS answers."""
    return {
        "messageType": "ARes",
        "messageVersion": areq["messageVersion"],
        "threeDSServerTransID": areq["threeDSServerTransID"],
        "dsTransID": areq["dsTransID"],
        "dsReferenceNumber": areq["dsReferenceNumber"],
        "acsTransID": str(uuid.uuid4()),
        "acsReferenceNumber": "TEST-ACS",
        "transStatus": status,
        **fields,
    }


class FakeAcs:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.answer: Answer = lambda areq: (200, json.dumps(self.challenge(areq)).encode())
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def challenge(self, areq: dict[str, Any]) -> dict[str, Any]:
        return ares(
            areq,
            "C",
            acsURL=f"{self.url}/3ds/challenge",
            acsChallengeMandated="Y",
            authenticationType="02",
        )

    def start(self) -> None:
        acs = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                acs.paths.append(self.path)
                try:
                    areq = json.loads(body)
                except ValueError:
                    areq = {}
                acs.received.append(areq)
                status, answer = acs.answer(areq)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def fake_acs(settings: Any) -> Iterator[FakeAcs]:
    """A stand-in ACS; GUICHET_PUBLIC_URL points at it, so the shop posts its AReqs there."""
    import dataclasses

    acs = FakeAcs()
    acs.start()
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=acs.url)
    yield acs
    acs.stop()
