"""The ACS services the challenge and the RReq build on, the card ranges, and the back-office."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from guichet.issuer.acs import services
from guichet.issuer.acs import store as acs_store
from guichet.issuer.acs.authvalue import Method, algorithm_for
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.services import (
    acs_card_ranges,
    acs_challenge_contact,
    acs_message_log,
    acs_outcome,
    acs_transaction_get,
)
from guichet.issuer.cards.models import Card
from tests.issuer.acs.support import MASTERCARD_PAN, VISA_PAN, areq_210, areq_220, enrolled_holder, post_areq

pytestmark = pytest.mark.django_db


def challenged(client: Any, pan: str = VISA_PAN, **changes: Any) -> AcsTransaction:
    enrolled_holder(pan)
    answer = post_areq(client, areq_220(acctNumber=pan, purchaseCurrency="978", **changes))
    assert answer["transStatus"] == "C"
    tx = acs_transaction_get(acs_trans_id=answer["acsTransID"])
    assert tx is not None
    return tx


def test_transaction_get_by_string_or_uuid_and_none_when_unknown(client):
    tx = challenged(client)
    assert acs_transaction_get(acs_trans_id=str(tx.pk)) == tx
    assert acs_transaction_get(acs_trans_id=tx.pk) == tx
    assert acs_transaction_get(acs_trans_id=str(tx.pk).upper()) == tx
    assert acs_transaction_get(acs_trans_id=uuid.uuid4()) is None
    assert acs_transaction_get(acs_trans_id="not-a-uuid") is None
    assert acs_transaction_get(acs_trans_id="") is None


def test_transaction_get_for_update_locks_inside_atomic(client):
    from django.db import transaction

    tx = challenged(client)
    with transaction.atomic():
        locked = acs_transaction_get(acs_trans_id=tx.pk, for_update=True)
        assert locked == tx
        assert locked is not None
        assert locked.card is not None  # the card and cardholder come with it


def test_message_log_masks_every_pan_and_drops_secrets(client):
    tx = challenged(client)
    body = {
        "messageType": "RReq",
        "acctNumber": VISA_PAN,
        "nested": [{"acctNumber": MASTERCARD_PAN}],
        "cardSecurityCode": "123",
    }
    message = acs_message_log(transaction=tx, kind="RReq", direction="out", body=body)
    stored = AcsMessage.objects.get(pk=message.pk)
    assert stored.body == {
        "messageType": "RReq",
        "acctNumber": "497010XXXXXX0006",
        "nested": [{"acctNumber": "513700XXXXXX0005"}],
    }
    assert body["acctNumber"] == VISA_PAN  # the caller's dict is left alone
    assert [m.kind for m in tx.messages.all()] == ["AReq", "ARes", "RReq"]


def test_masking_reaches_every_level_and_leaves_the_message_alone():
    body = {
        "acctNumber": VISA_PAN,
        "list": [[{"acctNumber": MASTERCARD_PAN, "cardSecurityCode": "123", "keep": [1, None]}], "text"],
        "object": {"inner": {"cardSecurityCode": "999", "acctNumber": 4970100000000048}},
    }
    before = json.dumps(body)
    assert services.masked(body) == {
        "acctNumber": "497010XXXXXX0006",
        "list": [[{"acctNumber": "513700XXXXXX0005", "keep": [1, None]}], "text"],
        "object": {"inner": {"acctNumber": 4970100000000048}},  # not a PAN string: as it is
    }
    assert json.dumps(body) == before


def test_an_areq_row_holds_what_the_model_would():
    given = {
        "acs_trans_id": uuid.uuid4(), "message_version": "2.2.0", "card_id": None, "trans_status": "C",
        "purchase_exponent": 2,
    }  # fmt: skip
    model = AcsTransaction(**given)
    fields = AcsTransaction._meta.concrete_fields
    assert acs_store.row(AcsTransaction, **given) == {f.attname: getattr(model, f.attname) for f in fields}
    assert acs_store.row(AcsTransaction, **given)["authentication_method"] == ""
    assert acs_store.row(AcsTransaction, **given)["creq_received_at"] is None
    with pytest.raises(TypeError, match="no field card, trans_statu"):
        acs_store.row(AcsTransaction, card=None, trans_statu="C")


def test_message_log_refuses_an_unknown_kind(client):
    tx = challenged(client)
    with pytest.raises(ValueError, match="unknown message kind"):
        acs_message_log(transaction=tx, kind="PReq", direction="out", body={})
    with pytest.raises(ValueError, match="unknown message kind"):
        acs_message_log(transaction=tx, kind="CReq", direction="sideways", body={})
    assert tx.messages.count() == 2


@pytest.mark.parametrize(("pan", "eci"), [(VISA_PAN, "05"), (MASTERCARD_PAN, "02")])
def test_outcome_y_is_verifiable_by_the_issuer(client, pan, eci):
    tx = challenged(client, pan=pan)
    outcome = acs_outcome(transaction=tx, trans_status="Y", method=Method.SMS_OTP)
    assert outcome.eci == eci
    decoded = algorithm_for(tx.scheme).verify(
        outcome.authentication_value, pan=pan, eci=eci, amount="12415", currency="978"
    )
    assert decoded is not None
    assert (decoded.trans_status, decoded.method) == ("Y", "02")
    # nothing is saved by the service itself
    tx.refresh_from_db()
    assert (tx.eci, tx.authentication_value) == ("", "")


def test_outcome_of_a_210_npa_mastercard(client):
    enrolled_holder(MASTERCARD_PAN)
    answer = post_areq(
        client,
        areq_210(acctNumber=MASTERCARD_PAN, messageCategory="02", purchaseAmount=..., purchaseCurrency=...,
                 purchaseExponent=..., purchaseDate=...),
    )  # fmt: skip
    tx = acs_transaction_get(acs_trans_id=answer["acsTransID"])
    assert tx is not None
    outcome = acs_outcome(transaction=tx, trans_status="Y")
    assert outcome.eci == "N2"
    assert algorithm_for("mastercard").verify(
        outcome.authentication_value, pan=MASTERCARD_PAN, eci="N2", amount="", currency=""
    )


@pytest.mark.parametrize("status", ["N", "U", "R"])
def test_outcome_of_a_failure_has_neither_eci_nor_value(client, status):
    tx = challenged(client)
    outcome = acs_outcome(transaction=tx, trans_status=status)
    assert (outcome.eci, outcome.authentication_value) == ("", "")


def test_outcome_without_card_refuses(client):
    tx = challenged(client)
    Card.objects.all().delete()
    again = acs_transaction_get(acs_trans_id=tx.pk)
    assert again is not None
    with pytest.raises(ValueError, match="no card"):
        acs_outcome(transaction=again, trans_status="Y")
    assert acs_outcome(transaction=again, trans_status="N").eci == ""


def test_challenge_contact(client):
    tx = challenged(client, browserLanguage="en-US")
    contact = acs_challenge_contact(transaction=tx)
    assert contact.cardholder == tx.cardholder
    assert (contact.phone, contact.masked_phone, contact.has_epin, contact.sms_only, contact.language) == (
        "+687751123",
        "xxxxxxx23",
        True,
        False,
        "en",
    )


def test_challenge_contact_sms_only(client, settings):
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, no_epin_policy="sms_only")
    )
    enrolled_holder(VISA_PAN, epin=None)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    tx = acs_transaction_get(acs_trans_id=answer["acsTransID"])
    assert tx is not None
    contact = acs_challenge_contact(transaction=tx)
    assert (contact.has_epin, contact.sms_only, contact.language) == (False, True, "fr")


def test_challenge_contact_without_cardholder_refuses(client):
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))  # unknown card
    tx = acs_transaction_get(acs_trans_id=answer["acsTransID"])
    assert tx is not None
    with pytest.raises(ValueError, match="no cardholder"):
        acs_challenge_contact(transaction=tx)


def test_card_lookup_gives_the_same_card_and_cardholder_as_the_orm(clock):
    from guichet.issuer.cards.services import epin_verify

    holder, pan = enrolled_holder(VISA_PAN)
    for _ in range(5):
        epin_verify(cardholder=holder, epin="0000", ip="127.0.0.1")
    card, blocked_until = acs_store.card_lookup(pan)
    assert card is not None
    expected = Card.objects.select_related("cardholder").get()
    fields = [f.attname for f in Card._meta.concrete_fields]
    assert [getattr(card, f) for f in fields if f != "pan_encrypted"] == [
        getattr(expected, f) for f in fields if f != "pan_encrypted"
    ]
    assert bytes(card.pan_encrypted) == bytes(expected.pan_encrypted)
    holder_fields = [f.attname for f in type(holder)._meta.concrete_fields]
    assert [getattr(card.cardholder, f) for f in holder_fields] == [
        getattr(expected.cardholder, f) for f in holder_fields
    ]
    assert card.cardholder.epin_set_at is not None
    assert card.cardholder.epin_set_at.tzinfo is not None
    assert card.cardholder.has_epin is True
    assert blocked_until is not None
    assert blocked_until.tzinfo is not None
    assert 14 * 60 < (blocked_until - clock.now()).total_seconds() <= 15 * 60
    assert acs_store.card_lookup("4970100000000014") == (None, None)


# --- card ranges ---------------------------------------------------------------------------------


def test_card_ranges_from_the_imported_cards():
    enrolled_holder("4970100000000014")
    enrolled_holder("4970100000000022")
    enrolled_holder(MASTERCARD_PAN)
    assert [(r["startRange"], r["endRange"], r["source"]) for r in acs_card_ranges()] == [
        ("4970100000000000", "4970109999999999", "imported cards"),
        ("5137000000000000", "5137009999999999", "imported cards"),
    ]
    assert acs_card_ranges()[0]["acsEndProtocolVersion"] == "2.3.1"


def test_card_ranges_from_the_configuration(settings):
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        acs=dataclasses.replace(
            settings.GUICHET.acs, card_ranges=(("4970", "4971"), ("5137000000000000", "5137009999999999"))
        ),
    )
    enrolled_holder()
    assert [(r["startRange"], r["endRange"], r["source"]) for r in acs_card_ranges()] == [
        ("4970000000000000", "4971999999999999", "GUICHET_ACS_CARD_RANGES"),
        ("5137000000000000", "5137009999999999", "GUICHET_ACS_CARD_RANGES"),
    ]


def test_cli_ranges_prints_json(capsys, monkeypatch):
    from guichet.cli import build_parser

    enrolled_holder(VISA_PAN)
    monkeypatch.setattr("guichet.config.bootstrap.django_setup", lambda mode=None: None)
    args = build_parser().parse_args(["3ds", "ranges"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(r["startRange"], r["endRange"]) for r in printed] == [("4970100000000000", "4970109999999999")]


# --- back-office ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client: Any) -> Any:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "x-unused-x")
    client.force_login(user)
    return client


def test_backoffice_lists_transactions_and_shows_messages_with_the_pan_masked(client, staff_client):
    tx = challenged(client)
    listing = staff_client.get("/admin/acs/acstransaction/")
    assert listing.status_code == 200
    assert "497010XXXXXX0006" in listing.content.decode()
    page = staff_client.get(f"/admin/acs/acstransaction/{tx.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "497010XXXXXX0006" in text
    assert "&quot;messageType&quot;: &quot;AReq&quot;" in text
    assert "&quot;messageType&quot;: &quot;ARes&quot;" in text
    assert VISA_PAN not in text


def test_backoffice_is_read_only(client, staff_client):
    tx = challenged(client)
    assert staff_client.get("/admin/acs/acstransaction/add/").status_code == 403
    assert staff_client.post(f"/admin/acs/acstransaction/{tx.pk}/delete/", {"post": "yes"}).status_code == 403
    page = staff_client.post(f"/admin/acs/acstransaction/{tx.pk}/change/", {"state": "completed"})
    assert page.status_code == 403
    tx.refresh_from_db()
    assert tx.state == "awaiting_creq"
    assert AcsTransaction.objects.count() == 1


def test_backoffice_needs_staff(client):
    tx = challenged(client)
    page = client.get(f"/admin/acs/acstransaction/{tx.pk}/change/")
    assert page.status_code == 302
    assert page["Location"].startswith("/admin/login/")
