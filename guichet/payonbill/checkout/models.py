"""The checkout's back-office view of merchants: their settlement statements (statements.py)."""

from __future__ import annotations

from guichet.payonbill.merchants.models import Merchant


class MerchantStatement(Merchant):
    """A merchant seen for its statements: a proxy, no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "merchant statement"
