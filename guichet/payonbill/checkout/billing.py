"""The pay-on-bill Biller: a refund of an internet+ payment is credited on the bill it was charged to."""

from __future__ import annotations

from guichet.payonbill.merchants.models import Payment, Refund
from guichet.payonbill.subscribers.billing import charge_refund


class BillBiller:
    """`merchants.billing.Biller` for the subscriber's bill (the default GUICHET_BILLER)."""

    def credit(self, *, payment: Payment, refund: Refund) -> None:
        charge_refund(payment_public_id=payment.public_id, amount=refund.amount)
