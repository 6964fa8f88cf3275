"""Payments and refunds as the API and the notifications show them, and their public ids."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings

from guichet.payonbill.merchants.models import Payment, Refund


def public_id_new(*, prefix: str) -> str:
    """`<prefix>` and 24 URL-safe characters without `-` or `_`, so an id selects with one double-click."""
    return prefix + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")


def iso(moment: dt.datetime | None) -> str | None:
    """A time in UTC to the second, as the API writes times (`2026-01-31T12:00:00Z`)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def checkout_url(payment: Payment) -> str:
    return f"{settings.GUICHET.public_url}/pay/{payment.public_id}/"


def payment_json(payment: Payment) -> dict[str, Any]:
    """The payment as the API and the notifications show it."""
    return {
        "id": payment.public_id,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "product": payment.product,
        "reference": payment.reference,
        "amount_refunded": payment.amount_refunded,
        "checkout_url": checkout_url(payment),
        "return_url": payment.return_url,
        "cancel_url": payment.cancel_url,
        "notification_url": payment.notification_url or None,
        "language": payment.language or None,
        "refusal_reason": payment.refusal_reason or None,
        "created_at": iso(payment.created_at),
        "expires_at": iso(payment.expires_at),
        "completed_at": iso(payment.completed_at),
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "payment_id": refund.payment.public_id,
        "amount": refund.amount,
        "reason": refund.reason or None,
        "created_at": iso(refund.created_at),
    }
