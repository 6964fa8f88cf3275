"""`guichet worker` as its own process: it delivers what the web process wrote, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_enqueue_email, outbox_enqueue_sms
from tests.support.fixtures import email_code, sms_code
from tests.support.paths import ROOT


def _test_database_url() -> str:
    """The database this test runs on, as GUICHET_DATABASE_URL, for the worker to share it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        assert Path(name).is_absolute(), f"the worker cannot share an in-memory database: {name}"
        return f"sqlite:///{name}"
    user = quote(str(db["USER"] or ""), safe="")
    password = quote(str(db["PASSWORD"] or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgresql://{auth}{db['HOST'] or ''}{port}/{quote(str(db['NAME']), safe='')}"


def _wait_until_sent(message: OutboxMessage, timeout: float = 20) -> OutboxMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = OutboxMessage.objects.get(seq=message.seq)
        if row.status == OutboxMessage.Status.SENT:
            return row
        time.sleep(0.05)
    raise AssertionError(f"message #{message.seq} not marked sent within {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_worker_process_delivers_the_outbox_and_exits_0_on_sigterm(outbound):
    # given: an SMS already in the outbox, and a worker process on the same database and peers
    smtp, sms = outbound
    brand = settings.GUICHET.branding
    number, address = "+687757777", "alice@example.com"
    first = outbox_enqueue_sms(
        to=number, template="enrollment_code", language="fr", context={"code": "70007001", "brand": brand}
    )
    env = {
        **os.environ,
        "GUICHET_MODE": "test",
        "GUICHET_DATA_DIR": str(settings.GUICHET.data_dir),
        "GUICHET_DATABASE_URL": _test_database_url(),
        "GUICHET_EMAIL_URL": smtp.url,
        "GUICHET_SMS_URL": sms.url,
        "GUICHET_SMS_TOKEN": "test-token",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "guichet.cli", "worker", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # when: the worker runs; a second message is written while it is running
        [received_sms] = sms.wait_for(number, 1, timeout=30)
        sent_first = _wait_until_sent(first)
        second = outbox_enqueue_email(
            to=address,
            template="enrollment_code",
            language="fr",
            context={"code": "Wq3e4", "brand": brand, "name": "Alice"},
        )
        [received_email] = smtp.wait_for(address, 1, timeout=20)
        sent_second = _wait_until_sent(second)
        still_running = worker.poll() is None
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            _, stderr = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, stderr = worker.communicate()

    # then: both arrived once, were marked sent by the worker, and SIGTERM stopped it cleanly
    assert still_running
    assert worker.returncode == 0, stderr
    assert "guichet worker: delivering the outbox" in stderr
    assert received_sms["id"] == str(first.message_id)
    assert sms_code(received_sms["text"]) == "70007001"
    assert email_code(received_email.body) == "Wq3e4"
    assert received_email.message_id.endswith(f".{second.message_id}@guichet>")
    assert (sent_first.attempts, sent_second.attempts) == (1, 1)
    assert len(sms.state.received) == 1
    assert len(smtp.received) == 1
    assert "Traceback" not in stderr
