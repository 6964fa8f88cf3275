"""Cardholders, cards and the ePin."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.services import Alert, credential_check
from guichet.core import clock, crypto
from guichet.core.csvfile import RowInvalid, csv_parse
from guichet.issuer.cards.models import Card, Cardholder

CARD_COLUMNS = ("pan", "expiry", "email", "phone", "name")
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
EXPIRY = re.compile(r"[0-9]{2}(0[1-9]|1[0-2])")
EPIN = re.compile(r"[0-9]{4}")


def luhn_ok(pan: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(pan)):
        digit = int(ch)
        if i % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def pan_index(pan: str) -> str:
    return crypto.keyed_hash("pan-index", pan)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def cardholder_find(*, email: str) -> Cardholder | None:
    return Cardholder.objects.filter(email=normalise_email(email)).first()


def card_find(*, pan: str) -> Card | None:
    return Card.objects.select_related("cardholder").filter(pan_index=pan_index(pan)).first()


def card_pan(card: Card) -> str:
    """The clear PAN, for the rare code path that must send it on (never for display or logs)."""
    return crypto.decrypt(f"pan:{card.pan_index}", card.pan_encrypted)


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardRow:
    line: int
    pan: str
    expiry: str
    email: str
    phone: str
    name: str


@dataclass
class ImportReport:
    errors: list[tuple[int, str]] = field(default_factory=list)
    cardholders_created: int = 0
    cardholders_updated: int = 0
    cards_created: int = 0
    cards_updated: int = 0
    cards_unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_row(line: int, raw: dict[str, str]) -> CardRow:
    problems: list[str] = []
    pan = re.sub(r"[ ]", "", raw.get("pan") or "")
    expiry = (raw.get("expiry") or "").strip()
    email = normalise_email(raw.get("email") or "")
    phone = (raw.get("phone") or "").strip()
    name = (raw.get("name") or "").strip()
    if not pan.isascii() or not pan.isdigit() or not 12 <= len(pan) <= 19:
        problems.append("pan: must be 12 to 19 digits")
    elif not luhn_ok(pan):
        problems.append("pan: fails the Luhn check")
    if not EXPIRY.fullmatch(expiry):
        problems.append("expiry: must be YYMM with a month from 01 to 12")
    try:
        validate_email(email)
    except ValidationError:
        problems.append("email: not a valid address")
    if not E164.fullmatch(phone):
        problems.append("phone: must be E.164, e.g. +687123456")
    if not name or len(name) > 100:
        problems.append("name: must be 1 to 100 characters")
    if problems:
        raise RowInvalid(problems)
    return CardRow(line=line, pan=pan, expiry=expiry, email=email, phone=phone, name=name)


def cards_parse(data: bytes) -> tuple[list[CardRow], list[tuple[int, str]]]:
    """Check the whole file; return its rows, or every error with its line number."""
    seen_pans: dict[str, int] = {}
    holders: dict[str, CardRow] = {}

    def accept(line: int, row: CardRow) -> str | None:
        # A card once; a cardholder (their email) with one phone and name throughout the file.
        if row.pan in seen_pans:
            return f"pan: same card as line {seen_pans[row.pan]}"
        seen_pans[row.pan] = line
        first = holders.setdefault(row.email, row)
        if (first.phone, first.name) != (row.phone, row.name):
            return f"email: same cardholder as line {first.line} but another phone or name"
        return None

    return csv_parse(data, required=CARD_COLUMNS, read_row=_read_row, accept=accept, rows_name="card")


def cards_import(*, data: bytes, source: str = "") -> ImportReport:
    """Import a card file all or nothing. Re-importing the same file changes nothing."""
    rows, errors = cards_parse(data)
    report = ImportReport(errors=errors)
    if errors:
        audit_record(
            event=Event.CARDS_FILE_IMPORT,
            subject=source,
            outcome=AuditEvent.Outcome.REFUSED,
            errors=len(errors),
        )
        return report
    now = clock.now()
    with transaction.atomic():
        holders: dict[str, Cardholder] = {}
        for row in rows:
            if row.email in holders:
                continue
            holder = Cardholder.objects.select_for_update().filter(email=row.email).first()
            if holder is None:
                holder = Cardholder.objects.create(
                    email=row.email, phone=row.phone, name=row.name, created_at=now, updated_at=now
                )
                report.cardholders_created += 1
            elif (holder.phone, holder.name) != (row.phone, row.name):
                holder.phone, holder.name, holder.updated_at = row.phone, row.name, now
                holder.save(update_fields=["phone", "name", "updated_at"])
                report.cardholders_updated += 1
            holders[row.email] = holder
        for row in rows:
            holder = holders[row.email]
            index = pan_index(row.pan)
            card = Card.objects.select_for_update().filter(pan_index=index).first()
            if card is None:
                Card.objects.create(
                    cardholder=holder,
                    pan_encrypted=crypto.encrypt(f"pan:{index}", row.pan),
                    pan_index=index,
                    pan_length=len(row.pan),
                    first6=row.pan[:6],
                    last4=row.pan[-4:],
                    expiry=row.expiry,
                    created_at=now,
                    updated_at=now,
                )
                report.cards_created += 1
            elif (card.cardholder_id, card.expiry) != (holder.pk, row.expiry):
                card.cardholder, card.expiry, card.updated_at = holder, row.expiry, now
                card.save(update_fields=["cardholder", "expiry", "updated_at"])
                report.cards_updated += 1
            else:
                report.cards_unchanged += 1
        audit_record(
            event=Event.CARDS_FILE_IMPORT,
            subject=source,
            outcome=AuditEvent.Outcome.SUCCESS,
            cardholders_created=report.cardholders_created,
            cardholders_updated=report.cardholders_updated,
            cards_created=report.cards_created,
            cards_updated=report.cards_updated,
            cards_unchanged=report.cards_unchanged,
        )
    return report


# --- ePin -------------------------------------------------------------------------------------


class EpinInvalid(ValueError):
    """`code`: "format" (not exactly 4 digits) or "mismatch" (confirmation differs)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _epin_hash(cardholder: Cardholder, epin: str) -> str:
    # Bound to the cardholder, so equal ePins of two people hash differently.
    return crypto.keyed_hash("epin", str(cardholder.pk), epin)


def epin_validate(*, epin: str, confirmation: str) -> None:
    if not EPIN.fullmatch(epin):
        raise EpinInvalid("format")
    if not crypto.equals(epin, confirmation):
        raise EpinInvalid("mismatch")


@transaction.atomic
def epin_set(*, cardholder: Cardholder, epin: str, confirmation: str, ip: str) -> bool:
    """Set or replace the ePin (valid for every card of the cardholder). Returns True if it was new."""
    epin_validate(epin=epin, confirmation=confirmation)
    holder = Cardholder.objects.select_for_update().get(pk=cardholder.pk)
    created = not holder.has_epin
    now = clock.now()
    holder.epin_hash = _epin_hash(holder, epin)
    holder.epin_set_at = now
    holder.updated_at = now
    holder.save(update_fields=["epin_hash", "epin_set_at", "updated_at"])
    audit_record(
        event=Event.CARDS_EPIN_SET if created else Event.CARDS_EPIN_CHANGED,
        subject=holder.throttle_key,
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS,
    )
    cardholder.epin_hash, cardholder.epin_set_at = holder.epin_hash, now
    return created


def epin_matches(*, cardholder: Cardholder, epin: str) -> bool:
    """Whether `epin` is the cardholder's ePin (False without one), compared in constant time.

    No throttling: run it inside `credential_check` on `cardholder.throttle_key`, as `epin_verify`
    does, or combined with another factor in one check (the ACS challenge checks it with the SMS code).
    """
    return crypto.equals(_epin_hash(cardholder, epin), cardholder.epin_hash or "!")


def epin_verify(*, cardholder: Cardholder, epin: str, ip: str, alert: Alert | None = None) -> bool:
    """Check an ePin under the shared throttle (raises Blocked). Must run inside a transaction."""
    return credential_check(
        key=cardholder.throttle_key,
        check=lambda: epin_matches(cardholder=cardholder, epin=epin),
        event=Event.CARDS_EPIN_VERIFY,
        ip=ip,
        alert=alert,
    )
