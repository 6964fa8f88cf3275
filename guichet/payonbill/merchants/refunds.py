"""Refunds of succeeded payments: never more than was paid, credited by the configured Biller in
the refund's own transaction."""

from __future__ import annotations

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.billing import biller
from guichet.payonbill.merchants.errors import MerchantError, PaymentNotFound
from guichet.payonbill.merchants.idempotency import idempotent
from guichet.payonbill.merchants.models import Merchant, Refund
from guichet.payonbill.merchants.notifications import notify
from guichet.payonbill.merchants.payments import payment_locked
from guichet.payonbill.merchants.representation import public_id_new, refund_json
from guichet.webapi.requests import ApiAnswer


def refund_create(
    *,
    merchant: Merchant,
    payment_id: str,
    amount: int | None,
    reason: str,
    idempotency_key: str | None,
) -> ApiAnswer:
    """Refund all that is left (amount None) or part of a succeeded payment, never more than paid."""

    def work() -> ApiAnswer:
        payment = payment_locked(payment_id)
        if payment is None or payment.merchant_id != merchant.pk:
            raise PaymentNotFound()
        if payment.status != m.SUCCEEDED:
            raise MerchantError(
                "payment_not_refundable",
                f"only a succeeded payment can be refunded; this one is {payment.status}.",
                status=409,
            )
        left = payment.amount - payment.amount_refunded
        if left <= 0:  # whatever amount is asked: the state of the payment, not the field, is at fault
            raise MerchantError(
                "payment_fully_refunded", "this payment is already refunded in full.", status=409
            )
        wanted = left if amount is None else amount
        if wanted > left:
            raise MerchantError(
                "refund_exceeds_payment",
                f"at most {left} (minor units) is left to refund.",
                field="amount",
                status=422,
            )
        refund = Refund.objects.create(
            public_id=public_id_new(prefix="rf_"),
            payment=payment,
            amount=wanted,
            reason=reason,
            created_at=clock.now(),
        )
        payment.amount_refunded += wanted
        payment.save(update_fields=["amount_refunded"])
        biller().credit(payment=payment, refund=refund)
        audit_record(
            event=Event.MERCHANTS_REFUND_CREATED,
            subject=payment.public_id,
            refund=refund.public_id,
            amount=wanted,
        )
        notify(payment=payment, event_type="refund.succeeded", refund=refund)
        return ApiAnswer(status=201, body=refund_json(refund))

    request = {"payment_id": payment_id, "amount": amount, "reason": reason}
    return idempotent(
        merchant=merchant, scope=f"refunds:{payment_id}", key=idempotency_key, request=request, work=work
    )
