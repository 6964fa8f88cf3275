"""The back-office (/admin/): what operators see, and what they never see."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content, outbox_enqueue_email, outbox_enqueue_sms
from guichet.issuer.cards.cardfile import cards_import
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import epin_set

PAN_A = "4970109382716451"
PAN_B = "5132456789012345677"
SMS_CODE = "73920584"
EMAIL_CODE = "Xk7Qp"


@pytest.fixture
def admin_client(db) -> Client:
    user = get_user_model().objects.create(username="operator", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def fetch(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def import_marie() -> Cardholder:
    report = cards_import(
        data=(
            "pan,expiry,email,phone,name\n"
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat\n"
            f"{PAN_B},3001,marie@example.com,+687751123,Marie Kafeat\n"
        ).encode(),
        source="issuer-2029-01.csv",
    )
    assert report.ok, report.errors
    return Cardholder.objects.get(email="marie@example.com")


def test_the_back_office_requires_a_staff_login(db):
    # when
    response = Client().get("/admin/cards/card/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/cards/card/"


def test_the_audit_log_lists_events(admin_client):
    # given
    import_marie()
    audit_record(
        event=Event("enrollment:code:verify"), subject="cardholder:42", ip="192.0.2.7", outcome="failure"
    )
    event = AuditEvent.objects.get(event="cards:file:import")
    # when
    listing = fetch(admin_client, "/admin/audit/auditevent/")
    detail = fetch(admin_client, f"/admin/audit/auditevent/{event.pk}/change/")
    # then
    assert "cards:file:import" in listing
    assert "issuer-2029-01.csv" in listing
    assert "enrollment:code:verify" in listing
    assert "192.0.2.7" in listing
    assert "cards_created" in detail
    for html in (listing, detail):
        assert PAN_A not in html
        assert PAN_B not in html


def test_audit_events_cannot_be_added_changed_or_deleted(admin_client):
    # given
    event = audit_record(
        event=Event("cards:epin:verify"), subject="cardholder:7", ip="192.0.2.7", outcome="failure"
    )
    base = "/admin/audit/auditevent/"
    # when
    listing = fetch(admin_client, base)
    change_page = fetch(admin_client, f"{base}{event.pk}/change/")
    add = admin_client.get(f"{base}add/")
    add_post = admin_client.post(f"{base}add/", {"event": "forged", "outcome": "success"})
    change = admin_client.post(
        f"{base}{event.pk}/change/", {"event": "forged", "subject": "x", "ip": "", "outcome": "success"}
    )
    delete_page = admin_client.get(f"{base}{event.pk}/delete/")
    delete = admin_client.post(f"{base}{event.pk}/delete/", {"post": "yes"})
    bulk_delete = admin_client.post(base, {"action": "delete_selected", "_selected_action": [event.pk]})
    # then
    assert f'href="{base}add/"' not in listing
    assert 'value="delete_selected"' not in listing
    assert 'name="_save"' not in change_page
    assert f'href="{base}{event.pk}/delete/"' not in change_page
    assert add.status_code == 403
    assert add_post.status_code == 403
    assert change.status_code == 403
    assert delete_page.status_code == 403
    assert delete.status_code == 403
    assert bulk_delete.status_code == 200  # the changelist again: there is no such action
    assert AuditEvent.objects.count() == 1
    stored = AuditEvent.objects.get()
    assert (stored.pk, stored.event, stored.subject, stored.outcome) == (
        event.pk,
        "cards:epin:verify",
        "cardholder:7",
        "failure",
    )


def test_card_and_cardholder_pages_show_only_masked_pans(admin_client):
    # given
    marie = import_marie()
    epin_set(cardholder=marie, epin="4821", confirmation="4821", ip="192.0.2.1")
    marie.refresh_from_db()
    card = Card.objects.get(last4="6451")
    pages = {
        url: fetch(admin_client, url)
        for url in (
            "/admin/cards/card/",
            f"/admin/cards/card/{card.pk}/change/",
            "/admin/cards/cardholder/",
            f"/admin/cards/cardholder/{marie.pk}/change/",
            f"/admin/cards/cardholder/{marie.pk}/history/",  # no delete page any more
            "/admin/cards/card/?q=6451",
        )
    }
    # then: every page shows the cards, masked; none shows a PAN or the ePin hash
    assert "497010XXXXXX6451" in pages["/admin/cards/card/"]
    assert "513245XXXXXXXXX5677" in pages["/admin/cards/card/"]
    assert "497010XXXXXX6451" in pages[f"/admin/cards/card/{card.pk}/change/"]
    assert "marie@example.com" in pages["/admin/cards/cardholder/"]
    assert "xxxxxxx23" in pages["/admin/cards/cardholder/"]
    assert "497010XXXXXX6451" in pages[f"/admin/cards/cardholder/{marie.pk}/change/"]
    assert "513245XXXXXXXXX5677" in pages[f"/admin/cards/cardholder/{marie.pk}/change/"]
    assert "497010XXXXXX6451" in pages["/admin/cards/card/?q=6451"]
    assert "513245XXXXXXXXX5677" not in pages["/admin/cards/card/?q=6451"]
    assert len(marie.epin_hash) == 64
    for url, html in pages.items():
        for pan in (PAN_A, PAN_B):
            assert pan not in html, url
            assert pan[6:] not in html, url
        assert marie.epin_hash not in html, url
        assert card.pan_index not in html, url


def test_cards_cannot_be_added_from_the_back_office(admin_client):
    # when
    response = admin_client.get("/admin/cards/card/add/")
    listing = fetch(admin_client, "/admin/cards/card/")
    # then
    assert response.status_code == 403
    assert 'href="/admin/cards/card/add/"' not in listing


def test_the_outbox_never_shows_message_content(admin_client):
    # given: an SMS and an email carrying known codes
    brand = settings.GUICHET.branding
    sms = outbox_enqueue_sms(
        to="+687751123", template="enrollment_code", language="fr", context={"code": SMS_CODE, "brand": brand}
    )
    email = outbox_enqueue_email(
        to="marie@example.com",
        template="enrollment_code",
        language="fr",
        context={"code": EMAIL_CODE, "brand": brand, "name": "Marie Kafeat"},
    )
    assert SMS_CODE in outbox_content(sms).body
    assert EMAIL_CODE in outbox_content(email).body
    assert SMS_CODE.encode() not in bytes(OutboxMessage.objects.get(pk=sms.pk).content)
    # when
    pages = {
        url: fetch(admin_client, url)
        for url in (
            "/admin/delivery/outboxmessage/",
            f"/admin/delivery/outboxmessage/{sms.pk}/change/",
            f"/admin/delivery/outboxmessage/{email.pk}/change/",
            f"/admin/delivery/outboxmessage/{sms.pk}/delete/",
        )
    }
    # then: operators see who and what state, never the text
    assert "+687751123" in pages["/admin/delivery/outboxmessage/"]
    assert "marie@example.com" in pages["/admin/delivery/outboxmessage/"]
    assert "enrollment_code" in pages[f"/admin/delivery/outboxmessage/{sms.pk}/change/"]
    assert str(email.message_id) in pages[f"/admin/delivery/outboxmessage/{email.pk}/change/"]
    for url, html in pages.items():
        assert SMS_CODE not in html, url
        assert EMAIL_CODE not in html, url
        assert outbox_content(sms).body not in html, url
