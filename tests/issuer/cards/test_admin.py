"""The cards in the back-office: block and unblock actions, the phone through the service, the state
shown masked; every change audited with the staff member as actor."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
from guichet.issuer.cards.lifecycle import CardholderInput, CardInput, cardholder_upsert
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import epin_set
from tests.support.factories import make_pan

pytestmark = pytest.mark.django_db

PAN = make_pan()


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create(username="agent", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def holder() -> Cardholder:
    data = CardholderInput(
        email="marie@example.com", phone="+687751123", name="Marie Kafeat", reference="C-1",
        cards=[CardInput(pan=PAN, expiry="2912", reference="K-1")],
    )  # fmt: skip
    holder = cardholder_upsert(data=data, actor="test").cardholder
    epin_set(cardholder=holder, epin="4821", confirmation="4821", ip="127.0.0.1")
    return holder


def inline(holder: Cardholder) -> dict[str, str]:
    """The cards inline's management form, which the change page posts with the cardholder."""
    card = Card.objects.get(cardholder=holder)
    return {
        "cards-TOTAL_FORMS": "1", "cards-INITIAL_FORMS": "1", "cards-MIN_NUM_FORMS": "0",
        "cards-MAX_NUM_FORMS": "1000", "cards-0-id": str(card.pk), "cards-0-cardholder": str(holder.pk),
    }  # fmt: skip


def test_the_block_action_blocks_through_the_service_and_audits_the_staff_member(
    staff: Client, holder: Cardholder
):
    card = Card.objects.get()
    response = staff.post(
        "/admin/cards/card/", {"action": "block_stolen", "_selected_action": [card.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "1 card(s) blocked (stolen)." in response.content.decode()
    card.refresh_from_db()
    assert (card.status, card.block_reason) == ("blocked", "stolen")
    event = AuditEvent.objects.get(event="cards:card:blocked")
    assert (event.subject, event.detail) == ("card:K-1", {"actor": "backoffice:agent", "reason": "stolen"})


def test_the_unblock_action(staff: Client, holder: Cardholder):
    card = Card.objects.get()
    staff.post("/admin/cards/card/", {"action": "block_fraud", "_selected_action": [card.pk]})
    staff.post("/admin/cards/card/", {"action": "unblock", "_selected_action": [card.pk]})
    card.refresh_from_db()
    assert (card.status, card.block_reason) == ("active", "")
    assert AuditEvent.objects.get(event="cards:card:unblocked").detail["actor"] == "backoffice:agent"


def test_the_card_page_shows_the_state_masked_and_no_secret(staff: Client, holder: Cardholder):
    card = Card.objects.get()
    html = staff.get(f"/admin/cards/card/{card.pk}/change/").content.decode()
    assert card.masked_pan in html
    assert "xxxxxxx23" in html
    assert "enrolled (epin)" in html.lower()
    assert PAN not in html
    assert "+687751123" not in html
    assert holder.epin_hash not in html
    # the card's fields cannot be posted: status is read-only
    staff.post(f"/admin/cards/card/{card.pk}/change/", {"status": "blocked"})
    card.refresh_from_db()
    assert card.status == "active"


def test_a_phone_changed_in_the_back_office_is_audited_alerted_and_may_be_held(
    staff: Client, holder: Cardholder
):
    response = staff.post(
        f"/admin/cards/cardholder/{holder.pk}/change/",
        {"phone": "+687700001", "hold_hours": "24", **inline(holder)},
    )
    assert response.status_code == 302
    holder.refresh_from_db()
    assert holder.phone == "+687700001"
    assert holder.sms_hold_until is not None
    event = AuditEvent.objects.get(event="cards:phone:changed")
    assert event.detail["actor"] == "backoffice:agent"
    assert OutboxMessage.objects.filter(channel="email", template="cards_phone_changed").count() == 1


def test_a_bad_phone_in_the_back_office_changes_nothing(staff: Client, holder: Cardholder):
    response = staff.post(
        f"/admin/cards/cardholder/{holder.pk}/change/", {"phone": "0687700001", **inline(holder)}
    )
    assert response.status_code == 200
    assert "The phone must be E.164" in response.content.decode()
    holder.refresh_from_db()
    assert holder.phone == "+687751123"
    assert AuditEvent.objects.filter(event="cards:phone:changed").count() == 0
    assert OutboxMessage.objects.count() == 0


def test_the_issuer_api_keys_are_listed_read_only_without_their_hash(staff: Client):
    from guichet.issuer.cards.api.keys import issuer_key_add
    from guichet.issuer.cards.models import IssuerApiKey

    key, clear = issuer_key_add(name="core banking")
    html = staff.get("/admin/cards/issuerapikey/").content.decode()
    assert key.prefix in html
    assert "core banking" in html
    assert clear not in html
    assert key.key_hash not in html
    assert staff.post(f"/admin/cards/issuerapikey/{key.pk}/delete/", {"post": "yes"}).status_code == 403
    assert IssuerApiKey.objects.count() == 1


def test_cards_and_cardholders_cannot_be_deleted_from_the_back_office(staff, holder):
    card = Card.objects.get()
    for url in (f"/admin/cards/card/{card.pk}/delete/", f"/admin/cards/cardholder/{holder.pk}/delete/"):
        assert staff.post(url, {"post": "yes"}).status_code == 403
    listing = staff.get("/admin/cards/card/").content.decode()
    bulk = staff.post("/admin/cards/card/", {"action": "delete_selected", "_selected_action": [card.pk]})

    assert 'value="delete_selected"' not in listing
    assert bulk.status_code == 302  # back to the list: there is no such action to run
    assert (Card.objects.count(), Cardholder.objects.count()) == (1, 1)
    assert not AuditEvent.objects.filter(event__contains="deleted").exists()
