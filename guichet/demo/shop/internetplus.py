"""The shop as a merchant of Guichet's pay-on-bill service: the HTTP API, the signed return and the
signed notifications, exactly as an outside merchant integrates them.

The only call into Guichet's code is `merchant_create`, once, to get the demo merchant's API key
and notification secret (what `guichet merchants create` prints); they are kept in the data dir.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.templatetags.static import static

from guichet.core import clock
from guichet.demo.shop.catalogue import SHOP_NAME
from guichet.demo.shop.models import Notification, Order
from guichet.demo.shop.transport import HTTP_TIMEOUT_S, MAX_ANSWER_BYTES, PeerUnreachable

CREDENTIALS_FILE = "demo-merchant.json"
SIGNATURE_HEADER = "Guichet-Signature"
# A signature older (or further in the future) than this is refused: a replayed message.
SIGNATURE_TOLERANCE_S = 300
MAX_NOTIFICATION_BYTES = 64 * 1024
RETURN_HOSTS = ("localhost", "127.0.0.1")

STATUS_OF_PAYMENT = {
    "pending": Order.Status.PENDING,
    "succeeded": Order.Status.ACCEPTED,
    "cancelled": Order.Status.CANCELLED,
    "refused": Order.Status.REFUSED,
    "expired": Order.Status.REFUSED,
}


@dataclass(frozen=True)
class Credentials:
    api_key: str
    notification_secret: str


def _path() -> Path:
    return Path(settings.GUICHET.data_dir) / CREDENTIALS_FILE


def shop_credentials() -> Credentials | None:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
        return Credentials(api_key=data["api_key"], notification_secret=data["notification_secret"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def shop_merchant_create(*, base_url: str) -> Credentials:
    """Register the shop as a Guichet merchant and keep its secrets in the data dir (mode 0600)."""
    from guichet.payonbill.merchants.accounts import merchant_create

    parts = urlsplit(base_url)
    port = f":{parts.port}" if parts.port else ""
    created = merchant_create(
        name=SHOP_NAME,
        notification_url=f"{base_url.rstrip('/')}/demo/shop/notify",
        # Guichet matches a return URL's port too: the shop's own host and its two local names.
        return_hosts=sorted({parts.netloc, *(f"{host}{port}" for host in RETURN_HOSTS)}),
        # Served by Guichet's own server, so the checkout's image policy ('self') lets it show.
        logo_url=f"{settings.GUICHET.public_url}{static('demoshop/logo.svg')}",
    )
    credentials = Credentials(api_key=created.api_key, notification_secret=created.notification_secret)
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 rather than chmod-ed after writing: never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"api_key": created.api_key, "notification_secret": created.notification_secret}, out)
    path.chmod(0o600)
    return credentials


def _api_post(path: str, *, api_key: str, body: dict[str, Any], idempotency_key: str) -> tuple[int, Any]:
    url = f"{settings.GUICHET.public_url}/api/v1/{path}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {api_key}")
    request.add_header("Idempotency-Key", idempotency_key)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310 (our own URL)
            status, raw = response.status, response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(MAX_ANSWER_BYTES)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PeerUnreachable(type(getattr(exc, "reason", exc)).__name__) from None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def shop_internetplus_start(*, order: Order, product_name: str, shop_base: str, language: str) -> Order:
    """Create the payment through the API; the order then holds the checkout_url to send the customer to.

    Runs outside any transaction (the API may be served by this very process). The order id is the
    idempotency key: a second click on "pay" gets the same payment back.
    """
    order_url = f"{shop_base}/demo/shop/order/{order.id}/return"
    body = {
        "amount": order.amount,
        "currency": order.currency,
        "product": product_name,
        "reference": str(order.id),
        "return_url": order_url,
        "cancel_url": order_url,
        "notification_url": f"{shop_base}/demo/shop/notify",
        # The checkout opens in the shop's language: the product name above is in it too.
        "language": language,
    }
    order.method = Order.Method.INTERNET_PLUS
    credentials = shop_credentials() or shop_merchant_create(base_url=shop_base)
    try:
        status, answer = _api_post(
            "payments", api_key=credentials.api_key, body=body, idempotency_key=f"order-{order.id}"
        )
        if status == 401 or _error_code(answer) in (
            "return_host_not_allowed",
            "notification_host_not_allowed",
        ):
            # A data dir kept across a new database, or the demo now on another port or host name
            # (localhost and 127.0.0.1 are two origins for the notifications): register again.
            credentials = shop_merchant_create(base_url=shop_base)
            status, answer = _api_post(
                "payments", api_key=credentials.api_key, body=body, idempotency_key=f"order-{order.id}"
            )
    except PeerUnreachable as exc:
        return _save(order, Order.Status.ERROR, error={"code": "unreachable", "message": str(exc)})
    if status not in (200, 201) or not isinstance(answer, dict) or "checkout_url" not in answer:
        problem = answer.get("error") if isinstance(answer, dict) else None
        error = problem if isinstance(problem, dict) else {"code": f"http_{status}", "message": ""}
        return _save(order, Order.Status.ERROR, error=error)
    order.payment_id = str(answer.get("id", ""))[:64]
    order.payment_status = str(answer.get("status", ""))[:32]
    order.checkout_url = str(answer["checkout_url"])[:2048]
    return _save(order, STATUS_OF_PAYMENT.get(order.payment_status, Order.Status.PENDING))


def _error_code(answer: Any) -> str:
    problem = answer.get("error") if isinstance(answer, dict) else None
    return str(problem.get("code", "")) if isinstance(problem, dict) else ""


def _save(order: Order, status: str, *, error: dict[str, Any] | None = None) -> Order:
    order.status = status
    order.error = error
    order.updated_at = clock.now()
    order.save()
    return order


def _mac(secret: str, t: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), t.encode() + b"." + payload, hashlib.sha256).hexdigest()


def _fresh(t: str) -> bool:
    return t.isdigit() and abs(clock.now().timestamp() - int(t)) <= SIGNATURE_TOLERANCE_S


def signature_problem(*, secret: str, header: str, payload: bytes) -> str:
    """Empty when `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">` is right and fresh."""
    if not header:
        return "missing signature"
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    t = fields.get("t", [""])[0]
    if not t.isdigit() or not fields.get("v1"):
        return "malformed signature"
    expected = _mac(secret, t, payload)
    if not any(hmac.compare_digest(expected, v1) for v1 in fields["v1"]):
        return "bad signature"
    if not _fresh(t):
        return "stale signature"
    return ""


def shop_return_record(*, order_id: uuid.UUID, payment_id: str, status: str, t: str, v1: str) -> Order | None:
    """The customer is back from Guichet's checkout: trust the status only if its signature holds."""
    credentials = shop_credentials()
    with transaction.atomic():
        orders = Order.objects.select_for_update()
        order = orders.filter(pk=order_id, method=Order.Method.INTERNET_PLUS).first()
        if order is None:
            return None
        payload = f"payment_id={payment_id}&status={status}".encode()
        ok = (
            credentials is not None
            and payment_id == order.payment_id
            and not signature_problem(
                secret=credentials.notification_secret, header=f"t={t},v1={v1}", payload=payload
            )
        )
        if order.return_verified and not ok:
            return order  # a reload after the signature went stale: keep what was verified
        order.return_verified = ok
        if ok:
            _apply_status(order, status)
        order.updated_at = clock.now()
        order.save()
        return order


def _apply_status(order: Order, payment_status: str, *, reason: str = "") -> None:
    """A payment only leaves pending once; a late or repeated event changes nothing."""
    if payment_status not in STATUS_OF_PAYMENT or order.payment_status not in ("", "pending"):
        return
    order.payment_status = payment_status
    order.status = STATUS_OF_PAYMENT[payment_status]
    order.refusal_reason = reason[:64]


def shop_notification_receive(*, raw: bytes, signature: str) -> tuple[int, Notification]:
    """Check and record one notification; (HTTP status to answer, what was recorded).

    A refused signature is answered 400 and recorded as refused, changing no order. A known event id
    is a duplicate delivery: answered 200 so Guichet stops, recorded, nothing applied twice.
    """
    credentials = shop_credentials()
    body = raw[:MAX_NOTIFICATION_BYTES]
    problem = "no merchant credentials" if credentials is None else ""
    if credentials is not None:
        problem = signature_problem(secret=credentials.notification_secret, header=signature, payload=raw)
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    event: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    payment: dict[str, Any] = event["payment"] if isinstance(event.get("payment"), dict) else {}
    reference, event_id = str(payment.get("reference", "")), str(event.get("id", ""))[:64]
    with transaction.atomic():
        order = _order_by_reference(reference)
        if order is not None:
            order = Order.objects.select_for_update().get(pk=order.pk)
        seen = Notification.objects.filter(event_id=event_id, signature_ok=True)
        if not problem and event_id and seen.exists():
            problem = "duplicate"
        if not problem and not event_id:
            problem = "no event id"
        accepted = problem in ("", "duplicate")
        notification = Notification.objects.create(
            order=order,
            received_at=clock.now(),
            signature_ok=accepted,
            problem=problem,
            event_id=event_id,
            event_type=str(event.get("type", ""))[:64],
            payment_status=str(payment.get("status", ""))[:32],
            body=raw[:4096].decode("utf-8", errors="replace"),
        )
        if not problem and order is not None and payment.get("id") == order.payment_id:
            _apply_status(order, notification.payment_status, reason=str(payment.get("refusal_reason") or ""))
            order.updated_at = clock.now()
            order.save()
    return (200 if accepted else 400), notification


def _order_by_reference(reference: str) -> Order | None:
    try:
        return Order.objects.filter(pk=uuid.UUID(reference)).first()
    except ValueError:
        return None
