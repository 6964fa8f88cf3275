"""The merchants tests' Biller (GUICHET_BILLER names it): records each credit, or fails on demand."""

from __future__ import annotations

from typing import ClassVar

from guichet.payonbill.merchants.models import Payment, Refund


class RecordingBiller:
    credits: ClassVar[list[tuple[str, int]]] = []
    failure: ClassVar[Exception | None] = None

    def credit(self, *, payment: Payment, refund: Refund) -> None:
        if RecordingBiller.failure is not None:
            raise RecordingBiller.failure
        RecordingBiller.credits.append((payment.public_id, refund.amount))


class NoCredit:
    """Not a Biller: no credit() method."""
