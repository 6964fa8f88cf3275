"""The billing export of one period (`guichet billing export`, docs/operators.md): every line of the
bill per contract, then the contract's total, then the period's total, as CSV or JSON.

Stable: the same period exported twice gives the same bytes. Nothing in the file depends on when it
is written (no "generated at"), lines keep the VAT rate they were written with, the order is the
contract number then the feed's order, and a closed period's lines never change.
"""

from __future__ import annotations

import csv
import io
import json
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.payonbill.subscribers.billfeed import bill_lines_of_period, period_parse
from guichet.payonbill.subscribers.models import BillLine

ExportFormat = Literal["csv", "json"]
COLUMNS = (
    "line_id",
    "period",
    "contract",
    "kind",
    "at",
    "payment_id",
    "merchant_id",
    "merchant",
    "product",
    "amount",
    "currency",
    "vat_rate",
    "vat_amount",
    "lines",
)


def vat_rate_text(rate_bp: int | None) -> str:
    """2000 → "20", 550 → "5.5", None → "" (percent, as GUICHET_BILLING_VAT_RATE is written)."""
    if rate_bp is None:
        return ""
    whole, decimals = divmod(rate_bp, 100)
    return f"{whole}.{decimals:02d}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Total:
    amount: int
    vat_amount: int | None  # None when no line of it has a VAT rate
    lines: int


def lines_total(lines: Iterable[BillLine]) -> Total:
    lines = list(lines)
    vats = [line.vat_amount for line in lines if line.vat_amount is not None]
    return Total(
        amount=sum(line.amount for line in lines),
        vat_amount=sum(vats) if vats else None,
        lines=len(lines),
    )


def bill_line_json(line: BillLine) -> dict[str, Any]:
    """A line as the export's JSON and the operator API give it (times in the billing time zone)."""
    zone = zoneinfo.ZoneInfo(settings.GUICHET.subscribers.billing_time_zone)
    return {
        "line_id": line.seq,
        "period": line.period,
        "contract": line.contract.number,
        "kind": line.kind,
        "at": line.at.astimezone(zone).isoformat(timespec="seconds"),
        "payment_id": line.payment_public_id,
        "merchant_id": line.merchant_id,
        "merchant": line.merchant_name,
        "product": line.product,
        "amount": line.amount,
        "currency": line.currency,
        "vat_rate": vat_rate_text(line.vat_rate_bp) or None,
        "vat_amount": line.vat_amount,
    }


def _by_contract(lines: list[BillLine]) -> list[tuple[str, list[BillLine]]]:
    groups: dict[str, list[BillLine]] = {}
    for line in lines:  # already ordered by contract number, then seq
        groups.setdefault(line.contract.number, []).append(line)
    return list(groups.items())


def _total_json(total: Total) -> dict[str, Any]:
    return {"amount": total.amount, "vat_amount": total.vat_amount, "lines": total.lines}


def _json(period: str, lines: list[BillLine]) -> bytes:
    document = {
        "period": period,
        "time_zone": settings.GUICHET.subscribers.billing_time_zone,
        "contracts": [
            {
                "contract": number,
                "lines": [bill_line_json(line) for line in group],
                "total": _total_json(lines_total(group)),
            }
            for number, group in _by_contract(lines)
        ],
        "total": _total_json(lines_total(lines)),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def _total_row(period: str, contract: str, total: Total) -> list[str]:
    vat = "" if total.vat_amount is None else str(total.vat_amount)
    return [
        "",
        period,
        contract,
        "total",
        "",
        "",
        "",
        "",
        "",
        str(total.amount),
        "",
        "",
        vat,
        str(total.lines),
    ]


def _csv(period: str, lines: list[BillLine]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for number, group in _by_contract(lines):
        for line in group:
            row = bill_line_json(line)
            writer.writerow(
                ["" if row[c] is None else str(row[c]) for c in COLUMNS[:-1]] + [""]  # "lines": totals only
            )
        writer.writerow(_total_row(period, number, lines_total(group)))
    writer.writerow(_total_row(period, "", lines_total(lines)))
    return out.getvalue().encode()


def bill_export(*, period: str, export_format: ExportFormat = "csv", actor: str = "cli") -> bytes:
    """The export of `period` ("YYYY-MM"): CSV (RFC 4180, UTF-8) or JSON. Raises PeriodError."""
    period_parse(period=period)
    lines = bill_lines_of_period(period=period)
    data = _json(period, lines) if export_format == "json" else _csv(period, lines)
    audit_record(
        event=Event.SUBSCRIBERS_BILL_EXPORTED,
        subject=f"period:{period}",
        by=actor,
        format=export_format,
        lines=len(lines),
    )
    return data
