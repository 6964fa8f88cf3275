"""A real `guichet serve` on the embedded SQLite database: uvicorn workers, the AReq answered on the
event loop, the pages through Django, one access-log line per request, a clean stop on SIGTERM.

(On PostgreSQL, tests/issuer/acs/challenge/test_two_processes.py runs two of them sharing one database.)
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guichet.delivery.worker import DeliveryThread
from guichet.server.worker import worker_ready
from tests.issuer.acs.support import areq_220
from tests.support.servers import free_port
from tests.test_cli import GOOD_FILE, KEYS, PAN_A, clean_environ, run_guichet


def _request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _prepared(tmp_path: Path, outbound: Any) -> dict[str, str]:
    """A migrated SQLite database with the cards of GOOD_FILE, and the environment to serve it."""
    smtp, sms = outbound
    env = {**KEYS, "GUICHET_EMAIL_URL": smtp.url, "GUICHET_SMS_URL": sms.url}
    env["GUICHET_ACS_NO_EPIN_POLICY"] = "sms_only"  # the imported cardholders have no ePin yet
    env["GUICHET_ACS_DS_URLS"] = "https://ds.example.test/"  # the DS the AReqs name
    env["GUICHET_EGRESS_ALLOW"] = "127.0.0.1"  # the test's gateways listen there
    cards = tmp_path / "cards.csv"
    cards.write_text(GOOD_FILE, encoding="utf-8")
    for args in (["migrate"], ["cards", "import", str(cards)]):
        assert run_guichet(tmp_path, *args, **env).returncode == 0
    return env


def _started(tmp_path: Path, env: dict[str, str], port: int, command: list[str]) -> subprocess.Popen[str]:
    """`command` (a server on `port`) started, once its /healthz answers 200."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", *command],
        env=clean_environ(tmp_path, **env, GUICHET_PUBLIC_URL=f"http://127.0.0.1:{port}"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its workers too can be stopped, whatever the test did
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            if _request(port, "GET", "/healthz")[0] == 200:
                return process
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{command[0]} did not start"
        time.sleep(0.2)


def _stopped(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


@pytest.fixture
def served(tmp_path: Path, outbound: Any) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    env = _prepared(tmp_path, outbound)
    port = free_port()
    command = ["guichet.cli", "serve", "--port", str(port), "--workers", "1", "--threads", "2"]
    process = _started(tmp_path, env, port, command)
    yield port, process
    _stopped(process)


def test_another_asgi_server_runs_the_module_level_application(tmp_path, outbound):
    # What ARCHITECTURE.md and the module's docstring promise: `uvicorn guichet.server.app:application`.
    env = _prepared(tmp_path, outbound)
    port = free_port()
    command = ["uvicorn", "guichet.server.app:application", "--host", "127.0.0.1", "--port", str(port)]
    process = _started(tmp_path, env, port, command)
    try:
        body = json.dumps(areq_220(acctNumber=PAN_A)).encode()
        status, headers, content = _request(
            port, "POST", "/3ds/areq", body, {"Content-Type": "application/json"}
        )
        assert (status, headers["content-type"]) == (200, "application/json")
        answer = json.loads(content)
        assert (answer["messageType"], answer["transStatus"]) == ("ARes", "C")
        status, headers, _ = _request(port, "GET", "/enrollment/")  # a page, through Django
        assert status == 200
        assert "csrftoken" in headers.get("set-cookie", "")
    finally:
        _stopped(process)


def test_serve_answers_the_areq_and_the_pages_and_logs_each_request_once(served):
    port, process = served
    body = json.dumps(areq_220(acctNumber=PAN_A)).encode()

    status, headers, content = _request(port, "POST", "/3ds/areq", body, {"Content-Type": "application/json"})
    answer = json.loads(content)
    assert (status, answer["messageType"], answer["transStatus"]) == (200, "ARes", "C")
    assert answer["acsURL"] == f"http://127.0.0.1:{port}/3ds/challenge"
    assert headers["content-type"] == "application/json"
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert "server" not in headers  # the server does not announce itself

    status, headers, content = _request(port, "GET", "/enrollment/?token=do-not-log")
    assert status == 200
    assert "csrftoken" in headers.get("set-cookie", "")
    assert "server" not in headers
    status, _, content = _request(port, "POST", "/3ds/areq", b"{", {"Content-Type": "application/json"})
    assert (status, json.loads(content)["errorCode"]) == (200, "101")

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    access = [line for line in output.splitlines() if line.startswith('127.0.0.1 "')]
    requests = [line.split(" ", 4)[1:4] for line in access if "/healthz" not in line]
    assert requests == [
        ['"POST', '/3ds/areq"', "200"],
        ['"GET', '/enrollment/"', "200"],
        ['"POST', '/3ds/areq"', "200"],
    ]
    assert all(line.endswith("ms") for line in access)
    assert "do-not-log" not in output
    assert PAN_A not in output
    assert "Traceback" not in output
    assert "Control socket" not in output  # gunicorn >= 25 would open one in $HOME


def test_a_worker_freezes_what_it_has_loaded_and_starts_delivery_only_when_asked(monkeypatch):
    started: list[DeliveryThread] = []
    monkeypatch.setattr(DeliveryThread, "start", lambda self: started.append(self))
    gc.unfreeze()
    try:
        worker_ready(deliver=False)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # Django and the application: out of the collector's reach
        assert started == []
        worker_ready(deliver=True)
        assert len(started) == 1
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
