"""The 3DS Method in a real Chromium, in a hidden iframe of a requestor page from another origin.

The test plays the 3DS Requestor: its page (on the other of `localhost` and `127.0.0.1` than Guichet's
live server: another site) posts threeDSMethodData into a hidden iframe on the threeDSMethodURL, and
its notification URL must receive threeDSMethodData back well within the 10 s the requestor waits.
Then, as the DS, the test posts the AReq with threeDSCompInd Y and finds the observation joined.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page

from guichet.issuer.acs.models import AcsTransaction, DeviceObservation
from tests.issuer.acs.challenge.support import DirectoryServer
from tests.issuer.acs.support import areq_220, enrolled_holder
from tests.support.factories import make_pan

pytestmark = pytest.mark.browser

WITHIN_S = 3.0  # the requestor gives up after 10 s; the page must answer well before


class Requestor:
    """The 3DS Requestor's site: the checkout page with the hidden Method iframe, and the
    threeDSMethodNotificationURL."""

    def __init__(self, host: str) -> None:
        self.notified: list[tuple[float, dict[str, str]]] = []
        requestor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/checkout?"):  # the browser's /favicon.ico
                    self.send_error(404)
                    return
                query = parse_qs(self.path.partition("?")[2])
                method_url, data = query["methodURL"][0], query["data"][0]
                # The form and the iframe as a 3DS Server's page has them; the iframe is hidden.
                self._answer(f"""<!DOCTYPE html><html lang="en"><head><title>Shop</title></head><body>
<main><h1>Checkout</h1>
<iframe name="tdsmethod" title="3DS Method" style="display:none" width="0" height="0"></iframe>
<form id="method" method="post" action="{html.escape(method_url)}" target="tdsmethod">
<input type="hidden" name="threeDSMethodData" value="{html.escape(data)}">
</form></main>
<script>document.getElementById("method").submit();</script>
</body></html>""")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fields = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                requestor.notified.append((time.monotonic(), fields))
                self._answer(
                    "<!DOCTYPE html><html lang='en'><head><title>Shop</title></head>"
                    "<body><main><p>Method done</p></main></body></html>"
                )

            def _answer(self, page: str) -> None:
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def checkout_url(self, method_url: str, data: str) -> str:
        return f"{self.origin}/checkout?" + urlencode({"methodURL": method_url, "data": data})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def guichet(live_server: Any, settings: Any) -> str:
    """Guichet's public URL is the live server's: the ranges' threeDSMethodURL points at it."""
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=live_server.url)
    return str(live_server.url)


@pytest.fixture
def requestor(guichet: str) -> Iterator[Requestor]:
    # The other loopback name than Guichet's: another site, so the iframe is a third-party one.
    host = "localhost" if urlsplit(guichet).hostname == "127.0.0.1" else "127.0.0.1"
    server = Requestor(host)
    yield server
    server.stop()


def encoded(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decoded(value: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return result


def run_method(page: Page, guichet: str, requestor: Requestor, trans_id: str) -> float:
    """Open the requestor's checkout; the seconds until its notification URL got the answer."""
    data = encoded(
        {"threeDSServerTransID": trans_id, "threeDSMethodNotificationURL": f"{requestor.origin}/done"}
    )
    seen = len(requestor.notified)
    started = time.monotonic()
    page.goto(requestor.checkout_url(f"{guichet}/3ds/method", data))
    while len(requestor.notified) == seen:
        assert time.monotonic() - started < 10, "the notification URL got nothing within 10 s"
        time.sleep(0.02)
    at, fields = requestor.notified[-1]
    compact = json.dumps({"threeDSServerTransID": trans_id}, separators=(",", ":")).encode()
    assert fields == {"threeDSMethodData": base64.urlsafe_b64encode(compact).decode().rstrip("=")}
    assert decoded(fields["threeDSMethodData"]) == {"threeDSServerTransID": trans_id}
    return at - started


def test_the_method_in_a_hidden_cross_site_iframe_answers_within_seconds_and_is_joined(
    browser: Any, guichet: str, requestor: Requestor, ds: DirectoryServer
) -> None:
    context = browser.new_context(locale="fr-FR", timezone_id="Pacific/Noumea")
    context.set_default_timeout(10_000)
    page = context.new_page()
    trans_id = str(uuid.uuid4())

    elapsed = run_method(page, guichet, requestor, trans_id)

    assert elapsed < WITHIN_S
    observation = DeviceObservation.objects.get(method_trans_id=trans_id)
    assert observation.collected_at is not None
    assert observation.traits["tzName"] == "Pacific/Noumea"
    assert observation.traits["tzOffset"] == -660
    # Playwright's screen emulation does not reach a cross-site (out-of-process) iframe: the
    # headless default is there; what matters is that the screen was read.
    assert observation.traits["screenWidth"] > 0
    assert observation.traits["screenHeight"] > 0
    assert observation.traits["languages"][0] == "fr-FR"
    assert observation.traits["colorDepth"] > 0
    assert len(observation.device_hash) == 64
    # Over plain http a cookie cannot be SameSite=None: in this third-party iframe none comes back.
    assert observation.new_device is True

    pan = make_pan("497010")
    enrolled_holder(pan, epin="1234")
    areq = areq_220(
        acctNumber=pan, threeDSServerTransID=trans_id, threeDSCompInd="Y", threeDSRequestorChallengeInd="01",
        dsTransID=str(uuid.uuid4()), dsURL=ds.url, notificationURL=f"{requestor.origin}/notify",
    )  # fmt: skip
    request = urllib.request.Request(
        f"{guichet}/3ds/areq", data=json.dumps(areq).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        ares = json.loads(response.read())
    assert ares["transStatus"] == "C"
    assert AcsTransaction.objects.get(acs_trans_id=ares["acsTransID"]).device_hash == observation.device_hash
    context.close()


def test_a_method_posted_with_bad_data_shows_an_error_and_never_notifies(
    page: Page, guichet: str, requestor: Requestor
) -> None:
    page.goto(requestor.checkout_url(f"{guichet}/3ds/method", "bm90IGpzb24"))  # "not json"
    frame = page.frame_locator("iframe[name=tdsmethod]")
    assert "threeDSMethodData is not base64url JSON" in (frame.locator("code").text_content() or "")
    time.sleep(0.5)
    assert requestor.notified == []
    assert DeviceObservation.objects.count() == 0


@pytest.fixture
def same_site_requestor(guichet: str) -> Iterator[Requestor]:
    # The same host on another port: another origin but the same site, where a Lax cookie goes.
    server = Requestor(urlsplit(guichet).hostname or "")
    yield server
    server.stop()


def test_where_the_device_cookie_comes_back_the_browser_is_the_same_device(
    page: Page, guichet: str, same_site_requestor: Requestor
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    run_method(page, guichet, same_site_requestor, first)
    assert run_method(page, guichet, same_site_requestor, second) < WITHIN_S
    one, two = (DeviceObservation.objects.get(method_trans_id=key) for key in (first, second))
    assert (one.new_device, two.new_device) == (True, False)
    assert one.device_hash == two.device_hash
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert (cookies["guichet_acs_device"]["httpOnly"], cookies["guichet_acs_device"]["path"]) == (
        True,
        "/3ds/method",
    )
