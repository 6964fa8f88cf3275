"""The demo's 3DS Server and Directory Server simulators, talking to Guichet's ACS over HTTP only.

A real 3DS Server sends its AReq to the scheme's DS, which adds `dsTransID`, `dsReferenceNumber` and
`dsURL` and forwards it to the issuer's ACS. Here one function plays both: it builds the complete
AReq a DS would forward and posts it to `GUICHET_PUBLIC_URL/3ds/areq`. The DS half then receives the
ACS's RReq at `/demo/ds/rreq`, checks it against the transaction it forwarded, answers an RRes and
keeps what it received for the shop's result page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from pydantic import ValidationError

from guichet.core import clock, crypto
from guichet.core.text import json_bad_path
from guichet.demo.shop.catalogue import SHOP_NAME
from guichet.demo.shop.messages import (
    CReq,
    CRes,
    DuplicateElement,
    RReq,
    RRes,
    b64url_decode,
    b64url_encode,
    error_elements,
    load_json_object,
)
from guichet.demo.shop.models import DsResult, DsTransaction, Order
from guichet.issuer.acs.messages import ERROR_DESCRIPTIONS, ARes, Erro
from guichet.issuer.acs.messages.fields import SUPPORTED_VERSIONS, UUID_PATTERN

MESSAGE_VERSION = "2.2.0"
# The challenge takes the width of the shop's payment panel (notes §3.4: 05 = full window).
CHALLENGE_WINDOW_SIZE: Final = "05"
THREE_DS_SERVER_REF = "GUICHET-DEMO-3DSS-0001"
DS_REFERENCE = "GUICHET-DEMO-DS-0001"
REQUESTOR_ID = "GUICHET-DEMO-REQUESTOR-0001"
ACQUIRER_BIN = "412345"
ACQUIRER_MERCHANT_ID = "LAGON-0001"
MCC = "5942"  # book stores
MERCHANT_COUNTRY = "540"  # New Caledonia, ISO 3166-1 numeric
CURRENCIES = {"EUR": ("978", 2)}
HTTP_TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024
MAX_RREQ_BYTES = 64 * 1024
_UUID = re.compile(UUID_PATTERN)
# challengeCancel 01: the cardholder chose "Annuler votre paiement" (notes §4.2).
CANCELLED_BY_CARDHOLDER: Final = "01"


@dataclass(frozen=True)
class Browser:
    """What the 3DS Server collects from the customer's browser (notes §1.2, browser elements)."""

    accept_header: str
    user_agent: str
    language: str
    ip: str
    javascript: bool
    color_depth: str = ""
    screen_height: str = ""
    screen_width: str = ""
    tz: str = ""


class PeerUnreachable(Exception):
    """The ACS did not answer over HTTP."""


class Transport(Protocol):
    def post_json(self, url: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body; (status, answer body), or raise PeerUnreachable."""


class HttpTransport:
    def post_json(self, url: str, body: bytes) -> tuple[int, bytes]:
        if urlsplit(url).scheme not in ("http", "https"):
            raise PeerUnreachable("not an http(s) URL")
        request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (scheme checked above)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                return response.status, response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(MAX_ANSWER_BYTES)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PeerUnreachable(type(getattr(exc, "reason", exc)).__name__) from None


def acs_areq_url() -> str:
    return f"{settings.GUICHET.public_url}/3ds/areq"


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
        "threeDSCompInd": "U",  # no 3DS Method in the demo
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
    server_trans_id, ds_trans_id = str(uuid.uuid4()), str(uuid.uuid4())
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


# --- the Directory Server simulator ---------------------------------------------------------------


def _ds_erro(code: str, detail: str, data: dict[str, Any] | None) -> dict[str, Any]:
    def uuid_of(key: str) -> str | None:
        value = (data or {}).get(key)
        return value if isinstance(value, str) and _UUID.fullmatch(value) else None

    version = (data or {}).get("messageVersion")
    erro = Erro(
        messageVersion=version if version in SUPPORTED_VERSIONS else MESSAGE_VERSION,
        errorCode=code,  # type: ignore[arg-type]
        errorComponent="D",
        errorDescription=ERROR_DESCRIPTIONS[code],
        errorDetail=detail[:2048] or "message",
        errorMessageType="RReq",
        threeDSServerTransID=uuid_of("threeDSServerTransID"),
        acsTransID=uuid_of("acsTransID"),
        dsTransID=uuid_of("dsTransID"),
    )
    return erro.model_dump(exclude_none=True)


def _check_rreq(raw: bytes) -> tuple[dict[str, Any] | None, DsTransaction | None, dict[str, Any], bool]:
    """(message as received, its transaction, the answer, accepted?)."""
    if len(raw) > MAX_RREQ_BYTES:
        return None, None, _ds_erro("101", "message too large", None), False
    try:
        data = load_json_object(raw)
    except DuplicateElement as exc:
        return None, None, _ds_erro("204", str(exc), None), False
    except ValueError:
        return None, None, _ds_erro("101", "message is not a JSON object", None), False
    bad = json_bad_path(data)
    if bad is not None:  # no element allows one, and the row below could not hold it (PostgreSQL)
        return None, None, _ds_erro("203", bad.split(".")[0] or "(unnamed)", None), False
    if data.get("messageType") != "RReq":
        return data, None, _ds_erro("101", "messageType", data), False
    if "messageVersion" not in data:
        return data, None, _ds_erro("201", "messageVersion", data), False
    if data["messageVersion"] not in SUPPORTED_VERSIONS:
        return data, None, _ds_erro("102", "messageVersion", data), False
    try:
        rreq = RReq.model_validate(data)
    except ValidationError as exc:
        code, detail = error_elements(exc)
        return data, None, _ds_erro(code, detail, data), False
    known = DsTransaction.objects.filter(ds_trans_id=rreq.dsTransID).first()
    if known is None:
        return data, None, _ds_erro("301", "dsTransID", data), False
    wrong = [
        name
        for name, expected in (
            ("threeDSServerTransID", known.three_ds_server_trans_id),
            ("acsTransID", known.acs_trans_id),
        )
        if getattr(rreq, name) != expected
    ]
    if wrong:
        return data, known, _ds_erro("301", ",".join(wrong), data), False
    if rreq.messageVersion != known.message_version or rreq.messageCategory != known.message_category:
        detail = "messageVersion" if rreq.messageVersion != known.message_version else "messageCategory"
        return data, known, _ds_erro("305", detail, data), False
    rres = RRes(
        messageVersion=rreq.messageVersion,
        threeDSServerTransID=rreq.threeDSServerTransID,
        acsTransID=rreq.acsTransID,
        dsTransID=rreq.dsTransID,
        resultsStatus="01",
    )
    return data, known, rres.model_dump(), True


def ds_rreq_receive(*, raw: bytes) -> dict[str, Any]:
    """Check an RReq from the ACS and answer an RRes, or an Erro naming what is wrong; keep both.

    An RReq sent again for the same transaction (the ACS retrying after a lost answer) gets the same
    RRes again; each arrival is recorded.
    """
    data, known, answer, accepted = _check_rreq(raw)
    DsResult.objects.create(
        transaction=known, received_at=clock.now(), accepted=accepted, rreq=data, answer=answer
    )
    cancel = (data or {}).get("challengeCancel") == CANCELLED_BY_CARDHOLDER
    if accepted and cancel and known is not None and known.order_id is not None:
        # The final CRes (transStatus N) may have come first and refused the order: it was a cancel.
        Order.objects.filter(pk=known.order_id, status=Order.Status.REFUSED, trans_status="N").update(
            status=Order.Status.CANCELLED, updated_at=clock.now()
        )
    return answer


def ds_results(order: Order) -> list[DsResult]:
    """The RReqs the DS received for this order's transaction, oldest first."""
    return list(DsResult.objects.filter(transaction__order=order).order_by("id"))
