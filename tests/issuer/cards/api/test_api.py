"""The issuer API: its own keys, each endpoint, idempotency, all or nothing, never a PAN in an answer."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
from guichet.issuer.cards.api.keys import issuer_key_revoke
from guichet.issuer.cards.models import Card, Cardholder, IssuerApiKey, IssuerIdempotencyRecord
from guichet.payonbill.merchants.accounts import merchant_create
from tests.issuer.cards.api.conftest import PAN_A, PAN_B, IssuerApi, holder_body

pytestmark = pytest.mark.django_db


def test_put_creates_the_cardholder_with_masked_cards_and_never_echoes_a_pan(api: IssuerApi, caplog):
    caplog.set_level(logging.DEBUG)
    response = api.call("PUT", "cardholders/C-1", holder_body())
    assert response.status_code == 201
    answer = response.json()
    generated = Card.objects.get(first6=PAN_B[:6], last4=PAN_B[-4:]).reference
    assert answer == {
        "reference": "C-1",
        "email": "marie@example.com",
        "name": "Marie Kafeat",
        "masked_phone": "xxxxxxx23",
        "phone_changed_at": None,
        "sms_hold_until": None,
        "cards": [
            {"reference": ref, "masked_pan": f"{pan[:6]}XXXXXX{pan[-4:]}", "expiry": expiry,
             "status": "active", "block_reason": None, "blocked_at": None,
             "cardholder": {"reference": "C-1", "masked_phone": "xxxxxxx23", "epin_set": False,
                            "epin_set_at": None, "sms_hold_until": None}}
            for ref, pan, expiry in (("K-1", PAN_A, "2912"), (generated, PAN_B, "3001"))
        ],
    }  # fmt: skip
    assert response["Cache-Control"] == "no-store"
    stored = json.dumps([[e.event, e.subject, e.detail] for e in AuditEvent.objects.all()])
    for pan in (PAN_A, PAN_B):
        assert pan not in response.content.decode()
        assert pan not in stored
        assert pan not in caplog.text
    event = AuditEvent.objects.get(event="cards:cardholder:created")
    assert event.detail["actor"] == f"api:{IssuerApiKey.objects.get().prefix}"


def test_put_again_updates_in_place_and_answers_200(api: IssuerApi):
    api.call("PUT", "cardholders/C-1", holder_body())
    response = api.call("PUT", "cardholders/C-1", holder_body(name="Marie Kafeat-Wamytan", cards=[]))
    assert response.status_code == 200
    assert response.json()["name"] == "Marie Kafeat-Wamytan"
    assert len(response.json()["cards"]) == 2  # cards not listed stay
    assert (Cardholder.objects.count(), Card.objects.count()) == (1, 2)


def test_a_bad_card_in_the_body_changes_nothing_and_does_not_quote_the_pan(api: IssuerApi):
    bad = "4970100000000001"  # fails Luhn
    body = holder_body(cards=[{"pan": PAN_A, "expiry": "2912"}, {"pan": bad, "expiry": "2912"}])
    response = api.call("PUT", "cardholders/C-1", body)
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_value",
            "message": "cards.1.pan: fails the Luhn check.",
            "field": "cards.1.pan",
        }
    }
    audited = AuditEvent.objects.filter(event__startswith="cards:cardholder").count()
    assert (Cardholder.objects.count(), Card.objects.count(), audited) == (0, 0, 0)


def test_a_schema_error_names_the_field_without_its_value(api: IssuerApi):
    response = api.call("PUT", "cardholders/C-1", holder_body(cards=[{"pan": "4970-1000", "expiry": "2912"}]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_format", "cards.0.pan")
    assert "4970-1000" not in response.content.decode()


def test_the_same_idempotency_key_and_body_replay_the_first_answer(api: IssuerApi):
    first = api.call("PUT", "cardholders/C-1", holder_body(), idempotency_key="k-1")
    again = api.call("PUT", "cardholders/C-1", holder_body(), idempotency_key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(event="cards:cardholder:created").count() == 1
    record = IssuerIdempotencyRecord.objects.get()
    assert PAN_A not in json.dumps(record.response)


def test_the_same_idempotency_key_with_another_body_is_422_and_changes_nothing(api: IssuerApi):
    api.call("PUT", "cardholders/C-1", holder_body(), idempotency_key="k-1")
    response = api.call("PUT", "cardholders/C-1", holder_body(name="Other"), idempotency_key="k-1")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert Cardholder.objects.get().name == "Marie Kafeat"


def test_a_refused_call_leaves_its_idempotency_key_free(api: IssuerApi):
    response = api.call("POST", "cards/K-404/block", {"reason": "lost"}, idempotency_key="k-2")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "card_not_found")
    assert IssuerIdempotencyRecord.objects.count() == 0


def test_block_then_unblock_through_the_api(api: IssuerApi):
    api.call("PUT", "cardholders/C-1", holder_body())
    blocked = api.call("POST", "cards/K-1/block", {"reason": "stolen", "note": "called the bank"})
    assert blocked.status_code == 200
    assert (blocked.json()["status"], blocked.json()["block_reason"]) == ("blocked", "stolen")
    assert blocked.json()["blocked_at"].endswith("Z")
    event = AuditEvent.objects.get(event="cards:card:blocked")
    assert event.detail["note"] == "called the bank"
    unblocked = api.call("POST", "cards/K-1/unblock")
    assert (unblocked.status_code, unblocked.json()["status"], unblocked.json()["block_reason"]) == (
        200,
        "active",
        None,
    )


def test_a_block_reason_outside_the_list_is_refused(api: IssuerApi):
    api.call("PUT", "cardholders/C-1", holder_body())
    response = api.call("POST", "cards/K-1/block", {"reason": "because"})
    assert (response.status_code, response.json()["error"]["field"]) == (422, "reason")
    assert Card.objects.get(reference="K-1").status == "active"


def test_the_phone_change_holds_sms_and_sends_the_alert(api: IssuerApi):
    api.call("PUT", "cardholders/C-1", holder_body())
    response = api.call("PUT", "cardholders/C-1/phone", {"phone": "+687700001", "hold_hours": 48})
    assert response.status_code == 200
    answer = response.json()
    assert answer["masked_phone"] == "xxxxxxx01"
    holder = Cardholder.objects.get()
    assert holder.sms_hold_until is not None
    assert answer["sms_hold_until"] == holder.sms_hold_until.isoformat().replace("+00:00", "Z")
    assert answer["cards"][0]["cardholder"]["sms_hold_until"] == answer["sms_hold_until"]
    message = OutboxMessage.objects.get()
    assert (message.channel, message.recipient, message.template) == (
        "email",
        "marie@example.com",
        "cards_phone_changed",
    )
    assert OutboxMessage.objects.filter(channel="sms").count() == 0


def test_the_phone_of_an_unknown_cardholder_is_404(api: IssuerApi):
    response = api.call("PUT", "cardholders/C-404/phone", {"phone": "+687700001"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "cardholder_not_found")


def test_a_card_is_read_masked_and_found_by_its_pan_in_a_body(api: IssuerApi):
    api.call("PUT", "cardholders/C-1", holder_body())
    read = api.call("GET", "cards/K-1")
    found = api.call("POST", "cards/search", {"pan": PAN_A})
    assert (read.status_code, found.status_code) == (200, 200)
    assert read.json() == found.json()
    assert read.json()["masked_pan"] == f"{PAN_A[:6]}XXXXXX{PAN_A[-4:]}"
    assert PAN_A not in found.content.decode()
    missing = api.call("POST", "cards/search", {"pan": "4970100000000006"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "card_not_found")


def test_a_reference_with_other_characters_is_400(api: IssuerApi):
    response = api.call("GET", "cards/K%201")
    assert (response.status_code, response.json()["error"]["field"]) == (400, "card_ref")


# --- keys ---------------------------------------------------------------------------------------


def test_without_a_key_or_with_a_revoked_one_it_is_401(api: IssuerApi, issuer_key: str):
    assert api.call("GET", "cards/K-1", key="").status_code == 401
    issuer_key_revoke(prefix=issuer_key[:11])
    response = api.call("GET", "cards/K-1")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_api_key")
    assert AuditEvent.objects.get(event="cards:key:rejected").detail == {"reason": "revoked"}


def test_a_merchant_key_is_refused_by_the_issuer_api_and_an_issuer_key_by_the_merchant_api(
    api: IssuerApi, issuer_key: str
):
    merchant = merchant_create(name="Shop", notification_url="https://shop.example/hook")
    on_issuer = api.call("GET", "cards/K-1", key=merchant.api_key)
    assert (on_issuer.status_code, on_issuer.json()["error"]["code"]) == (401, "invalid_api_key")
    on_merchant = Client().get("/api/v1/payments", headers={"Authorization": f"Bearer {issuer_key}"})
    assert (on_merchant.status_code, on_merchant.json()["error"]["code"]) == (401, "invalid_api_key")
    # and each works on its own API
    assert (
        Client().get("/api/v1/payments", headers={"Authorization": f"Bearer {merchant.api_key}"}).status_code
        == 200
    )
    assert api.call("GET", "cards/K-1").status_code == 404


def test_the_key_is_stored_as_a_keyed_hash_only(issuer_key: str):
    key = IssuerApiKey.objects.get()
    assert issuer_key.startswith(f"{key.prefix}_")
    assert issuer_key not in (key.key_hash, key.prefix)


def test_the_openapi_document_is_served_without_a_key():
    response = Client().get("/api/issuer/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["servers"] == [{"url": "/api/issuer/v1"}]
    assert sorted(document["paths"]) == [
        "/cardholders/{ref}", "/cardholders/{ref}/phone", "/cards/search", "/cards/{card_ref}",
        "/cards/{card_ref}/block", "/cards/{card_ref}/unblock", "/openapi.json",
    ]  # fmt: skip


def test_past_twenty_wrong_keys_from_one_address_it_is_429_and_a_valid_key_still_works(api: IssuerApi):
    answers = [api.call("GET", "cards/K-1", key=f"gi_wrong{n}").status_code for n in range(21)]
    assert answers == [401] * 20 + [429]
    throttled = api.call("GET", "cards/K-1", key="gi_wrong")
    assert (throttled.status_code, throttled["Retry-After"]) == (429, "600")
    assert AuditEvent.objects.filter(event="cards:key:rejected").count() == 20
    assert api.call("GET", "cards/K-1").status_code == 404  # the right key: authenticated


def test_two_calls_creating_the_same_card_at_once_get_409_concurrent_change(api: IssuerApi, monkeypatch):
    from django.db import IntegrityError

    from guichet.issuer.cards import lifecycle

    def clash(**kwargs: object) -> None:
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(lifecycle, "cardholder_upsert", clash)
    response = api.call("PUT", "cardholders/C-1", holder_body())
    assert (response.status_code, response.json()["error"]["code"]) == (409, "concurrent_change")


def test_an_operator_key_is_refused_by_the_issuer_api_and_an_issuer_key_by_the_operator_api(
    api: IssuerApi, issuer_key: str
):
    from guichet.payonbill.subscribers.operator_keys import operator_key_add

    _key, operator_key = operator_key_add(name="billing")
    on_issuer = api.call("GET", "cards/K-1", key=operator_key)
    assert (on_issuer.status_code, on_issuer.json()["error"]["code"]) == (401, "invalid_api_key")
    on_operator = Client().get(
        "/api/operator/v1/bill-lines", headers={"Authorization": f"Bearer {issuer_key}"}
    )
    assert on_operator.status_code == 401
