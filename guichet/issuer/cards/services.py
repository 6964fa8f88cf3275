"""Cardholders, cards and the ePin."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.services import Alert, credential_check
from guichet.core import clock, crypto
from guichet.issuer.cards.models import Card, Cardholder

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


def pan_problem(pan: str) -> str | None:
    """What is wrong with a PAN (digits only), or None. The card file and the issuer API share it."""
    if not pan.isascii() or not pan.isdigit() or not 12 <= len(pan) <= 19:
        return "must be 12 to 19 digits"
    if not luhn_ok(pan):
        return "fails the Luhn check"
    return None


def expiry_problem(expiry: str) -> str | None:
    return None if EXPIRY.fullmatch(expiry) else "must be YYMM with a month from 01 to 12"


def email_problem(email: str) -> str | None:
    try:
        validate_email(email)
    except ValidationError:
        return "not a valid address"
    return None


def phone_problem(phone: str) -> str | None:
    return None if E164.fullmatch(phone) else "must be E.164, e.g. +687123456"


def name_problem(name: str) -> str | None:
    return None if name and len(name) <= 100 else "must be 1 to 100 characters"


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
