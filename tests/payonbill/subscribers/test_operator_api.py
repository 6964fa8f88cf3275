"""GET /api/operator/v1/bill-lines: its own keys (`guichet billing key`), pages by cursor, its document."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.payonbill.subscribers.models import OperatorApiKey
from guichet.payonbill.subscribers.operator_keys import operator_key_add, operator_key_revoke
from guichet.payonbill.subscribers.operator_openapi import ERROR_CODES
from tests.payonbill.merchants.conftest import make_merchant
from tests.payonbill.subscribers.billfeed_support import charge, in_period
from tests.payonbill.subscribers.factories import make_contract
from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db
URL = "/api/operator/v1/bill-lines"


@pytest.fixture
def in_process(settings):
    settings.LOGGING_CONFIG = None  # `guichet` calls django.setup() again


@pytest.fixture
def key() -> str:
    return operator_key_add(name="facturation")[1]


def get(key: str | None, **query: str) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = Client().get(URL, query, headers=headers)
    return response.status_code, response.json()


def five_lines() -> None:
    contract = make_contract(number="C000001")
    for n in range(1, 6):
        charge(contract, f"pay_{n}", 100 * n, in_period("2026-11", day=n))


def test_key_add_prints_the_key_once_and_stores_only_its_hash(capsys, in_process):
    # when
    assert main(["billing", "key", "add", "--name", "SI facturation", "--json"]) == 0
    # then
    printed = json.loads(capsys.readouterr().out)
    stored = OperatorApiKey.objects.get()
    assert printed == {"name": "SI facturation", "prefix": stored.prefix, "api_key": printed["api_key"]}
    assert re.fullmatch(r"ok_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", printed["api_key"])
    assert printed["api_key"].startswith(stored.prefix + "_")
    assert printed["api_key"] not in (stored.key_hash, stored.prefix)
    assert AuditEvent.objects.filter(event="subscribers:operator_key:created").count() == 1
    # and the key reads the feed, in answers no cache keeps
    response = Client().get(URL, headers={"Authorization": f"Bearer {printed['api_key']}"})
    assert (response.status_code, response["Cache-Control"]) == (200, "no-store")


def test_key_revoke_stops_the_key(capsys, in_process, key):
    prefix = OperatorApiKey.objects.get().prefix
    assert main(["billing", "key", "revoke", prefix]) == 0
    assert capsys.readouterr().out == f"operator API key {prefix} (facturation) revoked\n"
    assert get(key) == (
        401,
        {
            "error": {
                "code": "invalid_api_key",
                "message": "this operator API key is unknown or revoked.",
                "field": None,
            }
        },
    )
    assert main(["billing", "key", "revoke", "ok_00000000"]) == 1


def test_a_merchant_key_does_not_open_the_operator_api():
    merchant_key = make_merchant().api_key
    assert get(merchant_key)[0] == 401
    assert get(None)[1]["error"]["code"] == "missing_api_key"
    assert AuditEvent.objects.filter(event="subscribers:operator_key:rejected").count() == 1


def test_pages_follow_the_cursor_without_skip_or_repeat(key):
    # given five lines
    five_lines()
    # when reading two at a time
    status, first = get(key, limit="2")
    _, second = get(key, after=first["next_cursor"], limit="2")
    _, third = get(key, after=second["next_cursor"], limit="2")
    _, empty = get(key, after=third["next_cursor"], limit="2")
    # then
    assert status == 200
    assert [[line["payment_id"] for line in page["data"]] for page in (first, second, third, empty)] == [
        ["pay_1", "pay_2"],
        ["pay_3", "pay_4"],
        ["pay_5"],
        [],
    ]
    assert [(p["next_cursor"], p["has_more"]) for p in (first, second, third, empty)] == [
        ("2", True),
        ("4", True),
        ("5", False),
        ("5", False),
    ]
    assert first["data"][0] == {
        "line_id": 1,
        "period": "2026-11",
        "contract": "C000001",
        "kind": "charge",
        "at": "2026-11-01T13:00:00+01:00",
        "payment_id": "pay_1",
        "merchant_id": 7,
        "merchant": "EDITEUR",
        "product": "PANIER EDITEUR",
        "amount": 100,
        "currency": "EUR",
        "vat_rate": None,
        "vat_amount": None,
    }


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"after": "-1"}, "after", "after must be a cursor this API gave."),
        ({"after": "abc"}, "after", "after must be a cursor this API gave."),
        ({"after": "1" * 19}, "after", "after must be a cursor this API gave."),
        ({"limit": "0"}, "limit", "limit must be a whole number from 1 to 1000."),
        ({"limit": "1001"}, "limit", "limit must be a whole number from 1 to 1000."),
        ({"limit": "²"}, "limit", "limit must be a whole number from 1 to 1000."),
    ],
)
def test_bad_parameters_are_a_clear_400(key, query, field, message):
    assert get(key, **query) == (
        400,
        {"error": {"code": "invalid_parameter", "message": message, "field": field}},
    )


def test_only_get_is_allowed(key):
    response = Client().post(URL, headers={"Authorization": f"Bearer {key}"})
    assert (response.status_code, response["Allow"]) == (405, "GET")


def test_the_document_describes_every_route():
    document = Client().get("/api/operator/v1/openapi.json").json()
    routes = {
        "/" + str(p.pattern)
        for r in get_resolver().url_patterns
        if str(getattr(r, "pattern", "")) == "api/operator/v1/"
        for p in r.url_patterns  # type: ignore[union-attr]
        if isinstance(p, URLPattern)
    }
    assert routes == set(document["paths"]) == {"/bill-lines", "/openapi.json"}
    text = json.dumps(document)
    assert set(re.findall(r'"#/components/schemas/([A-Za-z0-9]+)"', text)) <= set(
        document["components"]["schemas"]
    )
    assert document["components"]["securitySchemes"]["operatorKey"]["scheme"] == "bearer"


def test_a_revoked_key_made_by_the_service_is_refused(key):
    operator_key_revoke(prefix=OperatorApiKey.objects.get().prefix)
    assert get(key)[0] == 401


def test_wrong_keys_from_one_address_are_throttled_yet_a_valid_key_is_served(settings, key):
    # given a limit of two wrong keys per window
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        merchants=dataclasses.replace(settings.GUICHET.merchants, api_key_failure_limit=2),
    )
    # when a third wrong key comes from the same address
    statuses = [get("ok_00000000_wrong")[0] for _ in range(3)]
    response = Client().get(URL, headers={"Authorization": "Bearer ok_00000000_wrong"})
    # then
    assert statuses == [401, 401, 429]
    assert (response.status_code, response["Retry-After"]) == (429, "600")
    assert response.json()["error"]["code"] == "too_many_failed_authentications"
    assert get(key)[0] == 200
    assert AuditEvent.objects.filter(event="subscribers:operator_key:rejected").count() == 2


def test_the_document_lists_the_codes_the_view_answers():
    # every `_error(status, "code", ...)` of the view, and what the middleware answers for /api/
    source = (ROOT / "guichet/payonbill/subscribers/operator_views.py").read_text(encoding="utf-8")
    raised = {(int(s), c) for s, c in re.findall(r'_error\(\s*(\d{3}),\s*"([a-z_]+)"', source)}
    raised |= {(400, "invalid_character"), (400, "invalid_request"), (503, "database_unavailable")}
    documented = {(status, code) for status, (_, codes) in ERROR_CODES.items() for code in codes}
    assert raised == documented
