"""`guichet cards key add|revoke|list`: the key printed once, stored hashed, revoked by its prefix."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.issuer.cards.models import IssuerApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(settings):
    settings.LOGGING_CONFIG = None


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["cards", "key", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_add_prints_the_key_once_and_it_works_until_revoked(capsys, in_process) -> None:
    status, out, err = run(capsys, "add", "--name", "core banking", "--json")
    assert (status, err) == (0, "")
    printed = json.loads(out)
    key = IssuerApiKey.objects.get()
    assert printed == {"prefix": key.prefix, "name": "core banking", "api_key": printed["api_key"]}
    assert printed["api_key"].startswith("gi_")
    assert printed["api_key"] not in (key.key_hash, key.prefix)
    headers = {"Authorization": f"Bearer {printed['api_key']}"}
    assert Client().get("/api/issuer/v1/cards/K-1", headers=headers).status_code == 404  # authenticated

    status, out, err = run(capsys, "revoke", key.prefix)
    assert (status, out, err) == (0, f"issuer API key {key.prefix} (core banking) revoked\n", "")
    assert Client().get("/api/issuer/v1/cards/K-1", headers=headers).status_code == 401
    status, out, _ = run(capsys, "list")
    assert out.startswith(f"{key.prefix}\tcore banking\trevoked\t")
    assert [e.event for e in AuditEvent.objects.filter(event__startswith="cards:key:").order_by("id")] == [
        "cards:key:created",
        "cards:key:revoked",
        "cards:key:rejected",
    ]


def test_revoking_an_unknown_key_fails(capsys, in_process) -> None:
    assert run(capsys, "revoke", "gi_00000000") == (1, "", "guichet: no issuer API key gi_00000000\n")


def test_a_key_needs_a_name(capsys, in_process) -> None:
    status, _, err = run(capsys, "add", "--name", "  ")
    assert (status, err) == (1, "guichet: key not created: the name must have 1 to 100 characters\n")
    assert IssuerApiKey.objects.count() == 0
