"""A card's life after its first import: add or update a cardholder and their cards, block and unblock
a card, change the cardholder's phone (with its alert and optional SMS hold), read a card's state.

The card file (cardfile.py), the issuer API (api/) and the back-office call these functions and
nothing else, so each change is made, checked and audited one way. They write inside the caller's
transaction when there is one (the card file: all or nothing for the whole file), else in their own.
`actor` names who asked: `api:<key prefix>`, `backoffice:<user name>`, `file:<source>`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock, crypto
from guichet.core.masking import mask_phone
from guichet.delivery.services import outbox_enqueue_email
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import (
    email_problem,
    expiry_problem,
    name_problem,
    normalise_email,
    pan_index,
    pan_problem,
    phone_problem,
)
from guichet.webapi.errors import ApiError

MAX_HOLD_HOURS = 720  # 30 days
ALERT_LANGUAGES = ("fr", "en")


class LifecycleError(ApiError):
    """A change the domain refuses; `code` is machine-readable, `field` names the input at fault."""


class CardNotFound(LifecycleError):
    def __init__(self) -> None:
        super().__init__("card_not_found", "No such card.", status=404)


class CardholderNotFound(LifecycleError):
    def __init__(self) -> None:
        super().__init__("cardholder_not_found", "No cardholder with this reference.", status=404)


@dataclass(frozen=True)
class CardInput:
    pan: str  # digits only; never echoed, logged or audited
    expiry: str  # YYMM
    reference: str = ""  # the issuer's handle; generated when empty for a new card


@dataclass(frozen=True)
class CardholderInput:
    email: str
    phone: str
    name: str
    cards: Sequence[CardInput] = ()
    reference: str | None = None  # the issuer's id of the person (the API's {ref}); None: by email


@dataclass
class UpsertOutcome:
    cardholder: Cardholder
    created: bool = False
    updated: bool = False
    cards: list[Card] = field(default_factory=list)
    cards_created: int = 0
    cards_updated: int = 0
    cards_unchanged: int = 0


def _check(checks: Sequence[tuple[str, str | None]]) -> None:
    for name, problem in checks:
        if problem:
            raise LifecycleError("invalid_value", f"{name}: {problem}.", field=name)


def _new_card_reference() -> str:
    return f"card_{secrets.token_hex(8)}"


def cardholder_upsert(
    *, data: CardholderInput, actor: str, ip: str = "", alert_language: str = "fr",
    now: dt.datetime | None = None,
) -> UpsertOutcome:  # fmt: skip
    """Create or update a cardholder and add or update their cards, all or nothing.

    The cardholder is found by `reference` when given (else by email; a reference given for a
    cardholder known only by email is attached to them); a card by its PAN's keyed index. A card
    listed under another cardholder moves to this one; cards not listed are left as they are. A new
    phone goes through `cardholder_phone_change` (audited, alert email, no hold). Raises
    LifecycleError; nothing is kept then. `now`: one instant for a whole file's changes.
    """
    now = now or clock.now()
    email = normalise_email(data.email)
    _check(
        [("email", email_problem(email)), ("phone", phone_problem(data.phone)),
         ("name", name_problem(data.name))]
        + [(f"cards.{i}.pan", pan_problem(c.pan)) for i, c in enumerate(data.cards)]
        + [(f"cards.{i}.expiry", expiry_problem(c.expiry)) for i, c in enumerate(data.cards)]
        # The issuer API's POST /cards/search would shadow a card so named.
        + [(f"cards.{i}.reference", "is reserved") for i, c in enumerate(data.cards)
           if c.reference == "search"]
    )  # fmt: skip
    indexes = [pan_index(c.pan) for c in data.cards]
    if len(set(indexes)) != len(indexes):
        raise LifecycleError("duplicate_card", "the same card is listed twice.", field="cards")
    with transaction.atomic():
        outcome = _holder_upsert(
            data=data, email=email, actor=actor, ip=ip, alert_language=alert_language, now=now
        )
        changed_cards: list[str] = []
        for i, (card_input, index) in enumerate(zip(data.cards, indexes, strict=True)):
            card, change = _card_upsert(
                holder=outcome.cardholder, data=card_input, index=index, at=f"cards.{i}.reference", now=now
            )
            outcome.cards.append(card)
            if change == "created":
                outcome.cards_created += 1
            elif change == "updated":
                outcome.cards_updated += 1
            else:
                outcome.cards_unchanged += 1
            if change != "unchanged":
                changed_cards.append(card.reference)
        if outcome.created or outcome.updated or changed_cards:
            audit_record(
                event=Event.CARDS_CARDHOLDER_CREATED if outcome.created else Event.CARDS_CARDHOLDER_UPDATED,
                subject=outcome.cardholder.throttle_key,
                ip=ip,
                outcome=AuditEvent.Outcome.SUCCESS,
                actor=actor,
                cards_created=outcome.cards_created,
                cards_updated=outcome.cards_updated,
                cards=changed_cards,
            )
    return outcome


def _holder_upsert(
    *, data: CardholderInput, email: str, actor: str, ip: str, alert_language: str, now: dt.datetime
) -> UpsertOutcome:
    holder = None
    if data.reference is not None:
        holder = Cardholder.objects.select_for_update().filter(reference=data.reference).first()
    by_email = Cardholder.objects.select_for_update().filter(email=email).first()
    if holder is None:
        if by_email is not None and by_email.reference not in (None, data.reference):
            raise LifecycleError(
                "email_taken", "this email belongs to a cardholder with another reference.", field="email"
            )
        holder = by_email
    elif by_email is not None and by_email.pk != holder.pk:
        raise LifecycleError("email_taken", "this email belongs to another cardholder.", field="email")
    if holder is None:
        holder = Cardholder.objects.create(
            email=email, phone=data.phone, name=data.name, reference=data.reference, created_at=now,
            updated_at=now,
        )  # fmt: skip
        return UpsertOutcome(cardholder=holder, created=True)
    # The phone first: its alert goes to the address on file before this call, so that a change of
    # both (a SIM swap with a mailbox taken over) still reaches the cardholder.
    phone_changed = _phone_set(
        holder=holder, phone=data.phone, hold_hours=None, actor=actor, ip=ip, language=alert_language,
        now=now,
    )  # fmt: skip
    changed = [
        name
        for name, new in (("email", email), ("name", data.name), ("reference", data.reference))
        if new is not None and getattr(holder, name) != new
    ]
    if changed:
        holder.email, holder.name = email, data.name
        holder.reference = data.reference if data.reference is not None else holder.reference
        holder.updated_at = now
        holder.save(update_fields=[*changed, "updated_at"])
    return UpsertOutcome(cardholder=holder, updated=bool(changed) or phone_changed)


def _card_upsert(
    *, holder: Cardholder, data: CardInput, index: str, at: str, now: dt.datetime
) -> tuple[Card, str]:
    card = Card.objects.select_for_update().filter(pan_index=index).first()
    reference = data.reference
    if reference and Card.objects.filter(reference=reference).exclude(pan_index=index).exists():
        raise LifecycleError("card_reference_taken", "this reference names another card.", field=at)
    if card is None:
        card = Card.objects.create(
            reference=reference or _new_card_reference(),
            cardholder=holder,
            pan_encrypted=crypto.encrypt(f"pan:{index}", data.pan),
            pan_index=index,
            pan_length=len(data.pan),
            first6=data.pan[:6],
            last4=data.pan[-4:],
            expiry=data.expiry,
            created_at=now,
            updated_at=now,
        )
        return card, "created"
    wanted = (holder.pk, data.expiry, reference or card.reference)
    if (card.cardholder_id, card.expiry, card.reference) == wanted:
        card.cardholder = holder
        return card, "unchanged"
    card.cardholder, card.expiry, card.reference, card.updated_at = holder, data.expiry, wanted[2], now
    card.save(update_fields=["cardholder", "expiry", "reference", "updated_at"])
    return card, "updated"


# --- block ------------------------------------------------------------------------------------


def cardholder_get(*, reference: str) -> Cardholder:
    """The cardholder the issuer names by `reference` (raises CardholderNotFound)."""
    holder = Cardholder.objects.filter(reference=reference).first()
    if holder is None:
        raise CardholderNotFound
    return holder


def card_get(*, reference: str, for_update: bool = False) -> Card:
    """The card the issuer names by `reference` (raises CardNotFound)."""
    cards = Card.objects.select_related("cardholder")
    card = (cards.select_for_update() if for_update else cards).filter(reference=reference).first()
    if card is None:
        raise CardNotFound
    return card


def card_block(*, card: Card, reason: str, actor: str, ip: str = "", note: str = "") -> bool:
    """Block the card: its AReqs are answered N from now on (rules.CardActive). Returns whether
    anything changed (blocking a blocked card with the same reason changes nothing)."""
    if reason not in Card.BlockReason.values:
        raise LifecycleError(
            "invalid_value", f"reason: one of {', '.join(Card.BlockReason.values)}.", field="reason"
        )
    with transaction.atomic():
        locked = Card.objects.select_for_update().get(pk=card.pk)
        if (locked.status, locked.block_reason) == (Card.Status.BLOCKED, reason):
            _refresh(card, locked)
            return False
        now = clock.now()
        if locked.status != Card.Status.BLOCKED or locked.blocked_at is None:
            locked.blocked_at = now  # a new reason for a blocked card keeps when it was blocked
        locked.status, locked.block_reason, locked.updated_at = Card.Status.BLOCKED, reason, now
        locked.save(update_fields=["status", "block_reason", "blocked_at", "updated_at"])
        audit_record(
            event=Event.CARDS_CARD_BLOCKED, subject=f"card:{locked.reference}", ip=ip,
            outcome=AuditEvent.Outcome.SUCCESS, actor=actor, reason=reason, **_note(note),
        )  # fmt: skip
    _refresh(card, locked)
    return True


def card_unblock(*, card: Card, actor: str, ip: str = "", note: str = "") -> bool:
    """Make the card active again. Returns whether anything changed."""
    with transaction.atomic():
        locked = Card.objects.select_for_update().get(pk=card.pk)
        if locked.status == Card.Status.ACTIVE:
            _refresh(card, locked)
            return False
        previous = locked.block_reason
        locked.status, locked.block_reason, locked.blocked_at = Card.Status.ACTIVE, "", None
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "block_reason", "blocked_at", "updated_at"])
        audit_record(
            event=Event.CARDS_CARD_UNBLOCKED, subject=f"card:{locked.reference}", ip=ip,
            outcome=AuditEvent.Outcome.SUCCESS, actor=actor, previous_reason=previous, **_note(note),
        )  # fmt: skip
    _refresh(card, locked)
    return True


def _note(note: str) -> dict[str, str]:
    return {"note": note} if note else {}


def _refresh(card: Card, locked: Card) -> None:
    card.status, card.block_reason, card.blocked_at = locked.status, locked.block_reason, locked.blocked_at
    card.updated_at = locked.updated_at


# --- phone ------------------------------------------------------------------------------------


def cardholder_phone_change(
    *, cardholder: Cardholder, phone: str, hold_hours: int | None, actor: str, ip: str = "",
    language: str = "fr",
) -> bool:  # fmt: skip
    """Change the phone that receives the challenge's SMS codes: audited, an alert email to the
    cardholder, and with `hold_hours` no challenge SMS to the new phone until that many hours have
    passed (against SIM-swap fraud: the ACS answers N meanwhile). Returns whether it changed; the
    same phone again changes nothing, hold included."""
    _check([("phone", phone_problem(phone))])
    if hold_hours is not None and not 1 <= hold_hours <= MAX_HOLD_HOURS:
        raise LifecycleError("out_of_range", f"hold_hours: from 1 to {MAX_HOLD_HOURS}.", field="hold_hours")
    with transaction.atomic():
        locked = Cardholder.objects.select_for_update().get(pk=cardholder.pk)
        changed = _phone_set(
            holder=locked, phone=phone, hold_hours=hold_hours, actor=actor, ip=ip, language=language,
            now=clock.now(),
        )  # fmt: skip
    cardholder.phone, cardholder.phone_changed_at = locked.phone, locked.phone_changed_at
    cardholder.sms_hold_until, cardholder.updated_at = locked.sms_hold_until, locked.updated_at
    return changed


def _phone_set(
    *, holder: Cardholder, phone: str, hold_hours: int | None, actor: str, ip: str, language: str,
    now: dt.datetime,
) -> bool:  # fmt: skip
    """On a locked cardholder: the new phone, its audit event and the alert email."""
    if holder.phone == phone:
        return False
    old = holder.phone
    holder.phone, holder.phone_changed_at, holder.updated_at = phone, now, now
    if hold_hours is not None:
        holder.sms_hold_until = now + dt.timedelta(hours=hold_hours)
    holder.save(update_fields=["phone", "phone_changed_at", "sms_hold_until", "updated_at"])
    audit_record(
        event=Event.CARDS_PHONE_CHANGED, subject=holder.throttle_key, ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS, actor=actor, old=mask_phone(old), new=mask_phone(phone),
        hold_until=holder.sms_hold_until.isoformat() if hold_hours is not None and holder.sms_hold_until
        else None,
    )  # fmt: skip
    outbox_enqueue_email(
        to=holder.email,
        template="cards_phone_changed",
        language=language if language in ALERT_LANGUAGES else "fr",
        context={
            "brand": settings.GUICHET.branding,
            "at": now,
            "old": mask_phone(old),
            "new": mask_phone(phone),
            "hold_until": holder.sms_hold_until if hold_hours is not None else None,
        },
    )
    return True


# --- read -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardState:
    """What the issuer may read of a card: never the PAN in clear, never an ePin."""

    reference: str
    masked_pan: str
    expiry: str
    status: str
    block_reason: str
    blocked_at: dt.datetime | None
    cardholder_reference: str | None
    masked_phone: str
    epin_set: bool
    epin_set_at: dt.datetime | None
    sms_hold_until: dt.datetime | None


def card_state(*, card: Card) -> CardState:
    holder = card.cardholder
    now = clock.now()
    return CardState(
        reference=card.reference,
        masked_pan=card.masked_pan,
        expiry=card.expiry,
        status=card.status,
        block_reason=card.block_reason,
        blocked_at=card.blocked_at,
        cardholder_reference=holder.reference,
        masked_phone=holder.masked_phone,
        epin_set=holder.has_epin,
        epin_set_at=holder.epin_set_at,
        sms_hold_until=holder.sms_hold_until if holder.sms_held(now) else None,
    )
