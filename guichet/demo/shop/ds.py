"""The demo's Directory Server simulator: it receives the ACS's RReq at `/demo/ds/rreq`, checks it
against the transaction it forwarded (guichet.demo.shop.threeds played the DS's forwarding half),
answers an RRes and keeps what it received for the shop's result page."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from guichet.core import clock
from guichet.core.text import json_bad_path
from guichet.demo.shop.messages import (
    DEMO_VERSIONS,
    DuplicateElement,
    RReq,
    RRes,
    error_elements,
    load_json_object,
)
from guichet.demo.shop.models import DsResult, DsTransaction, Order
from guichet.demo.shop.threeds import CANCELLED_BY_CARDHOLDER, MESSAGE_VERSION
from guichet.issuer.acs.messages import ERROR_DESCRIPTIONS, Erro
from guichet.issuer.acs.messages.fields import UUID_PATTERN

MAX_RREQ_BYTES = 64 * 1024
_UUID = re.compile(UUID_PATTERN)


def _ds_erro(code: str, detail: str, data: dict[str, Any] | None) -> dict[str, Any]:
    def uuid_of(key: str) -> str | None:
        value = (data or {}).get(key)
        return value if isinstance(value, str) and _UUID.fullmatch(value) else None

    version = (data or {}).get("messageVersion")
    erro = Erro(
        messageVersion=version if version in DEMO_VERSIONS else MESSAGE_VERSION,
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
    if data["messageVersion"] not in DEMO_VERSIONS:
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
