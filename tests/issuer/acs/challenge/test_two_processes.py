"""Two `guichet serve` processes sharing one PostgreSQL database: the AReq served by one, the challenge
by the other, its steps alternating between them. The flow completes: the state is in the database.

Runs when GUICHET_TEST_DATABASE_URL is PostgreSQL (SQLite is one process's file here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection

from guichet.issuer.acs.models import AcsTransaction
from tests.delivery.test_delivery_worker_process import _test_database_url
from tests.issuer.acs.challenge.support import DirectoryServer, b64url, b64url_json
from tests.issuer.acs.support import areq_220, enrolled_holder
from tests.support.factories import make_pan
from tests.support.fixtures import sms_code
from tests.support.paths import ROOT
from tests.support.servers import free_port


def _post(url: str, body: bytes, content_type: str) -> str:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=15) as response:
        text: str = response.read().decode()
        return text


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, html[:2000]
    return unescape(match.group(1))


def _wait(condition: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture
def servers(outbound: Any, ds: DirectoryServer, transactional_db: None) -> Iterator[tuple[str, str]]:
    if connection.vendor != "postgresql":
        pytest.skip("needs GUICHET_TEST_DATABASE_URL=postgresql://...")
    smtp, sms = outbound
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    config = settings.GUICHET
    env = {
        **os.environ,
        "GUICHET_MODE": "serve",
        "GUICHET_DATA_DIR": str(config.data_dir),
        "GUICHET_DATABASE_URL": _test_database_url(),
        # Real keys, given as a deployment gives them; the test process uses the same to write cards.
        "GUICHET_SECRET_KEY": config.secret_key,
        "GUICHET_HMAC_KEY": config.hmac_key.hex(),
        "GUICHET_DATA_KEY": config.data_key.hex(),
        "GUICHET_EMAIL_URL": smtp.url,
        "GUICHET_SMS_URL": sms.url,
        "GUICHET_SMS_TOKEN": "test-token",
        # A production start: the test's DS and gateways listen on 127.0.0.1, which must be allowed.
        "GUICHET_ACS_DS_URLS": ds.url,
        "GUICHET_EGRESS_ALLOW": "127.0.0.1",
        # Both name the second server in their acsURL: the challenge goes there.
        "GUICHET_PUBLIC_URL": urls[1],
    }
    processes = [
        subprocess.Popen(  # noqa: S603 (our own command line)
            [sys.executable, "-m", "guichet.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        for url, process in zip(urls, processes, strict=True):

            def up(url: str = url, process: subprocess.Popen[str] = process) -> bool:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                        return True
                except (urllib.error.URLError, OSError):
                    return False

            _wait(up, timeout=30)
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_areq_on_one_process_challenge_on_the_other(
    servers: tuple[str, str], outbound: Any, ds: DirectoryServer
) -> None:
    first, second = servers
    _, sms = outbound
    pan = make_pan("497010")
    holder, _ = enrolled_holder(pan, epin="1234")
    areq = areq_220(
        acctNumber=pan,
        threeDSServerTransID=str(uuid.uuid4()),
        dsTransID=str(uuid.uuid4()),
        dsURL=ds.url,
        notificationURL="https://merchant.example.test/notify",
        browserLanguage="fr-FR",
        merchantName="MyTestMerchantACS3",
        purchaseAmount="29900",
        purchaseCurrency="978",
        purchaseExponent="2",
    )
    ares = json.loads(_post(f"{first}/3ds/areq", json.dumps(areq).encode(), "application/json"))
    assert (ares["transStatus"], ares["acsURL"]) == ("C", f"{second}/3ds/challenge")
    creq = {
        "threeDSServerTransID": areq["threeDSServerTransID"],
        "acsTransID": ares["acsTransID"],
        "challengeWindowSize": "03",
        "messageType": "CReq",
        "messageVersion": "2.2.0",
    }
    form = "application/x-www-form-urlencoded"

    def step(base: str, html: str, **fields: str) -> str:
        data = {"acsTransID": ares["acsTransID"], "token": _hidden(html, "token")} | fields
        return _post(f"{base}/3ds/challenge/step", urlencode(data).encode(), form)

    html = _post(
        ares["acsURL"], urlencode({"creq": b64url(creq), "threeDSSessionData": "abc"}).encode(), form
    )
    assert "Étape 1 sur 2" in html
    html = step(first, html, action="validate", epin="1234")
    assert "Étape 2 sur 2" in html
    _wait(lambda: len(sms.state.received) == 1)
    html = step(second, html, action="validate", otp=sms_code(sms.state.received[0]["text"]))
    assert "Authentification en cours" in html
    # The final CRes waits for the RRes, which either process's delivery may have got: the status
    # asked of one, the final page of the other.
    _wait(lambda: len(ds.received) == 1)
    tx_id = uuid.UUID(ares["acsTransID"])
    _wait(lambda: AcsTransaction.objects.get(pk=tx_id).state == AcsTransaction.State.COMPLETED)
    with urllib.request.urlopen(f"{second}/3ds/challenge/{ares['acsTransID']}/status", timeout=15) as answer:
        assert json.loads(answer.read()) == {"ready": True}
    html = step(first, html, action="finish")
    assert b64url_json(_hidden(html, "cres"))["transStatus"] == "Y"
    assert _hidden(html, "threeDSSessionData") == "abc"
    time.sleep(1.5)  # both processes run the delivery: the RReq still went once
    assert len(ds.received) == 1
    assert ds.received[0]["transStatus"] == "Y"
    assert holder.pk is not None
