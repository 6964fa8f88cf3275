"""Signed notifications to the merchant (written to the outbox, signed at each attempt) and the
signed return of the customer to the merchant's site."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from guichet.core import clock
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.accounts import merchant_secret_get
from guichet.payonbill.merchants.models import Notification, Payment, Refund
from guichet.payonbill.merchants.representation import iso, payment_json, public_id_new, refund_json

NOTIFICATION_KIND = "merchant.notification"
SIGNATURE_HEADER = "Guichet-Signature"
# How old a signature may be before a receiver should refuse it (documented for merchants).
SIGNATURE_TOLERANCE_S = 300


def sign(*, secret: str, payload: bytes, at: int | None = None) -> str:
    """The `Guichet-Signature` value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`."""
    t = int(clock.now().timestamp()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def return_payload(*, payment_id: str, status: str) -> bytes:
    """The canonical signed text of a return to the merchant: `payment_id=<id>&status=<status>`."""
    return f"payment_id={payment_id}&status={status}".encode()


def payment_return_url(*, payment: Payment) -> str:
    """Where the customer goes back to: return_url when the payment succeeded, cancel_url otherwise,
    with `payment_id`, `status`, `t` and `v1` added to its query string; `v1` is the hex
    HMAC-SHA256, under the notification secret, of `<t>.payment_id=<id>&status=<status>`."""
    base = payment.return_url if payment.status == m.SUCCEEDED else payment.cancel_url
    secret = merchant_secret_get(merchant=payment.merchant)
    t = int(clock.now().timestamp())
    signature = sign(
        secret=secret, payload=return_payload(payment_id=payment.public_id, status=payment.status), at=t
    )
    v1 = signature.split(",v1=", 1)[1]
    parts = urlsplit(base)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in ("payment_id", "status", "t", "v1")
    ]
    query += [("payment_id", payment.public_id), ("status", payment.status), ("t", str(t)), ("v1", v1)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def notify(*, payment: Payment, event_type: str, refund: Refund | None = None) -> Notification:
    """Write the event to the outbox, in the caller's transaction; it is signed at each attempt."""
    from guichet.delivery.services import outbox_enqueue_http

    now = clock.now()
    event_id = public_id_new(prefix="evt_")
    body: dict[str, Any] = {
        "id": event_id,
        "type": event_type,
        "created_at": iso(now),
        "payment": payment_json(payment),
    }
    if refund is not None:
        body["refund"] = refund_json(refund)
    merchant = payment.merchant
    message = outbox_enqueue_http(
        kind=NOTIFICATION_KIND,
        key=f"merchant:{merchant.pk}",
        url=payment.notification_url or merchant.notification_url,
        body=json.dumps(body, separators=(",", ":")).encode(),
        valid_for=dt.timedelta(days=settings.GUICHET.merchants.notification_valid_days),
    )
    return Notification.objects.create(
        event_id=event_id,
        type=event_type,
        payment=payment,
        refund=refund,
        outbox_message_id=message.message_id,
        created_at=now,
    )


def notification_prepare(message: Any, body: bytes) -> dict[str, str]:
    """Outbox hook, at each attempt: sign the body with the current time."""
    notification = Notification.objects.select_related("payment__merchant").get(
        outbox_message_id=message.message_id
    )
    secret = merchant_secret_get(merchant=notification.payment.merchant)
    return {SIGNATURE_HEADER: sign(secret=secret, payload=body)}


def notification_accept(message: Any, status: int, _body: bytes) -> None:
    """Outbox hook: a 2xx is an acceptance; every answer is recorded on the notification (the
    merchant's answer body says nothing we act on)."""
    from guichet.delivery.senders import DeliveryError

    accepted = 200 <= status < 300
    Notification.objects.filter(outbox_message_id=message.message_id).update(
        last_status=status, **({"delivered_at": clock.now()} if accepted else {})
    )
    if not accepted:
        raise DeliveryError(f"merchant answered {status}")
