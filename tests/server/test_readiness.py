"""/healthz is liveness, /readyz readiness (database reachable and fully migrated); `guichet serve`
refuses a database it cannot serve from; a database that cannot be reached gives 503s, not 500s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from tests.payonbill.merchants.conftest import make_merchant
from tests.test_cli import KEYS, run_guichet

SERVE_ENV = {
    **KEYS,
    "GUICHET_EMAIL_URL": "smtp://127.0.0.1:2525",
    "GUICHET_SMS_URL": "http://127.0.0.1:9/sms",
    "GUICHET_EGRESS_ALLOW": "127.0.0.1",  # the gateways above are the machine's own
}


@pytest.mark.django_db
def test_readyz_on_a_migrated_database() -> None:
    response = Client().get("/readyz")
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ready", "database": "ok", "migrations": "applied"},
    )


@pytest.mark.django_db
def test_readyz_fails_while_a_migration_is_not_applied() -> None:
    last = MigrationRecorder(connection).migration_qs.filter(app="merchants").order_by("-name").first()
    assert last is not None
    last.delete()  # as if the code were newer than the database (rolled back after the test)
    response = Client().get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {
            "status": "unavailable",
            "database": "ok",
            "migrations": "pending",
            "pending": [f"merchants.{last.name}"],
        },
    )
    assert Client().get("/healthz").status_code == 200  # alive all the same


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError('connection to server at "db.invalid" failed: Name or service not known')

    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", refuse)
        yield


@pytest.mark.django_db
def test_a_database_that_cannot_be_reached_gives_503s(database_down: None) -> None:
    client = Client(raise_request_exception=False)
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "unavailable", "database": "down", "migrations": "unknown"},
    )
    assert client.get("/healthz").status_code == 503
    api = client.get("/api/v1/payments", headers={"Authorization": "Bearer gk_00000000_x"})
    assert (api.status_code, api["Retry-After"], api["Content-Type"]) == (503, "5", "application/json")
    assert api.json() == {
        "error": {
            "code": "database_unavailable",
            "message": "the database cannot be reached; nothing was changed: retry later.",
            "field": None,
        }
    }
    page = client.get("/pay/pay_x1/")
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert "Le service est momentanément indisponible" in page.content.decode()


@pytest.mark.django_db
def test_the_api_is_served_again_once_the_database_is_back() -> None:
    merchant = make_merchant()
    response = Client().get("/api/v1/payments", headers={"Authorization": f"Bearer {merchant.api_key}"})
    assert (response.status_code, response.json()) == (
        200,
        {"data": [], "has_more": False, "next_cursor": None},
    )


def test_serve_refuses_a_database_without_its_migrations(tmp_path: Path) -> None:
    result = run_guichet(
        tmp_path, "serve", "--port", "1", GUICHET_DATABASE_URL="sqlite:///empty.sqlite3", **SERVE_ENV
    )
    assert result.returncode == 2
    assert "run `guichet migrate` first" in result.stderr
    assert "guichet: the database lacks " in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_database_it_cannot_reach(tmp_path: Path) -> None:
    url = "postgresql://guichet:secret@127.0.0.1:9/guichet"  # nothing listens on port 9
    result = run_guichet(tmp_path, "serve", "--port", "1", GUICHET_DATABASE_URL=url, **SERVE_ENV)
    assert result.returncode == 2
    assert result.stderr.startswith("guichet: the database cannot be reached (")
    assert "check GUICHET_DATABASE_URL (postgresql)" in result.stderr
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def wrong_database(django_db_blocker: Any, tmp_path: Path) -> Iterator[None]:
    """The default connection pointed somewhere no database answers, as a wrong GUICHET_DATABASE_URL
    does: PostgreSQL on a port nothing listens on, SQLite in a directory that does not exist."""
    saved = dict(connection.settings_dict)
    with django_db_blocker.unblock():
        connection.close()
        if connection.vendor == "postgresql":
            connection.settings_dict.update(HOST="127.0.0.1", PORT="9")
        else:
            connection.settings_dict["NAME"] = str(tmp_path / "missing" / "guichet.sqlite3")
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


def test_a_wrong_database_url_gives_503s_and_no_traceback(wrong_database: None, caplog: Any) -> None:
    client = Client(raise_request_exception=False)
    assert client.get("/readyz").json() == {
        "status": "unavailable",
        "database": "down",
        "migrations": "unknown",
    }
    api = client.get("/api/v1/payments", headers={"Authorization": "Bearer gk_00000000_x"})
    assert (api.status_code, api.json()["error"]["code"]) == (503, "database_unavailable")
    assert client.get("/pay/pay_x1/").status_code == 503
    assert (
        client.post("/api/v1/payments", b"{}", content_type="application/json").status_code == 401
    )  # no key
    assert "Traceback" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # one line each, no traceback


def test_the_worker_refuses_a_database_without_its_migrations_too(tmp_path: Path) -> None:
    result = run_guichet(tmp_path, "worker", GUICHET_DATABASE_URL="sqlite:///empty.sqlite3", **SERVE_ENV)
    assert result.returncode == 2
    assert "run `guichet migrate` first" in result.stderr
