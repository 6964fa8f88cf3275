"""Settlement statements (docs/merchants.md): a merchant's payments and refunds on one month's bills.

Built from the billing feed's lines (subscribers/billfeed.py) of that merchant and period, so a
statement and the billing export agree to the cent by construction: a refund made after its bill was
closed is on the statement of the month whose bill carries it. The merchant's own `reference` is
added from its payment; subscribers (contract numbers) are not shown.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.payonbill.merchants.models import Merchant, Payment
from guichet.payonbill.subscribers.billexport import bill_line_json, vat_rate_text
from guichet.payonbill.subscribers.billfeed import bill_lines_of_period, period_parse
from guichet.payonbill.subscribers.models import BillLine

COLUMNS = (
    "merchant_id",
    "period",
    "kind",
    "line_id",
    "at",
    "payment_id",
    "reference",
    "product",
    "amount",
    "currency",
    "vat_rate",
    "vat_amount",
    "count",
)
KINDS = {BillLine.Kind.CHARGE: "payment", BillLine.Kind.CREDIT: "refund"}


@dataclass(frozen=True)
class StatementTotal:
    count: int
    amount: int
    vat_amount: int | None


@dataclass(frozen=True)
class Statement:
    merchant: Merchant
    period: str
    lines: list[BillLine]
    references: dict[str, str]

    def _total(self, kind: str | None) -> StatementTotal:
        lines = [line for line in self.lines if kind is None or line.kind == kind]
        vats = [line.vat_amount for line in lines if line.vat_amount is not None]
        return StatementTotal(
            count=len(lines),
            amount=sum(line.amount for line in lines),
            vat_amount=sum(vats) if vats else None,
        )

    @property
    def payments(self) -> StatementTotal:
        return self._total(BillLine.Kind.CHARGE)

    @property
    def refunds(self) -> StatementTotal:
        return self._total(BillLine.Kind.CREDIT)

    @property
    def net(self) -> StatementTotal:
        return self._total(None)


def merchant_statement(*, merchant: Merchant, period: str) -> Statement:
    """The statement of `merchant` for `period` ("YYYY-MM"); raises PeriodError."""
    period_parse(period=period)
    lines = sorted(bill_lines_of_period(period=period, merchant_id=merchant.pk), key=lambda line: line.seq)
    references = dict(
        Payment.objects.filter(
            merchant=merchant, public_id__in={line.payment_public_id for line in lines}
        ).values_list("public_id", "reference")
    )
    return Statement(merchant=merchant, period=period, lines=lines, references=references)


def _total_row(statement: Statement, kind: str, total: StatementTotal) -> list[str]:
    vat = "" if total.vat_amount is None else str(total.vat_amount)
    merchant, period = str(statement.merchant.pk), statement.period
    return [merchant, period, kind, "", "", "", "", "", str(total.amount), "", "", vat, str(total.count)]


def merchant_statement_csv(*, merchant: Merchant, period: str, actor: str = "cli") -> bytes:
    """The statement as CSV (UTF-8, RFC 4180): one row per payment and refund in feed order, then the
    `payments`, `refunds` and `net` totals. The same month gives the same bytes once it is closed."""
    statement = merchant_statement(merchant=merchant, period=period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in statement.lines:
        row = bill_line_json(line)
        writer.writerow(
            [
                str(merchant.pk),
                period,
                KINDS[BillLine.Kind(line.kind)],
                str(line.seq),
                row["at"],
                line.payment_public_id,
                statement.references.get(line.payment_public_id, ""),
                line.product,
                str(line.amount),
                line.currency,
                vat_rate_text(line.vat_rate_bp),
                "" if line.vat_amount is None else str(line.vat_amount),
                "",
            ]
        )
    writer.writerow(_total_row(statement, "payments", statement.payments))
    writer.writerow(_total_row(statement, "refunds", statement.refunds))
    writer.writerow(_total_row(statement, "net", statement.net))
    audit_record(
        event=Event.CHECKOUT_STATEMENT_EXPORTED,
        subject=f"merchant:{merchant.pk}",
        by=actor,
        period=period,
        lines=len(statement.lines),
    )
    return out.getvalue().encode()
