"""The operator API's answers (GET /api/operator/v1/bill-lines): typed, and the source of its OpenAPI
document (operator_openapi.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BillLineOut(BaseModel):
    line_id: int = Field(description="The line's number in the feed: unique, only grows.")
    period: str = Field(description="The bill, YYYY-MM.", pattern=r"^[0-9]{4}-[0-9]{2}$")
    contract: str = Field(description="The contract number.")
    kind: Literal["charge", "credit"] = Field(description="A purchase, or a refund (negative amount).")
    at: str = Field(description="When, ISO 8601 in the billing time zone with its offset.")
    payment_id: str = Field(description="The merchant API's payment id (`pay_...`).")
    merchant_id: int | None = Field(description="The merchant's id; null for lines made without one.")
    merchant: str = Field(description="The merchant's name.")
    product: str = Field(description="What the merchant sold.")
    amount: int = Field(description="Minor units, VAT included; negative for a credit.")
    currency: str = Field(description="ISO 4217.")
    vat_rate: str | None = Field(description="VAT rate in percent (`20`, `5.5`); null if not configured.")
    vat_amount: int | None = Field(description="VAT included in `amount`, minor units; null if no rate.")


class BillLinePage(BaseModel):
    data: list[BillLineOut] = Field(description="The lines after the cursor, in `line_id` order.")
    next_cursor: str = Field(
        description="Pass it as `after` for the next page; with no more lines, the cursor you sent."
    )
    has_more: bool = Field(description="Whether more lines were already there when this page was read.")


class OperatorErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: `invalid_parameter`, `invalid_api_key`...")
    message: str = Field(description="For a person, in English.")
    field: str | None = Field(description="The query parameter at fault, when there is one.")


class OperatorError(BaseModel):
    error: OperatorErrorDetail
