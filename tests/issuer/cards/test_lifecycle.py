"""The card lifecycle services: upsert, block and unblock, phone change with its alert and hold, read."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content
from guichet.issuer.cards.cardfile import cards_import
from guichet.issuer.cards.lifecycle import (
    CardholderInput,
    CardInput,
    CardNotFound,
    LifecycleError,
    card_block,
    card_get,
    card_state,
    card_unblock,
    cardholder_phone_change,
    cardholder_upsert,
)
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import card_find, epin_set
from tests.support.factories import make_pan

pytestmark = pytest.mark.django_db

PAN_A, PAN_B = make_pan(), make_pan()


def marie(*cards: CardInput, reference: str | None = "C-1", phone: str = "+687751123") -> CardholderInput:
    return CardholderInput(
        email="Marie@Example.com", phone=phone, name="Marie Kafeat", cards=cards, reference=reference
    )


def events(prefix: str = "cards:") -> list[str]:
    return list(
        AuditEvent.objects.filter(event__startswith=prefix).order_by("id").values_list("event", flat=True)
    )


def test_upsert_creates_the_cardholder_and_cards_with_references():
    outcome = cardholder_upsert(
        data=marie(CardInput(pan=PAN_A, expiry="2912", reference="K-1"), CardInput(pan=PAN_B, expiry="3001")),
        actor="api:gi_test",
    )
    holder = Cardholder.objects.get()
    assert (holder.email, holder.reference, holder.phone) == ("marie@example.com", "C-1", "+687751123")
    assert (outcome.created, outcome.cards_created, outcome.cards_unchanged) == (True, 2, 0)
    first, second = Card.objects.order_by("id")
    assert first.reference == "K-1"
    assert second.reference.startswith("card_")
    assert len(second.reference) == 21
    event = AuditEvent.objects.get(event="cards:cardholder:created")
    assert (event.subject, event.outcome) == (f"cardholder:{holder.pk}", "success")
    assert event.detail == {
        "actor": "api:gi_test", "cards_created": 2, "cards_updated": 0, "cards": ["K-1", second.reference],
    }  # fmt: skip
    assert PAN_A not in json.dumps(event.detail)


def test_the_same_upsert_again_changes_nothing_and_audits_nothing():
    data = marie(CardInput(pan=PAN_A, expiry="2912", reference="K-1"))
    cardholder_upsert(data=data, actor="api:gi_test")
    again = cardholder_upsert(data=data, actor="api:gi_test")
    assert (again.created, again.updated, again.cards_unchanged) == (False, False, 1)
    assert events() == ["cards:cardholder:created"]
    assert OutboxMessage.objects.count() == 0


def test_a_reference_is_attached_to_a_cardholder_imported_by_email():
    cards_import(
        data=f"pan,expiry,email,phone,name\n{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat\n".encode()
    )
    cardholder_upsert(data=marie(CardInput(pan=PAN_A, expiry="2912")), actor="api:gi_test")
    holder = Cardholder.objects.get()
    assert holder.reference == "C-1"


def test_an_email_of_another_cardholder_is_refused_and_nothing_changes():
    cardholder_upsert(data=marie(reference="C-1"), actor="api:gi_test")
    other = CardholderInput(email="paul@example.com", phone="+687762245", name="Paul", reference="C-2")
    cardholder_upsert(data=other, actor="api:gi_test")
    with pytest.raises(LifecycleError) as refused:
        cardholder_upsert(
            data=CardholderInput(
                email="marie@example.com", phone="+687700001", name="Paul", reference="C-2",
                cards=[CardInput(pan=PAN_B, expiry="2912")],
            ),
            actor="api:gi_test",
        )  # fmt: skip
    assert (refused.value.code, refused.value.field) == ("email_taken", "email")
    assert Cardholder.objects.get(reference="C-2").phone == "+687762245"
    assert Card.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_a_bad_card_refuses_the_whole_upsert():
    with pytest.raises(LifecycleError) as refused:
        cardholder_upsert(
            data=marie(CardInput(pan=PAN_A, expiry="2912"), CardInput(pan="4970100000000001", expiry="2912")),
            actor="api:gi_test",
        )
    assert (refused.value.code, refused.value.field) == ("invalid_value", "cards.1.pan")
    assert (Cardholder.objects.count(), Card.objects.count(), events()) == (0, 0, [])


def test_the_card_reference_search_is_reserved():
    with pytest.raises(LifecycleError) as refused:
        cardholder_upsert(data=marie(CardInput(pan=PAN_A, expiry="2912", reference="search")), actor="x")
    assert (refused.value.field, refused.value.message) == (
        "cards.0.reference",
        "cards.0.reference: is reserved.",
    )
    assert Card.objects.count() == 0


def test_a_card_reference_naming_another_card_is_refused_and_nothing_is_kept():
    cardholder_upsert(data=marie(CardInput(pan=PAN_A, expiry="2912", reference="K-1")), actor="x")
    with pytest.raises(LifecycleError) as refused:
        cardholder_upsert(
            data=CardholderInput(
                email="paul@example.com", phone="+687762245", name="Paul", reference="C-2",
                cards=[CardInput(pan=PAN_B, expiry="2912", reference="K-1")],
            ),
            actor="x",
        )  # fmt: skip
    assert (refused.value.code, refused.value.field) == ("card_reference_taken", "cards.0.reference")
    assert (Cardholder.objects.count(), Card.objects.count()) == (1, 1)


def test_a_new_phone_through_the_upsert_is_audited_and_alerted_without_hold():
    cardholder_upsert(data=marie(), actor="api:gi_test")
    cardholder_upsert(data=marie(phone="+687700001"), actor="file:cards.csv")
    holder = Cardholder.objects.get()
    assert (holder.phone, holder.sms_hold_until) == ("+687700001", None)
    assert events() == ["cards:cardholder:created", "cards:phone:changed", "cards:cardholder:updated"]
    changed = AuditEvent.objects.get(event="cards:phone:changed")
    assert changed.detail == {
        "actor": "file:cards.csv",
        "old": "xxxxxxx23",
        "new": "xxxxxxx01",
        "hold_until": None,
    }
    message = OutboxMessage.objects.get()
    assert (message.channel, message.recipient, message.template, message.language) == (
        "email", "marie@example.com", "cards_phone_changed", "fr",
    )  # fmt: skip
    content = outbox_content(message)
    assert "xxxxxxx23 a été remplacé par xxxxxxx01" in content.body
    assert "aucun code" not in content.body
    assert "+687700001" not in content.body


def test_a_new_phone_and_a_new_email_at_once_alert_the_address_on_file():
    cardholder_upsert(data=marie(), actor="api:gi_test")
    cardholder_upsert(
        data=CardholderInput(
            email="new@example.com", phone="+687700001", name="Marie Kafeat", reference="C-1"
        ),
        actor="api:gi_test",
    )
    assert Cardholder.objects.get().email == "new@example.com"
    assert list(OutboxMessage.objects.values_list("recipient", flat=True)) == ["marie@example.com"]


# --- block ------------------------------------------------------------------------------------


def test_block_and_unblock_are_audited_once_each(clock):
    cardholder_upsert(data=marie(CardInput(pan=PAN_A, expiry="2912", reference="K-1")), actor="x")
    card = card_get(reference="K-1")
    before = clock.now()
    assert card_block(card=card, reason="stolen", actor="api:gi_test", ip="192.0.2.1") is True
    assert card_block(card=card, reason="stolen", actor="api:gi_test") is False  # nothing new
    stored = Card.objects.get()
    assert (stored.status, stored.block_reason) == ("blocked", "stolen")
    assert stored.blocked_at is not None
    assert before <= stored.blocked_at <= clock.now()
    assert card_unblock(card=card, actor="backoffice:admin") is True
    assert card_unblock(card=card, actor="backoffice:admin") is False
    unblocked_card = Card.objects.get()
    assert (unblocked_card.status, unblocked_card.block_reason, unblocked_card.blocked_at) == (
        "active",
        "",
        None,
    )
    blocked = AuditEvent.objects.get(event="cards:card:blocked")
    assert (blocked.subject, blocked.ip, blocked.detail) == (
        "card:K-1", "192.0.2.1", {"actor": "api:gi_test", "reason": "stolen"},
    )  # fmt: skip
    unblocked = AuditEvent.objects.get(event="cards:card:unblocked")
    assert unblocked.detail == {"actor": "backoffice:admin", "previous_reason": "stolen"}


def test_a_block_reason_outside_the_list_is_refused():
    cardholder_upsert(data=marie(CardInput(pan=PAN_A, expiry="2912", reference="K-1")), actor="x")
    with pytest.raises(LifecycleError) as refused:
        card_block(card=card_get(reference="K-1"), reason="because", actor="x")
    assert refused.value.field == "reason"
    assert Card.objects.get().status == "active"
    assert events("cards:card:") == []


def test_an_unknown_card_reference_is_not_found():
    with pytest.raises(CardNotFound):
        card_get(reference="K-404")


# --- phone ------------------------------------------------------------------------------------


def test_a_phone_change_with_a_hold_sets_it_and_says_so_in_the_alert(clock):
    holder = cardholder_upsert(data=marie(), actor="x").cardholder
    changed = cardholder_phone_change(
        cardholder=holder,
        phone="+687700001",
        hold_hours=48,
        actor="api:gi_test",
        ip="192.0.2.1",
        language="en",
    )
    assert changed is True
    stored = Cardholder.objects.get()
    assert stored.phone_changed_at is not None
    until = stored.phone_changed_at + dt.timedelta(hours=48)
    assert (stored.phone, stored.sms_hold_until) == ("+687700001", until)
    assert stored.phone_changed_at <= clock.now()
    event = AuditEvent.objects.get(event="cards:phone:changed")
    assert event.detail == {
        "actor": "api:gi_test", "old": "xxxxxxx23", "new": "xxxxxxx01", "hold_until": until.isoformat(),
    }  # fmt: skip
    message = OutboxMessage.objects.get()
    assert message.language == "en"
    assert f"before {until:%Y-%m-%d %H:%M} (GMT)" in outbox_content(message).body


def test_the_same_phone_again_changes_nothing():
    holder = cardholder_upsert(data=marie(), actor="x").cardholder
    assert cardholder_phone_change(cardholder=holder, phone="+687751123", hold_hours=24, actor="x") is False
    assert Cardholder.objects.get().sms_hold_until is None
    assert (events("cards:phone:"), OutboxMessage.objects.count()) == ([], 0)


@pytest.mark.parametrize(
    ("phone", "hold", "field"),
    [("0687700001", None, "phone"), ("+687700001", 0, "hold_hours"), ("+687700001", 721, "hold_hours")],
)
def test_a_bad_phone_or_hold_is_refused_and_nothing_changes(phone, hold, field):
    holder = cardholder_upsert(data=marie(), actor="x").cardholder
    with pytest.raises(LifecycleError) as refused:
        cardholder_phone_change(cardholder=holder, phone=phone, hold_hours=hold, actor="x")
    assert refused.value.field == field
    assert Cardholder.objects.get().phone == "+687751123"
    assert (events("cards:phone:"), OutboxMessage.objects.count()) == ([], 0)


# --- read -------------------------------------------------------------------------------------


def test_the_state_is_masked_and_holds_no_secret(clock):
    holder = cardholder_upsert(
        data=marie(CardInput(pan=PAN_A, expiry="2912", reference="K-1")), actor="x"
    ).cardholder
    epin_set(cardholder=holder, epin="4821", confirmation="4821", ip="127.0.0.1")
    cardholder_phone_change(cardholder=holder, phone="+687700001", hold_hours=2, actor="x")
    state = card_state(card=card_get(reference="K-1"))
    assert state.masked_pan == f"{PAN_A[:6]}XXXXXX{PAN_A[-4:]}"
    assert (state.status, state.epin_set, state.masked_phone, state.cardholder_reference) == (
        "active", True, "xxxxxxx01", "C-1",
    )  # fmt: skip
    changed_at = Cardholder.objects.get().phone_changed_at
    assert changed_at is not None
    assert state.sms_hold_until == changed_at + dt.timedelta(hours=2)
    assert PAN_A not in repr(state)
    assert "4821" not in repr(state)
    clock.advance(seconds=2 * 3600 + 1)
    assert card_state(card=card_get(reference="K-1")).sms_hold_until is None
    assert card_find(pan=PAN_A) is not None
