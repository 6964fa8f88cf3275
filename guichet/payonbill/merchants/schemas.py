"""The merchant API's messages as typed schemas: the views validate with them, the OpenAPI document is
generated from them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# No control characters in what is shown to customers or merchants.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Status = Literal["pending", "succeeded", "cancelled", "refused", "expired"]
# Checked by the service (`check_http_url`, the allowed hosts), documented here.
URL: dict[str, Any] = {"format": "uri"}
Language = Literal["fr", "en"]  # the languages of Guichet's pages (settings.LANGUAGES)


class PaymentCreate(BaseModel):
    """Body of `POST /api/v1/payments`."""

    # Strict: "100", 100.0 and true are not amounts; unknown fields are refused (catches typos).
    model_config = ConfigDict(extra="forbid", strict=True)

    amount: int = Field(
        gt=0, description="In minor units (cents for EUR); at most GUICHET_PAYMENT_MAX_AMOUNT."
    )
    currency: str = Field(
        default="EUR",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code; only those listed in GUICHET_PAYMENT_CURRENCIES (default EUR).",
    )
    product: str = Field(
        min_length=1, max_length=128, pattern=PRINTABLE, description="Shown to the customer."
    )
    reference: str = Field(
        min_length=1, max_length=64, pattern=PRINTABLE, description="The merchant's own order reference."
    )
    return_url: str = Field(
        max_length=2000,
        json_schema_extra=URL,
        description="Where a paid customer returns: an absolute http(s) URL without credentials, on one "
        "of the merchant's allowed return hosts (else `invalid_url`, `return_host_not_allowed`).",
    )
    cancel_url: str = Field(
        max_length=2000,
        json_schema_extra=URL,
        description="Where the customer returns otherwise; same rules as return_url.",
    )
    notification_url: str | None = Field(
        default=None,
        max_length=2000,
        json_schema_extra=URL,
        description="Overrides the merchant's notification URL for this payment's events: an absolute "
        "http(s) URL without credentials on the merchant's notification host or an allowed return host "
        "(else `invalid_url`, `notification_host_not_allowed`).",
    )
    language: Language | None = Field(
        default=None,
        description="The customer's language on the merchant's site: the checkout opens in it, unless "
        "the customer already chose one on Guichet's pages. Omitted: French.",
    )


class RefundCreate(BaseModel):
    """Body of `POST /api/v1/payments/{id}/refunds` (may be empty: refunds all that is left)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    amount: int | None = Field(
        default=None, gt=0, description="In minor units; omitted: all that is left to refund."
    )
    reason: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class PaymentOut(BaseModel):
    id: str = Field(description="Opaque, starts with `pay_`.")
    status: Status
    amount: int
    currency: str
    product: str
    reference: str
    amount_refunded: int
    checkout_url: str = Field(description="Send the customer here.")
    return_url: str
    cancel_url: str
    notification_url: str | None
    language: Language | None
    refusal_reason: str | None = Field(description="Set when status is `refused`.")
    created_at: str = Field(description="UTC, ISO 8601.")
    expires_at: str = Field(description="A payment still pending then becomes `expired`.")
    completed_at: str | None = Field(description="When the payment left `pending`.")


class PaymentList(BaseModel):
    data: list[PaymentOut] = Field(description="Newest first.")
    has_more: bool = Field(description="Whether older payments match: ask for them with `after`.")
    next_cursor: str | None = Field(description="Send it as `after` for the next page; null on the last.")


class RefundOut(BaseModel):
    id: str = Field(description="Opaque, starts with `rf_`.")
    payment_id: str
    amount: int
    reason: str | None
    created_at: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable, e.g. `invalid_type`, `return_host_not_allowed`.")
    message: str
    field: str | None = Field(description="The body field (or header) at fault, when there is one.")


class Error(BaseModel):
    error: ErrorDetail


class Event(BaseModel):
    """A notification posted to the merchant, signed in the `Guichet-Signature` header."""

    id: str = Field(description="Unique per event (`evt_...`): drop an id you have already handled.")
    type: Literal[
        "payment.succeeded", "payment.cancelled", "payment.refused", "payment.expired", "refund.succeeded"
    ]
    created_at: str
    payment: PaymentOut = Field(description="The payment as it is after the event.")
    refund: RefundOut | None = Field(default=None, description="Refund events only.")
