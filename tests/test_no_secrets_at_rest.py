"""After a full run of the portal, no PAN, code or ePin is anywhere in the database or the logs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from guichet.codes.models import OneTimeCode
from guichet.delivery.worker import deliver_due
from guichet.issuer.cards.models import Cardholder
from tests.support.factories import make_cardholder, make_pan
from tests.support.fixtures import email_code, sms_code


def _token(secret: str) -> re.Pattern[str]:
    # Whole tokens only: a 4-digit ePin can occur inside a hex hash by chance, not as a token.
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])")


def _database_text() -> str:
    """Every value of every row of every table, as text; sessions decoded."""
    chunks: list[str] = []
    for model in apps.get_models():
        for row in model._default_manager.all().values_list():
            for value in row:
                if isinstance(value, bytes | memoryview):
                    data = bytes(value)
                    chunks.append(data.decode("latin-1"))
                    chunks.append(data.hex())
                else:
                    chunks.append(str(value))
    for session in Session.objects.all():
        chunks.append(repr(session.get_decoded()))
    return "\n".join(chunks)


def _enroll(client: Client, smtp, sms, holder: Cardholder, epin: str, seen: list[str]) -> None:
    assert client.post("/enrollment/", {"email": holder.email}).status_code == 302
    deliver_due()
    text = sms.to(holder.phone)[-1]["text"]
    body = smtp.to(holder.email)[-1].body
    seen += [sms_code(text), email_code(body)]
    nonce = client.get("/enrollment/verify/").context["nonce"]
    response = client.post(
        "/enrollment/verify/",
        {"sms_code": sms_code(text), "email_code": email_code(body), "nonce": nonce, "action": "verify"},
    )
    assert response.status_code == 302
    nonce = client.get("/enrollment/password/").context["nonce"]
    response = client.post("/enrollment/password/", {"epin": epin, "confirmation": epin, "nonce": nonce})
    assert response.status_code == 302


@pytest.mark.django_db
def test_no_pan_code_or_epin_in_clear_in_database_or_logs(outbound, clock, caplog):
    # given: a cardholder with two cards, logs captured at every level
    caplog.set_level(logging.DEBUG)
    smtp, sms = outbound
    pans = [make_pan(), make_pan("497072")]
    holder = make_cardholder(email="secret.scan@example.com", phone="+687751199", pans=pans)
    client = Client()
    codes: list[str] = []

    # when: first enrollment, failures up to a block, and a change of ePin
    _enroll(client, smtp, sms, holder, "8361", codes)
    client.post("/enrollment/logout/")
    clock.advance(seconds=31)
    assert client.post("/enrollment/", {"email": holder.email}).status_code == 302
    deliver_due()
    codes += [sms_code(sms.to(holder.phone)[-1]["text"]), email_code(smtp.to(holder.email)[-1].body)]
    for _ in range(5):
        nonce = client.get("/enrollment/verify/").context["nonce"]
        client.post(
            "/enrollment/verify/",
            {"sms_code": "00000000", "email_code": "zzzzz", "nonce": nonce, "action": "verify"},
        )
    deliver_due()
    clock.advance(seconds=16 * 60)
    client = Client()
    _enroll(client, smtp, sms, holder, "5927", codes)

    # then: the flow really ran (codes were used, the block alert went out)
    assert len(codes) == 6
    assert OneTimeCode.objects.filter(consumed_at__isnull=False).count() == 4
    assert [m.subject for m in smtp.to(holder.email)].count(
        "Banque Corail - accès temporairement bloqué"
    ) == 1
    holder.refresh_from_db()
    assert holder.epin_hash

    # and no secret appears in the database, decoded sessions included
    everything = _database_text()
    for secret in [*pans, *codes, "8361", "5927"]:
        assert not _token(secret).search(everything), f"secret found in the database: {secret[:2]}…"
    # nor in any log line
    # (the test's own SMTP server, aiosmtpd's "mail.log", logs what it receives: it is the recipient)
    logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "delivered sms" in logs
    for secret in [*pans, *codes, "8361", "5927"]:
        assert not _token(secret).search(logs), f"secret found in the logs: {secret[:2]}…"


@pytest.mark.django_db(transaction=True)
def test_sqlite_file_holds_no_pan_or_sms_code(outbound, clock):
    if connection.vendor != "sqlite":
        pytest.skip("raw file scan applies to the embedded SQLite database")
    # given
    smtp, sms = outbound
    pan = make_pan()
    holder = make_cardholder(email="raw.scan@example.com", phone="+687751188", pans=[pan])
    client = Client()
    codes: list[str] = []
    # when
    _enroll(client, smtp, sms, holder, "7140", codes)
    # then: the raw bytes of the database files (main file and write-ahead log)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(FULL)")
    name = Path(connection.settings_dict["NAME"])
    raw = b"".join(p.read_bytes() for p in (name, Path(f"{name}-wal")) if p.exists())
    assert raw
    assert pan.encode() not in raw
    assert codes[0].encode() not in raw
