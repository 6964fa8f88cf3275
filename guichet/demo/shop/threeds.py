"""The demo's 3DS Server and Directory Server simulators, talking to Guichet's ACS over HTTP only.

A real 3DS Server sends its AReq to the scheme's DS, which adds `dsTransID`, `dsReferenceNumber` and
`dsURL` and forwards it to the issuer's ACS. Here one function plays both: it builds the complete
AReq a DS would forward and posts it to `GUICHET_PUBLIC_URL/3ds/areq`. The DS's other half, which
receives the ACS's RReq, is ds.py.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from pydantic import ValidationError

from guichet.core import clock, crypto
from guichet.demo.shop.catalogue import SHOP_NAME
from guichet.demo.shop.messages import (
    CReq,
    CRes,
    DuplicateElement,
    b64url_decode,
    b64url_encode,
    error_elements,
    load_json_object,
)
from guichet.demo.shop.models import DsResult, DsTransaction, Order
from guichet.demo.shop.transport import HttpTransport, PeerUnreachable, Transport
from guichet.issuer.acs.messages import ARes, Erro

MESSAGE_VERSION = "2.2.0"
# The challenge takes the width of the shop's payment panel (docs/emv-3ds.md §3.4: 05 = full window).
CHALLENGE_WINDOW_SIZE: Final = "05"
THREE_DS_SERVER_REF = "GUICHET-DEMO-3DSS-0001"
DS_REFERENCE = "GUICHET-DEMO-DS-0001"
REQUESTOR_ID = "GUICHET-DEMO-REQUESTOR-0001"
ACQUIRER_BIN = "412345"
ACQUIRER_MERCHANT_ID = "LAGON-0001"
MCC = "5942"  # book stores
MERCHANT_COUNTRY = "540"  # New Caledonia, ISO 3166-1 numeric
CURRENCIES = {"EUR": ("978", 2)}
# challengeCancel 01: the cardholder chose "Annuler votre paiement" (docs/emv-3ds.md §4.2).
CANCELLED_BY_CARDHOLDER: Final = "01"


@dataclass(frozen=True)
class Browser:
    """What the 3DS Server collects from the customer's browser (docs/emv-3ds.md §1.2, browser elements)."""

    accept_header: str
    user_agent: str
    language: str
    ip: str
    javascript: bool
    color_depth: str = ""
    screen_height: str = ""
    screen_width: str = ""
    tz: str = ""


def acs_areq_url() -> str:
    return f"{settings.GUICHET.public_url}/3ds/areq"


@dataclass(frozen=True)
class MethodStart:
    """The hidden form the card page posts into its 3DS Method iframe."""

    method_url: str  # the ACS's threeDSMethodURL
    method_data: str  # threeDSMethodData: base64url JSON


def threeds_method_start(*, order: Order, notification_url: str) -> MethodStart | None:
    """The 3DS Method for an order's card page, or None when the ACS offers none (the DS's PRes would
    name no threeDSMethodURL: GUICHET_ACS_METHOD off). The Method's threeDSServerTransID is the one
    the AReq will carry; a reload of the page runs the same Method again.

    A real 3DS Server first finds the card's range, so it runs the Method once the PAN is typed; the
    demo has one ACS, so it runs it as soon as the card page is shown.
    """
    if not settings.GUICHET.acs.method:
        return None
    Order.objects.filter(pk=order.pk, method_trans_id="").update(method_trans_id=str(uuid.uuid4()))
    order.refresh_from_db(fields=["method_trans_id"])
    data = {"threeDSServerTransID": order.method_trans_id, "threeDSMethodNotificationURL": notification_url}
    return MethodStart(
        method_url=f"{settings.GUICHET.public_url}/3ds/method",
        method_data=b64url_encode(json.dumps(data, separators=(",", ":")).encode()),
    )


def threeds_method_notified(*, order_id: uuid.UUID, method_data: str) -> bool:
    """The ACS's page posted threeDSMethodData back: note it when it names the order's Method."""
    try:
        data = load_json_object(b64url_decode(method_data))
    except ValueError:
        return False
    trans_id = data.get("threeDSServerTransID")
    if not isinstance(trans_id, str) or not trans_id:
        return False
    Order.objects.filter(pk=order_id, method_trans_id=trans_id, method_notified_at=None).update(
        method_notified_at=clock.now()
    )
    return Order.objects.filter(pk=order_id, method_trans_id=trans_id).exists()


def method_completion(order: Order) -> str:
    """threeDSCompInd: Y when the ACS's page answered, N when the Method ran without an answer
    (yet: a requestor waits 10 s at most), U when there was no Method."""
    if not order.method_trans_id:
        return "U"
    return "Y" if order.method_notified_at is not None else "N"


def session_data_for(order_id: uuid.UUID) -> str:
    """threeDSSessionData: the order id and a MAC, base64url; the ACS must hand it back unchanged."""
    mac = crypto.keyed_hash("demoshop:3ds-session", str(order_id))
    return b64url_encode(order_id.bytes + bytes.fromhex(mac)[:16])


def threeds_build_areq(
    *,
    pan: str,
    expiry: str,
    cardholder_name: str,
    amount: int,
    currency: str,
    browser: Browser,
    notification_url: str,
    requestor_url: str,
    server_url: str,
    ds_url: str,
    server_trans_id: str,
    ds_trans_id: str,
    purchase_date: dt.datetime,
    comp_ind: str = "U",
) -> dict[str, Any]:
    """The AReq as the DS forwards it to the ACS: browser channel, payment, version 2.2.0."""
    numeric, exponent = CURRENCIES[currency]
    areq: dict[str, Any] = {
        "messageType": "AReq",
        "messageVersion": MESSAGE_VERSION,
        "messageCategory": "01",
        "deviceChannel": "02",
        "threeDSServerTransID": server_trans_id,
        "threeDSServerRefNumber": THREE_DS_SERVER_REF,
        "threeDSServerURL": server_url,
        "threeDSRequestorID": REQUESTOR_ID,
        "threeDSRequestorName": SHOP_NAME,
        "threeDSRequestorURL": requestor_url,
        "threeDSRequestorAuthenticationInd": "01",
        "threeDSRequestorChallengeInd": "01",
        "threeDSCompInd": comp_ind,
        "acctNumber": pan,
        "cardExpiryDate": expiry,
        "acquirerBIN": ACQUIRER_BIN,
        "acquirerMerchantID": ACQUIRER_MERCHANT_ID,
        "mcc": MCC,
        "merchantCountryCode": MERCHANT_COUNTRY,
        "merchantName": SHOP_NAME,
        "purchaseAmount": str(amount),
        "purchaseCurrency": numeric,
        "purchaseExponent": str(exponent),
        "purchaseDate": purchase_date.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S"),
        "transType": "01",
        "notificationURL": notification_url,
        "browserAcceptHeader": browser.accept_header[:2048] or "text/html",
        "browserUserAgent": browser.user_agent[:2048] or "unknown",
        "browserLanguage": browser.language[:8] or "fr",
        "browserJavascriptEnabled": browser.javascript,
        "dsTransID": ds_trans_id,
        "dsReferenceNumber": DS_REFERENCE,
        "dsURL": ds_url,
    }
    if cardholder_name:
        areq["cardholderName"] = cardholder_name
    if browser.ip:
        areq["browserIP"] = browser.ip
    if browser.javascript:
        areq.update(
            browserJavaEnabled=False,
            browserColorDepth=browser.color_depth,
            browserScreenHeight=browser.screen_height,
            browserScreenWidth=browser.screen_width,
            browserTZ=browser.tz,
        )
    return areq


def _problem(code: str, detail: str) -> dict[str, str]:
    """A failure seen by the 3DS Server itself, kept in the same shape as an Erro for the result page."""
    return {"errorComponent": "S", "errorCode": code, "errorDescription": detail, "errorDetail": detail}


def threeds_authenticate(
    *,
    order: Order,
    pan: str,
    expiry: str,
    cardholder_name: str,
    browser: Browser,
    notification_url: str,
    requestor_url: str,
    server_url: str,
    ds_url: str,
    transport: Transport | None = None,
) -> Order:
    """Send the AReq for `order` to the ACS and act on its answer: challenge, result or error.

    Runs outside any database transaction: the ACS may be this very server, writing to the same
    database while we wait for its answer.
    """
    # What the card page's 3DS Method left (another request wrote it): its ID is the AReq's.
    order.refresh_from_db(fields=["method_trans_id", "method_notified_at"])
    server_trans_id, ds_trans_id = order.method_trans_id or str(uuid.uuid4()), str(uuid.uuid4())
    # One AReq per order: a second submit of the card form (a double click) leaves the first one be.
    claimed = Order.objects.filter(pk=order.pk, status=Order.Status.NEW, three_ds_server_trans_id="").update(
        three_ds_server_trans_id=server_trans_id, updated_at=clock.now()
    )
    if not claimed:
        order.refresh_from_db()
        return order
    areq = threeds_build_areq(
        pan=pan,
        expiry=expiry,
        cardholder_name=cardholder_name,
        amount=order.amount,
        currency=order.currency,
        browser=browser,
        notification_url=notification_url,
        requestor_url=requestor_url,
        server_url=server_url,
        ds_url=ds_url,
        server_trans_id=server_trans_id,
        ds_trans_id=ds_trans_id,
        purchase_date=clock.now(),
        comp_ind=method_completion(order),
    )
    now = clock.now()
    DsTransaction.objects.create(
        ds_trans_id=ds_trans_id,
        three_ds_server_trans_id=server_trans_id,
        message_version=MESSAGE_VERSION,
        message_category="01",
        order=order,
        created_at=now,
    )
    order.method = Order.Method.CARD
    order.card_masked = f"{pan[:6]}{'X' * (len(pan) - 10)}{pan[-4:]}"
    order.message_version = MESSAGE_VERSION
    order.three_ds_server_trans_id = server_trans_id
    try:
        status, raw = (transport or HttpTransport()).post_json(acs_areq_url(), json.dumps(areq).encode())
    except PeerUnreachable as exc:
        return _finish(order, Order.Status.ERROR, error=_problem("405", f"ACS unreachable ({exc})"))
    return _read_ares(order, status, raw, ds_trans_id=ds_trans_id)


def _read_ares(order: Order, status: int, raw: bytes, *, ds_trans_id: str) -> Order:
    try:
        data = load_json_object(raw)
    except ValueError:
        problem = _problem("101", f"ACS answered HTTP {status}, not JSON")
        return _finish(order, Order.Status.ERROR, error=problem)
    if data.get("messageType") == "Erro":
        try:
            erro = Erro.model_validate(data).model_dump(exclude_none=True)
        except ValidationError:
            erro = _problem("101", "the ACS's Erro message is malformed")
        return _finish(order, Order.Status.ERROR, error=erro)
    try:
        ares = ARes.model_validate(data)
    except ValidationError as exc:
        code, detail = error_elements(exc)
        return _finish(order, Order.Status.ERROR, error=_problem(code, f"ARes: {detail}"), ares=data)
    mismatched = [
        name
        for name, expected in (
            ("threeDSServerTransID", order.three_ds_server_trans_id),
            ("dsTransID", ds_trans_id),
            ("messageVersion", order.message_version),
        )
        if getattr(ares, name) != expected
    ]
    if mismatched:
        problem = _problem("305", f"ARes: {','.join(mismatched)}")
        return _finish(order, Order.Status.ERROR, error=problem, ares=data)
    DsTransaction.objects.filter(ds_trans_id=ds_trans_id).update(acs_trans_id=ares.acsTransID)
    order.acs_trans_id = ares.acsTransID
    order.trans_status = ares.transStatus
    order.trans_status_reason = ares.transStatusReason or ""
    if ares.transStatus == "C":
        assert ares.acsURL is not None  # the ARes model requires it for C
        creq = CReq(
            messageVersion=order.message_version,  # type: ignore[arg-type]
            threeDSServerTransID=order.three_ds_server_trans_id,
            acsTransID=ares.acsTransID,
            challengeWindowSize=CHALLENGE_WINDOW_SIZE,
        )
        order.acs_url = ares.acsURL
        order.creq = b64url_encode(creq.model_dump_json(exclude_none=True).encode())
        order.session_data = session_data_for(order.id)
        return _finish(order, Order.Status.CHALLENGE, ares=data)
    if ares.transStatus in ("Y", "A"):
        order.eci = ares.eci or ""
        order.authentication_value = ares.authenticationValue or ""
        return _finish(order, Order.Status.ACCEPTED, ares=data)
    if ares.transStatus in ("N", "U", "R"):
        return _finish(order, Order.Status.REFUSED, ares=data)
    # D (decoupled) and I (informational) need a requestor that asked for them; this one never does.
    problem = _problem("305", f"ARes transStatus {ares.transStatus}")
    return _finish(order, Order.Status.ERROR, error=problem, ares=data)


def _finish(
    order: Order, status: str, *, error: dict[str, Any] | None = None, ares: dict[str, Any] | None = None
) -> Order:
    order.status = status
    order.error = error
    if ares is not None:
        order.ares = ares
    order.updated_at = clock.now()
    order.save()
    return order


def threeds_challenge_complete(*, order_id: uuid.UUID, cres: str, session_data: str) -> Order | None:
    """The final CRes, posted by the ACS page in the iframe to our notificationURL.

    Nothing comes from cookies: the order is named in the URL and proven by threeDSSessionData, which
    must come back byte for byte. A second post for a finished order changes nothing.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None or not order.session_data or not crypto.equals(order.session_data, session_data):
            return None
        if order.status != Order.Status.CHALLENGE:
            return order
        try:
            data = load_json_object(b64url_decode(cres))
        except DuplicateElement as exc:
            return _finish(order, Order.Status.ERROR, error=_problem("204", f"CRes: {exc}"))
        except ValueError:
            return _finish(order, Order.Status.ERROR, error=_problem("302", "cres is not base64url JSON"))
        if data.get("messageType") == "Erro":
            try:
                erro = Erro.model_validate(data).model_dump(exclude_none=True)
            except ValidationError:
                erro = _problem("101", "the ACS's Erro message is malformed")
            order.cres = data
            return _finish(order, Order.Status.ERROR, error=erro)
        order.cres = data
        try:
            final = CRes.model_validate(data)
        except ValidationError as exc:
            code, detail = error_elements(exc)
            return _finish(order, Order.Status.ERROR, error=_problem(code, f"CRes: {detail}"))
        mismatched = [
            name
            for name, expected in (
                ("threeDSServerTransID", order.three_ds_server_trans_id),
                ("acsTransID", order.acs_trans_id),
                ("messageVersion", order.message_version),
            )
            if getattr(final, name) != expected
        ]
        if mismatched:
            return _finish(order, Order.Status.ERROR, error=_problem("305", f"CRes: {','.join(mismatched)}"))
        order.trans_status = final.transStatus
        if final.transStatus == "Y":
            return _finish(order, Order.Status.ACCEPTED)
        # The CRes does not say why; the RReq, if the DS already has it, tells a cancel from a refusal.
        cancelled = DsResult.objects.filter(
            transaction__order=order, accepted=True, rreq__challengeCancel=CANCELLED_BY_CARDHOLDER
        ).exists()
        return _finish(order, Order.Status.CANCELLED if cancelled else Order.Status.REFUSED)
