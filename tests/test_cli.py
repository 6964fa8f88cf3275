"""The `guichet` command (docs/operating.md): exit status, messages, and what it leaves in the database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import card_find, card_pan
from tests.support.paths import ROOT

KEYS = {
    "GUICHET_SECRET_KEY": "k" * 50,
    "GUICHET_HMAC_KEY": "12" * 32,
    "GUICHET_DATA_KEY": "34" * 32,
}
PAN_A = "4970109382716451"
PAN_B = "4970100000000014"
PAN_C = "4970100000000022"
BAD_LUHN = "4970100000000015"
GOOD_FILE = (
    "pan,expiry,email,phone,name\n"
    f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat\n"
    f"{PAN_B},3001,marie@example.com,+687751123,Marie Kafeat\n"
    f"{PAN_C},2807,paul@example.com,+687762245,Paul Wamytan\n"
)


def clean_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any Guichet or Django setting, plus `extra`."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("GUICHET_", "DJANGO_")) and k != "PYTHONPATH"
    }
    environ["PYTHONPATH"] = str(ROOT)  # the code under test, even if another copy is installed
    environ["GUICHET_DATA_DIR"] = str(tmp_path / "data")
    environ.update(extra)
    return environ


def run_guichet(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "guichet.cli", *args],
        env=clean_environ(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def in_process(settings):
    # `guichet` calls django.setup() again; keep it from re-pointing logging at the captured streams.
    settings.LOGGING_CONFIG = None


def test_serve_refuses_to_start_without_keys(tmp_path):
    # when: a production start with no key at all (GUICHET_MODE unset means serve)
    result = run_guichet(tmp_path, "serve", "--port", "1")
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("guichet: configuration error: missing required key(s): ")
    for name in ("GUICHET_SECRET_KEY", "GUICHET_HMAC_KEY", "GUICHET_DATA_KEY"):
        assert name in result.stderr
    assert not (tmp_path / "data" / "demo-keys.env").exists()


@pytest.mark.parametrize(
    ("outbound", "missing"),
    [
        pytest.param({}, ["GUICHET_EMAIL_URL", "GUICHET_SMS_URL"], id="neither"),
        pytest.param({"GUICHET_EMAIL_URL": "smtp://127.0.0.1:1"}, ["GUICHET_SMS_URL"], id="no-sms"),
        pytest.param({"GUICHET_SMS_URL": "http://127.0.0.1:1/sms"}, ["GUICHET_EMAIL_URL"], id="no-email"),
    ],
)
def test_serve_refuses_to_start_without_somewhere_to_send_codes(tmp_path, outbound, missing):
    # when: keys are there, but codes could not reach anyone
    result = run_guichet(
        tmp_path, "serve", "--port", "1", **KEYS, GUICHET_EGRESS_ALLOW="127.0.0.1", **outbound
    )
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"guichet: {', '.join(missing)} not set: ")
    for name in {"GUICHET_EMAIL_URL", "GUICHET_SMS_URL"} - set(missing):
        assert name not in result.stderr


def test_serve_refuses_to_start_with_an_sms_gateway_the_egress_policy_refuses(tmp_path):
    # when: the gateway is on loopback, which production does not reach unless told
    result = run_guichet(
        tmp_path,
        "serve",
        "--port",
        "1",
        **KEYS,
        GUICHET_EMAIL_URL="smtp://127.0.0.1:1",
        GUICHET_SMS_URL="http://127.1:1/sms",
    )
    # then
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "guichet: configuration error: GUICHET_SMS_URL is refused by the egress policy: "
        "loopback address 127.0.0.1 (not in GUICHET_EGRESS_ALLOW)\n"
    )


def test_serve_reports_a_bad_key_by_name(tmp_path):
    # when: 32 characters, read as base64, are 24 bytes: not an AES-256 key
    result = run_guichet(tmp_path, "serve", **{**KEYS, "GUICHET_DATA_KEY": "34" * 16})
    # then
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "guichet: configuration error: GUICHET_DATA_KEY must be 32 bytes (64 hex digits), got 24 bytes\n"
    )


def test_migrate_creates_a_fresh_sqlite_database_then_import_stores_no_clear_pan(tmp_path):
    # given
    database = tmp_path / "db" / "x.sqlite3"
    url = f"sqlite:///{database}"
    card_file = tmp_path / "cards.csv"
    card_file.write_text(GOOD_FILE, encoding="utf-8")
    # when
    first = run_guichet(tmp_path, "migrate", GUICHET_DATABASE_URL=url, **KEYS)
    second = run_guichet(tmp_path, "migrate", GUICHET_DATABASE_URL=url, **KEYS)
    imported = run_guichet(tmp_path, "cards", "import", str(card_file), GUICHET_DATABASE_URL=url, **KEYS)
    # then
    assert (first.returncode, first.stderr) == (0, "")
    assert "Applying cards.0001_initial... OK" in first.stdout
    assert (second.returncode, second.stderr) == (0, "")
    assert "No migrations to apply." in second.stdout
    assert (imported.returncode, imported.stderr) == (0, "")
    assert imported.stdout == "cardholders: 2 created, 0 updated; cards: 3 created, 0 updated, 0 unchanged\n"
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        card_rows = db.execute("SELECT first6, last4 FROM cards_card ORDER BY id").fetchall()
    assert {"cards_card", "cards_cardholder", "audit_auditevent", "delivery_outboxmessage"} <= tables
    assert card_rows == [("497010", "6451"), ("497010", "0014"), ("497010", "0022")]
    # no byte sequence of any PAN anywhere in the database files
    stored = b"".join(p.read_bytes() for p in database.parent.iterdir())
    assert b"marie@example.com" in stored
    for pan in (PAN_A, PAN_B, PAN_C):
        assert pan.encode() not in stored
        assert pan[6:].encode() not in stored


@pytest.mark.django_db
def test_cards_import_prints_the_counts(tmp_path, capsys, in_process):
    # given
    card_file = tmp_path / "cards.csv"
    card_file.write_text(GOOD_FILE, encoding="utf-8")
    # when
    first = main(["cards", "import", str(card_file)])
    first_out = capsys.readouterr()
    second = main(["cards", "import", str(card_file)])
    second_out = capsys.readouterr()
    # then
    assert first == 0
    assert first_out.out == "cardholders: 2 created, 0 updated; cards: 3 created, 0 updated, 0 unchanged\n"
    assert first_out.err == ""
    assert second == 0
    assert second_out.out == "cardholders: 0 created, 0 updated; cards: 0 created, 0 updated, 3 unchanged\n"
    assert second_out.err == ""
    assert (Cardholder.objects.count(), Card.objects.count()) == (2, 3)
    card = card_find(pan=PAN_C)
    assert card is not None
    assert card_pan(card) == PAN_C
    assert [e.subject for e in AuditEvent.objects.filter(event="cards:file:import")] == ["cards.csv"] * 2


@pytest.mark.django_db
def test_cards_import_of_a_bad_file_lists_every_error_and_imports_nothing(tmp_path, capsys, in_process):
    # given
    card_file = tmp_path / "cards.csv"
    card_file.write_text(
        "pan,expiry,email,phone,name\n"
        f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat\n"
        f"{BAD_LUHN},2912,paul@example.com,+687762245,Paul Wamytan\n"
        f"{PAN_C},2900,paul@example.com,+687762245,Paul Wamytan\n"
        f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat\n"
        f"{PAN_B},2912,jean@example.com\n",
        encoding="utf-8",
    )
    # when
    status = main(["cards", "import", str(card_file)])
    out = capsys.readouterr()
    # then
    assert status == 1
    assert out.out == ""
    assert out.err.splitlines() == [
        "cards.csv:3: pan: fails the Luhn check",
        "cards.csv:4: expiry: must be YYMM with a month from 01 to 12",
        "cards.csv:5: pan: same card as line 2",
        "cards.csv:6: expected 5 fields, found 3",
        "guichet: 4 error(s); nothing was imported",
    ]
    for pan in (PAN_A, PAN_B, PAN_C, BAD_LUHN):
        assert pan not in out.err
    assert (Cardholder.objects.count(), Card.objects.count()) == (0, 0)
    [event] = AuditEvent.objects.filter(event="cards:file:import")
    assert (event.outcome, event.detail) == ("refused", {"errors": 4})


@pytest.mark.django_db
def test_cards_import_of_a_missing_file_fails_with_a_message(tmp_path, capsys, in_process):
    # given
    missing = tmp_path / "nowhere.csv"
    # when
    status = main(["cards", "import", str(missing)])
    out = capsys.readouterr()
    # then
    assert status == 1
    assert out.out == ""
    assert out.err == f"guichet: cannot read {missing}: No such file or directory\n"
    assert (Cardholder.objects.count(), Card.objects.count()) == (0, 0)
    assert not AuditEvent.objects.exists()


def test_a_command_is_required(capsys):
    # when
    with pytest.raises(SystemExit) as raised:
        main([])
    # then
    assert raised.value.code == 2
    assert "usage: guichet" in capsys.readouterr().err


def test_cards_import_requires_a_file(capsys):
    # when
    with pytest.raises(SystemExit) as raised:
        main(["cards", "import"])
    # then
    assert raised.value.code == 2
    assert "the following arguments are required: file" in capsys.readouterr().err
