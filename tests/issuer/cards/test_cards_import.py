"""The issuer card file (docs/issuers.md), PAN protection at rest and the ePin hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from cryptography.exceptions import InvalidTag

from guichet.audit.models import AuditEvent
from guichet.issuer.cards.cardfile import cards_import
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import (
    card_find,
    card_pan,
    cardholder_find,
    epin_set,
    epin_verify,
    luhn_ok,
    pan_index,
)

HEADER = "pan,expiry,email,phone,name"
# Valid (Luhn) test PANs.
PAN_A = "4970109382716451"
PAN_B = "4970100000000014"
PAN_C = "4970100000000022"
PAN_D = "4970100000000030"
PAN_E = "4970100000000048"
PAN_F = "4970100000000055"
PAN_G = "4970100000000063"
PAN_H = "4970100000000071"
PAN_19 = "5132456789012345677"
BAD_LUHN = "4970100000000015"  # PAN_B with the last digit changed


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def counts(report) -> tuple[int, int, int, int, int]:
    return (
        report.cardholders_created,
        report.cardholders_updated,
        report.cards_created,
        report.cards_updated,
        report.cards_unchanged,
    )


def import_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event="cards:file:import").order_by("id"))


def test_the_test_pans_are_what_they_claim():
    assert all(luhn_ok(p) for p in (PAN_A, PAN_B, PAN_C, PAN_D, PAN_E, PAN_F, PAN_G, PAN_H, PAN_19))
    assert not luhn_ok(BAD_LUHN)


@pytest.mark.django_db
def test_a_valid_file_creates_cardholders_grouped_by_email():
    # given: two cards for Marie (email written in two cases), one for Paul
    data = csv_file(
        f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
        f"{PAN_B},3001,Marie@Example.COM,+687751123,Marie Kafeat",
        f"{PAN_C},2807,paul@example.com,+687762245,Paul Wamytan",
    )
    # when
    report = cards_import(data=data, source="cards.csv")
    # then
    assert report.ok
    assert report.errors == []
    assert counts(report) == (2, 0, 3, 0, 0)
    assert Cardholder.objects.count() == 2
    assert Card.objects.count() == 3
    marie = cardholder_find(email="MARIE@example.com")
    assert marie is not None
    assert (marie.email, marie.phone, marie.name) == ("marie@example.com", "+687751123", "Marie Kafeat")
    assert sorted(c.expiry for c in marie.cards.all()) == ["2912", "3001"]
    assert not marie.has_epin
    paul = cardholder_find(email="paul@example.com")
    assert paul is not None
    assert [c.last4 for c in paul.cards.all()] == ["0022"]


@pytest.mark.django_db
def test_a_file_with_bad_lines_imports_nothing_and_lists_every_error():
    # given: good lines 2 and 12, one distinct error on each line in between
    data = csv_file(
        f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",  # 2 ok
        f"{BAD_LUHN},2912,paul@example.com,+687762245,Paul Wamytan",  # 3
        "4970ABCD00000014,2912,paul@example.com,+687762245,Paul Wamytan",  # 4
        f"{PAN_C},2913,paul@example.com,+687762245,Paul Wamytan",  # 5
        f"{PAN_D},2912,not-an-email,+687762245,Paul Wamytan",  # 6
        f"{PAN_E},2912,jean@example.com,687770011,Jean Gopoea",  # 7
        f"{PAN_F},2912,jean@example.com,+687770011,",  # 8
        f"{PAN_G},2912,jean@example.com",  # 9
        f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",  # 10
        f"{PAN_H},2912,marie@example.com,+687999999,Marie Kafeat",  # 11
        f"{PAN_B},2912,lea@example.com,+687770022,Léa Wahnyamalla",  # 12 ok
    )
    # when
    report = cards_import(data=data, source="cards.csv")
    # then
    assert not report.ok
    assert report.errors == [
        (3, "pan: fails the Luhn check"),
        (4, "pan: must be 12 to 19 digits"),
        (5, "expiry: must be YYMM with a month from 01 to 12"),
        (6, "email: not a valid address"),
        (7, "phone: must be E.164, e.g. +687123456"),
        (8, "name: must be 1 to 100 characters"),
        (9, "expected 5 fields, found 3"),
        (10, "pan: same card as line 2"),
        (11, "email: same cardholder as line 2 but another phone or name"),
    ]
    assert counts(report) == (0, 0, 0, 0, 0)
    assert Cardholder.objects.count() == 0
    assert Card.objects.count() == 0
    [event] = import_events()
    assert (event.subject, event.outcome, event.detail) == ("cards.csv", "refused", {"errors": 9})


@pytest.mark.django_db
def test_a_bad_file_leaves_existing_cardholders_untouched(clock):
    # given
    cards_import(data=csv_file(f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat"))
    before = Cardholder.objects.get()
    clock.advance(seconds=60)
    # when: line 2 would change the phone and the expiry, line 3 is bad
    report = cards_import(
        data=csv_file(
            f"{PAN_A},3001,marie@example.com,+687700000,Marie Kafeat",
            f"{PAN_B},2912,paul@example.com,+687762245,",
        )
    )
    # then
    assert report.errors == [(3, "name: must be 1 to 100 characters")]
    after = Cardholder.objects.get()
    assert (after.phone, after.updated_at) == ("+687751123", before.updated_at)
    assert Card.objects.get().expiry == "2912"
    assert Cardholder.objects.filter(email="paul@example.com").count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "errors"),
    [
        pytest.param(
            b"", [(1, "empty file: expected the header pan,expiry,email,phone,name")], id="empty-file"
        ),
        pytest.param(
            b"pan,expiry,email,phone,name\n", [(1, "no card rows after the header")], id="header-only"
        ),
        pytest.param(
            csv_file(f"{PAN_A},2912,marie@example.com,+687751123,Marie", header="pan,expiry,mail,phone,name"),
            [(1, "header must be exactly the columns pan,expiry,email,phone,name")],
            id="misnamed-column",
        ),
        pytest.param(
            csv_file(f"{PAN_A},2912,marie@example.com,+687751123", header="pan,expiry,email,phone"),
            [(1, "header must be exactly the columns pan,expiry,email,phone,name")],
            id="missing-column",
        ),
        pytest.param(
            csv_file(f"{PAN_A},2912,marie@example.com,+687751123,Marie,x", header=HEADER + ",extra"),
            [(1, "header must be exactly the columns pan,expiry,email,phone,name")],
            id="extra-column",
        ),
        pytest.param(
            csv_file(f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat")
            + f"{PAN_B},2912,rene@example.com,+687762245,Ren".encode()
            + b"\xe9 Wamytan\n",
            [(3, "not UTF-8 text")],
            id="latin-1",
        ),
    ],
)
def test_a_file_that_is_not_a_card_file_is_refused(data, errors):
    # when
    report = cards_import(data=data, source="cards.csv")
    # then
    assert report.errors == errors
    assert Cardholder.objects.count() == 0
    assert Card.objects.count() == 0
    assert [(e.outcome, e.detail) for e in import_events()] == [("refused", {"errors": len(errors)})]


@pytest.mark.django_db
def test_a_utf8_byte_order_mark_is_accepted():
    # given: a file saved by a spreadsheet, BOM first
    data = b"\xef\xbb\xbf" + csv_file(f"{PAN_A},2912,lea@example.com,+687770022,Léa Wahnyamalla")
    # when
    report = cards_import(data=data)
    # then
    assert report.errors == []
    assert counts(report) == (1, 0, 1, 0, 0)
    assert Cardholder.objects.get().name == "Léa Wahnyamalla"


@pytest.mark.django_db
def test_reimporting_the_same_file_changes_nothing(clock):
    # given
    data = csv_file(
        f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
        f"{PAN_B},3001,marie@example.com,+687751123,Marie Kafeat",
        f"{PAN_C},2807,paul@example.com,+687762245,Paul Wamytan",
    )
    first = cards_import(data=data, source="cards.csv")
    rows_before = [(c.pk, bytes(c.pan_encrypted), c.updated_at) for c in Card.objects.all()]
    holders_before = [(h.pk, h.updated_at) for h in Cardholder.objects.order_by("pk")]
    clock.advance(seconds=3600)
    # when
    second = cards_import(data=data, source="cards.csv")
    # then
    assert counts(first) == (2, 0, 3, 0, 0)
    assert counts(second) == (0, 0, 0, 0, 3)
    assert [(c.pk, bytes(c.pan_encrypted), c.updated_at) for c in Card.objects.all()] == rows_before
    assert [(h.pk, h.updated_at) for h in Cardholder.objects.order_by("pk")] == holders_before
    assert [(e.outcome, e.detail) for e in import_events()] == [
        (
            "success",
            {
                "cardholders_created": 2,
                "cardholders_updated": 0,
                "cards_created": 3,
                "cards_updated": 0,
                "cards_unchanged": 0,
            },
        ),
        (
            "success",
            {
                "cardholders_created": 0,
                "cardholders_updated": 0,
                "cards_created": 0,
                "cards_updated": 0,
                "cards_unchanged": 3,
            },
        ),
    ]


@pytest.mark.django_db
def test_reimporting_with_a_new_expiry_and_phone_updates_them(clock):
    # given
    cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_B},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_C},2807,paul@example.com,+687762245,Paul Wamytan",
        )
    )
    first_time = Cardholder.objects.get(email="paul@example.com").updated_at
    clock.advance(seconds=3600)
    second_time = clock.now()
    # when: Marie's phone changes, one of her cards is renewed
    report = cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687700001,Marie Kafeat",
            f"{PAN_B},3208,marie@example.com,+687700001,Marie Kafeat",
            f"{PAN_C},2807,paul@example.com,+687762245,Paul Wamytan",
        )
    )
    # then
    assert counts(report) == (0, 1, 0, 1, 2)
    marie = Cardholder.objects.get(email="marie@example.com")
    assert marie.phone == "+687700001"
    assert marie.updated_at >= second_time
    assert Cardholder.objects.get(email="paul@example.com").updated_at == first_time
    renewed = card_find(pan=PAN_B)
    kept = card_find(pan=PAN_A)
    assert renewed is not None
    assert kept is not None
    assert renewed.expiry == "3208"
    assert renewed.updated_at >= second_time
    assert (kept.expiry, kept.updated_at) == ("2912", first_time)
    assert (Cardholder.objects.count(), Card.objects.count()) == (2, 3)


@pytest.mark.django_db
def test_a_pan_listed_under_another_email_moves_to_that_cardholder():
    # given
    cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_B},2912,marie@example.com,+687751123,Marie Kafeat",
        )
    )
    moved_before = card_find(pan=PAN_B)
    assert moved_before is not None
    # when
    report = cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_B},2912,paul@example.com,+687762245,Paul Wamytan",
        )
    )
    # then: the same card row, now Paul's; Marie keeps only her other card
    assert counts(report) == (1, 0, 0, 1, 1)
    moved = card_find(pan=PAN_B)
    assert moved is not None
    assert moved.pk == moved_before.pk
    assert moved.cardholder.email == "paul@example.com"
    marie = cardholder_find(email="marie@example.com")
    assert marie is not None
    assert [card_pan(c) for c in marie.cards.all()] == [PAN_A]
    assert Card.objects.count() == 2


@pytest.mark.django_db
def test_the_pan_is_stored_encrypted_and_found_by_a_keyed_index(settings):
    # given
    cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_19},2912,marie@example.com,+687751123,Marie Kafeat",
        )
    )
    card = Card.objects.get(first6="497010")
    blob = bytes(card.pan_encrypted)
    # then: no digits of the PAN beyond first6/last4 in clear anywhere in the row
    assert PAN_A.encode() not in blob
    assert PAN_A[6:].encode() not in blob
    assert PAN_A not in card.pan_index
    assert (card.first6, card.last4, card.pan_length) == ("497010", "6451", 16)
    assert card_pan(card) == PAN_A
    # the index is a keyed hash: not a plain SHA-256, and another HMAC key gives another index
    assert len(card.pan_index) == 64
    assert card.pan_index != hashlib.sha256(PAN_A.encode()).hexdigest()
    assert pan_index(PAN_A) == card.pan_index
    configured = settings.GUICHET
    settings.GUICHET = dataclasses.replace(configured, hmac_key=bytes(range(32)))
    assert pan_index(PAN_A) != card.pan_index
    settings.GUICHET = configured
    # look-up
    found = card_find(pan=PAN_A)
    assert found is not None
    assert found.pk == card.pk
    assert card_find(pan=PAN_C) is None
    # masking: first 6, X for the hidden digits, last 4
    assert card.masked_pan == "497010XXXXXX6451"
    assert str(card) == "497010XXXXXX6451"
    long_card = card_find(pan=PAN_19)
    assert long_card is not None
    assert long_card.masked_pan == "513245XXXXXXXXX5677"


@pytest.mark.django_db
def test_an_encrypted_pan_cannot_be_moved_to_another_card_row():
    # given: two cards; swap their ciphertexts as an attacker with database access could
    cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_B},2912,marie@example.com,+687751123,Marie Kafeat",
        )
    )
    card_a, card_b = card_find(pan=PAN_A), card_find(pan=PAN_B)
    assert card_a is not None
    assert card_b is not None
    card_a.pan_encrypted = card_b.pan_encrypted
    # when / then: the ciphertext is bound to its own index
    with pytest.raises(InvalidTag):
        card_pan(card_a)


@pytest.mark.django_db
def test_import_audit_events_never_hold_a_pan():
    # given: a good import, then a refused one whose errors are about PANs
    cards_import(data=csv_file(f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat"), source="a.csv")
    cards_import(
        data=csv_file(
            f"{BAD_LUHN},2912,paul@example.com,+687762245,Paul Wamytan",
            f"{PAN_C},2912,paul@example.com,+687762245,Paul Wamytan",
            f"{PAN_C},2912,paul@example.com,+687762245,Paul Wamytan",
        ),
        source="b.csv",
    )
    # then
    events = import_events()
    assert [(e.subject, e.outcome) for e in events] == [("a.csv", "success"), ("b.csv", "refused")]
    dumped = json.dumps([[e.event, e.subject, e.ip, e.detail] for e in AuditEvent.objects.all()])
    for pan in (PAN_A, BAD_LUHN, PAN_C):
        assert pan not in dumped
        assert pan[6:] not in dumped


@pytest.mark.django_db
def test_the_epin_is_stored_as_a_keyed_hash_bound_to_the_cardholder():
    # given
    cards_import(
        data=csv_file(
            f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat",
            f"{PAN_B},2912,paul@example.com,+687762245,Paul Wamytan",
        )
    )
    marie = Cardholder.objects.get(email="marie@example.com")
    paul = Cardholder.objects.get(email="paul@example.com")
    # when: both choose the same ePin
    created_marie = epin_set(cardholder=marie, epin="4821", confirmation="4821", ip="192.0.2.1")
    created_paul = epin_set(cardholder=paul, epin="4821", confirmation="4821", ip="192.0.2.2")
    # then
    assert (created_marie, created_paul) == (True, True)
    marie_hash = Cardholder.objects.get(pk=marie.pk).epin_hash
    paul_hash = Cardholder.objects.get(pk=paul.pk).epin_hash
    assert len(marie_hash) == 64
    assert marie_hash != "4821"
    assert marie_hash != hashlib.sha256(b"4821").hexdigest()
    assert marie_hash != paul_hash
    assert epin_verify(cardholder=marie, epin="4821", ip="192.0.2.1") is True
    assert epin_verify(cardholder=marie, epin="4822", ip="192.0.2.1") is False
    assert epin_verify(cardholder=paul, epin="4821", ip="192.0.2.2") is True
    assert "4821" not in json.dumps([[e.subject, e.detail] for e in AuditEvent.objects.all()])


@pytest.mark.django_db
def test_changing_the_epin_replaces_the_hash():
    # given
    cards_import(data=csv_file(f"{PAN_A},2912,marie@example.com,+687751123,Marie Kafeat"))
    marie = Cardholder.objects.get()
    epin_set(cardholder=marie, epin="4821", confirmation="4821", ip="192.0.2.1")
    old_hash = Cardholder.objects.get().epin_hash
    # when
    created = epin_set(cardholder=marie, epin="1397", confirmation="1397", ip="192.0.2.1")
    # then
    assert created is False
    assert Cardholder.objects.get().epin_hash != old_hash
    assert epin_verify(cardholder=marie, epin="1397", ip="192.0.2.1") is True
    assert epin_verify(cardholder=marie, epin="4821", ip="192.0.2.1") is False
    assert [e.event for e in AuditEvent.objects.filter(event__startswith="cards:epin:").order_by("id")] == [
        "cards:epin:set",
        "cards:epin:changed",
        "cards:epin:verify",
        "cards:epin:verify",
    ]
