"""The issuer API's messages as typed schemas: the views validate with them, openapi.py documents them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
REFERENCE = r"^[A-Za-z0-9._:-]{1,64}$"  # the issuer's ids: safe in a URL path and a log line
REFERENCE_RE = re.compile(REFERENCE[1:-1])
BlockReason = Literal["lost", "stolen", "fraud", "other"]
Language = Literal["fr", "en"]


class _In(BaseModel):
    # Strict: 24 is not "24", unknown fields are refused (catches typos).
    model_config = ConfigDict(extra="forbid", strict=True)


class CardIn(_In):
    pan: str = Field(
        pattern=r"^[0-9]{12,19}$",
        description="12 to 19 digits passing the Luhn check. Sent over TLS, stored encrypted, never "
        "echoed (answers carry `masked_pan`), logged or audited.",
    )
    expiry: str = Field(pattern=r"^[0-9]{2}(0[1-9]|1[0-2])$", description="YYMM")
    reference: str | None = Field(
        default=None,
        pattern=REFERENCE,
        description="The issuer's id of the card, used in the card paths; generated (`card_…`) when a "
        "new card comes without one, kept when an existing card comes without one.",
    )


class CardholderPut(_In):
    """Body of `PUT /cardholders/{ref}`: the cardholder as the issuer knows them, and cards to add or
    update (cards not listed are left as they are)."""

    email: str = Field(min_length=3, max_length=254, description="The address declared to the issuer.")
    phone: str = Field(
        pattern=r"^\+[1-9][0-9]{7,14}$",
        description="E.164. A change is audited and alerted to the cardholder by email, without hold "
        "(use `PUT /cardholders/{ref}/phone` for a hold).",
    )
    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    cards: list[CardIn] = Field(default_factory=list, max_length=50)


class BlockIn(_In):
    """Body of `POST /cards/{ref}/block`."""

    reason: BlockReason = Field(
        description="Sets the AReq's transStatusReason: stolen 10, fraud 11, lost and other 12."
    )
    note: str | None = Field(default=None, max_length=200, pattern=PRINTABLE, description="Audited.")


class UnblockIn(_In):
    """Body of `POST /cards/{ref}/unblock` (may be empty)."""

    note: str | None = Field(default=None, max_length=200, pattern=PRINTABLE, description="Audited.")


class PhonePut(_In):
    """Body of `PUT /cardholders/{ref}/phone`."""

    phone: str = Field(pattern=r"^\+[1-9][0-9]{7,14}$", description="E.164")
    hold_hours: int | None = Field(
        default=None,
        ge=1,
        le=720,
        description="Against SIM-swap fraud: for this many hours no challenge SMS goes to the new "
        "phone; the ACS answers AReqs it would challenge N / 12 meanwhile.",
    )
    language: Language | None = Field(default=None, description="Of the alert email; omitted: French.")


class CardSearch(_In):
    """Body of `POST /cards/search`: a card by its PAN (never in a URL)."""

    pan: str = Field(pattern=r"^[0-9]{12,19}$")


class CardholderBrief(BaseModel):
    reference: str | None
    masked_phone: str = Field(description="Only the last two digits")
    epin_set: bool = Field(description="Whether the cardholder enrolled (set an ePin); never the ePin")
    epin_set_at: str | None
    sms_hold_until: str | None = Field(description="While set, no challenge SMS is sent")


class CardOut(BaseModel):
    """A card, masked: never the PAN in clear, never an ePin."""

    reference: str
    masked_pan: str = Field(description="First 6 and last 4 digits")
    expiry: str
    status: Literal["active", "blocked"]
    block_reason: BlockReason | None
    blocked_at: str | None
    cardholder: CardholderBrief


class CardholderOut(BaseModel):
    reference: str | None
    email: str
    name: str
    masked_phone: str
    phone_changed_at: str | None
    sms_hold_until: str | None
    cards: list[CardOut]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class Error(BaseModel):
    error: ErrorDetail
