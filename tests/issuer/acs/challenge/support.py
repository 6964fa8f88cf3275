"""Helpers of the challenge tests: an AReq that gets a challenge, the CReq form, reading pages."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
import uuid
from dataclasses import dataclass
from html import unescape
from typing import Any

from django.test import Client

from guichet.issuer.cards.models import Cardholder
from tests.issuer.acs.support import areq_210, areq_220, areq_231, enrolled_holder, post_areq

NOTIFICATION_URL = "https://merchant.example.test/3ds/notify"
DS_URL = "https://ds.example.test/rreq"
PHONE = "+687751123"


def b64url(data: dict[str, Any] | bytes, *, pad: bool = False) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    text = base64.urlsafe_b64encode(raw).decode()
    return text if pad else text.rstrip("=")


def b64url_json(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return decoded


@dataclass
class Started:
    holder: Cardholder
    pan: str
    areq: dict[str, Any]
    ares: dict[str, Any]

    @property
    def acs_trans_id(self) -> str:
        return str(self.ares["acsTransID"])

    @property
    def tx_id(self) -> uuid.UUID:
        return uuid.UUID(self.acs_trans_id)

    def creq(self, **changes: Any) -> dict[str, Any]:
        message = {
            "threeDSServerTransID": self.areq["threeDSServerTransID"],
            "acsTransID": self.acs_trans_id,
            "challengeWindowSize": "02",
            "messageType": "CReq",
            "messageVersion": self.areq["messageVersion"],
        } | changes
        return {key: value for key, value in message.items() if value is not ...}


def start(
    client: Client,
    *,
    version: str = "2.2.0",
    language: str = "fr-FR",
    epin: str | None = "1234",
    ds_url: str = DS_URL,
    notification_url: str = NOTIFICATION_URL,
    card: tuple[Cardholder, str] | None = None,
    **changes: Any,
) -> Started:
    """A cardholder (with an ePin unless None; or `card`'s), and the DS's AReq for the card answered C."""
    from tests.support.factories import make_pan

    holder, pan = card or enrolled_holder(make_pan("497010"), epin=epin)
    if holder.phone != PHONE:
        holder.phone = PHONE
        holder.save(update_fields=["phone"])
    build = {"2.1.0": areq_210, "2.2.0": areq_220, "2.3.1": areq_231}[version]
    areq = build(
        acctNumber=pan,
        threeDSServerTransID=str(uuid.uuid4()),
        dsTransID=str(uuid.uuid4()),
        dsURL=ds_url,
        notificationURL=notification_url,
        browserLanguage=language,
        **(
            {
                "merchantName": "MyTestMerchantACS3",
                "purchaseAmount": "29900",
                "purchaseCurrency": "978",
                "purchaseExponent": "2",
                "purchaseDate": "20220207212818",
            }
            | changes
        ),
    )
    areq.pop("threeDSRequestorChallengeInd", None)
    ares = post_areq(client, areq)
    assert ares["messageType"] == "ARes", ares
    assert ares["transStatus"] == "C", ares
    return Started(holder=holder, pan=pan, areq=areq, ares=ares)


def post_creq(client: Client, creq: dict[str, Any] | str, session_data: str | None = "c2Vzc2lvbg") -> Any:
    field = creq if isinstance(creq, str) else b64url(creq)
    data = {"creq": field}
    if session_data is not None:
        data["threeDSSessionData"] = session_data
    return client.post("/3ds/challenge", data=data)


def hidden(html: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', html)
    return unescape(match.group(1)) if match else None


def form_action(html: str) -> str:
    matches = re.findall(r'<form method="post" action="([^"]*)"', html)
    return unescape(matches[-1]) if matches else ""


def erro_shown(html: str) -> dict[str, Any]:
    match = re.search(r'<pre class="acs-erro" id="erro">(.*?)</pre>', html, re.S)
    assert match, html[:2000]
    shown: dict[str, Any] = json.loads(unescape(match.group(1)))
    return shown


def step(client: Client, html: str, **fields: str) -> Any:
    data = {"acsTransID": hidden(html, "acsTransID") or "", "token": hidden(html, "token") or ""} | fields
    return client.post("/3ds/challenge/step", data=data)


def deliver_all() -> None:
    from guichet.delivery.worker import deliver_due

    while deliver_due():
        pass


def progress_form(html: str) -> bool:
    """Whether `html` is the progress page of a finished challenge (waiting for the RRes, no CRes)."""
    return 'name="action" value="finish"' in html and hidden(html, "cres") is None


def after_rres(client: Client, html: str) -> str:
    """The final page: the outbox delivers the RReq to the test's DS (which answers its RRes), then
    the progress page `html` posts on, as its script does once the status URL says ready."""
    assert progress_form(html), html[:3000]
    deliver_all()
    page = step(client, html, action="finish")
    assert page.status_code == 200
    assert hidden(page.content.decode(), "cres"), "no CRes after the RRes"
    return str(page.content.decode())


def after_wait(client: Client, html: str, clock: Any) -> str:
    """The final page of a DS that never answers: GUICHET_ACS_RRES_WAIT let pass, then the progress
    page `html` posted on."""
    from django.conf import settings

    assert progress_form(html), html[:3000]
    clock.advance(seconds=settings.GUICHET.acs.rres_wait_s)
    page = step(client, html, action="finish")
    assert page.status_code == 200
    assert hidden(page.content.decode(), "cres"), "no CRes after the wait"
    return str(page.content.decode())


def ds_list(settings: Any, url: str) -> None:
    """Add a DS URL to GUICHET_ACS_DS_URLS for the test (pytest-django's `settings` restores it)."""
    acs = settings.GUICHET.acs
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(acs, ds_urls=(*acs.ds_urls, url))
    )


class DirectoryServer:
    """A real HTTP server playing the DS: records each RReq, answers an RRes (or an error while `mode`
    is "error"), `delay` seconds after the RReq came in. `answered_at`: when each RRes went out."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.mode = "ok"
        self.delay = 0.0
        self.answered_at: list[float] = []  # time.time() of each RRes sent
        self.received: list[dict[str, Any]] = []
        self.client_certs: list[Any] = []  # the client certificate of each RReq received over TLS
        self.refused = 0
        self.lock = threading.Lock()
        ds = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if ds.delay:
                    time.sleep(ds.delay)  # outside the lock: a slow DS still takes other RReqs
                with ds.lock:
                    if ds.mode == "error":
                        ds.refused += 1
                        self._answer(503, b"")
                        return
                    if ds.mode == "erro":  # an answer that is not an RRes
                        ds.refused += 1
                        self._answer(200, b'{"messageType":"Erro","errorCode":"403"}')
                        return
                    rreq = json.loads(body)
                    ds.received.append(rreq)
                    peer = getattr(self.connection, "getpeercert", None)  # under TLS (`serve_tls`)
                    ds.client_certs.append(peer() if peer else None)
                rres = {
                    "messageType": "RRes",
                    "messageVersion": rreq["messageVersion"],
                    "threeDSServerTransID": rreq["threeDSServerTransID"],
                    "acsTransID": rreq["acsTransID"],
                    "dsTransID": rreq["dsTransID"],
                    "resultsStatus": "01",
                }
                with ds.lock:
                    ds.answered_at.append(time.time())
                self._answer(200, json.dumps(rres).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/rreq"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def serve_tls(self, context: Any, host: str) -> None:
        """Answer over TLS (before `start`), at https://`host`:port/rreq."""
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://{host}:{self._server.server_address[1]}/rreq"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
