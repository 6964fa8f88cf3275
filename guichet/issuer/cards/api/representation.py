"""The issuer API's JSON shapes (schemas.CardOut, schemas.CardholderOut): masked, no secret."""

from __future__ import annotations

import datetime as dt
from typing import Any

from guichet.core import clock
from guichet.issuer.cards.lifecycle import card_state
from guichet.issuer.cards.models import Card, Cardholder


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def card_json(card: Card) -> dict[str, Any]:
    state = card_state(card=card)
    return {
        "reference": state.reference,
        "masked_pan": state.masked_pan,
        "expiry": state.expiry,
        "status": state.status,
        "block_reason": state.block_reason or None,
        "blocked_at": _iso(state.blocked_at),
        "cardholder": {
            "reference": state.cardholder_reference,
            "masked_phone": state.masked_phone,
            "epin_set": state.epin_set,
            "epin_set_at": _iso(state.epin_set_at),
            "sms_hold_until": _iso(state.sms_hold_until),
        },
    }


def cardholder_json(holder: Cardholder) -> dict[str, Any]:
    cards = list(Card.objects.select_related("cardholder").filter(cardholder=holder))
    return {
        "reference": holder.reference,
        "email": holder.email,
        "name": holder.name,
        "masked_phone": holder.masked_phone,
        "phone_changed_at": _iso(holder.phone_changed_at),
        "sms_hold_until": _iso(holder.sms_hold_until if holder.sms_held(clock.now()) else None),
        "cards": [card_json(card) for card in cards],
    }
