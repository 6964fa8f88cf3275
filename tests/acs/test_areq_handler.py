"""guichet.wsgi sends exactly POST /3ds/areq to a handler with less middleware: same answer, same headers."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections

from guichet import wsgi
from guichet.acs import services
from guichet.acs.models import AcsMessage, AcsTransaction
from guichet.audit.models import AuditEvent
from tests.acs.support import ACS_TRANS_ID, VISA_PAN, areq_220, enrolled_holder

pytestmark = pytest.mark.django_db


def call(
    method: str, path: str, body: bytes = b"", host: str = "testserver"
) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": host, "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }  # fmt: skip
    started: list[tuple[str, list[tuple[str, str]]]] = []
    # As Django's test client does: the handlers must not close the test's database connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = wsgi.application(
            environ, lambda status, headers, exc_info=None: started.append((status, headers))
        )
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    status, headers = started[0]
    return status, dict(headers), content


@pytest.fixture
def fixed_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "new_acs_trans_id", lambda: ACS_TRANS_ID)


def test_the_areq_takes_the_short_handler_and_answers_as_the_full_stack_does(client, fixed_id, monkeypatch):
    enrolled_holder(VISA_PAN)
    body = json.dumps(areq_220(acctNumber=VISA_PAN)).encode()
    full = client.post("/3ds/areq", data=body, content_type="application/json")
    AcsTransaction.objects.all().delete()
    AuditEvent.objects.all().delete()
    full_chain = []
    monkeypatch.setattr(wsgi, "django_application", lambda *a: full_chain.append(a) or [])

    status, headers, content = call("POST", "/3ds/areq", body)

    assert full_chain == []
    assert status == "200 OK"
    assert json.loads(content) == json.loads(full.content)
    assert json.loads(content)["transStatus"] == "C"
    assert headers == dict(full.headers.items())
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert (headers["X-Frame-Options"], headers["X-Content-Type-Options"]) == ("DENY", "nosniff")
    tx = AcsTransaction.objects.get()
    assert str(tx.acs_trans_id) == ACS_TRANS_ID
    assert AcsMessage.objects.filter(transaction=tx).count() == 2
    audit = AuditEvent.objects.get(event="acs:areq:answered")
    assert (audit.subject, audit.ip) == (ACS_TRANS_ID, "192.0.2.7")


def test_a_host_outside_allowed_hosts_is_refused_before_anything_is_stored(settings):
    enrolled_holder(VISA_PAN)
    settings.ALLOWED_HOSTS = ["acs.bank.example"]
    status, _, _ = call(
        "POST", "/3ds/areq", json.dumps(areq_220(acctNumber=VISA_PAN)).encode(), host="evil.example"
    )
    assert status.startswith("400")
    assert AcsTransaction.objects.count() == 0
    assert AuditEvent.objects.filter(event__startswith="acs:areq").count() == 0


def test_other_methods_and_paths_take_the_full_stack(monkeypatch):
    monkeypatch.setattr(wsgi, "areq_application", lambda *a: pytest.fail("short handler used"))
    assert call("GET", "/3ds/areq")[0].startswith("405")
    status, headers, content = call("GET", "/healthz")
    assert status == "200 OK"
    assert json.loads(content)["status"] == "ok"
    assert "Content-Security-Policy" in headers
