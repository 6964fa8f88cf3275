"""The AReq's steps, from the DS's bytes to the ARes or Erro: parse, look up the card, decide, build
the answer and its rows (store.py writes them). Never raises to the DS: a failure is an Erro."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.core.masking import mask_pan
from guichet.issuer.acs import store
from guichet.issuer.acs.authvalue import Method, scheme_of
from guichet.issuer.acs.device_store import DeviceSeen, device_lookup
from guichet.issuer.acs.messages import AReq, ARes, Erro, areq_erro, parse_areq
from guichet.issuer.acs.messages.nested import calendar_datetime
from guichet.issuer.acs.method import OBSERVATION_TTL
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.rules import BROWSER, Decision, RuleContext, decide, rules_load
from guichet.issuer.acs.services import (
    AUTHENTICATION_TYPE_DYNAMIC,
    AV_STATUSES,
    CHALLENGE_PATH,
    DEMO_DS_PATH,
    AuthenticationProof,
    challenge_methods,
    masked,
    outcome_for,
)
from guichet.issuer.acs.store import Built, row
from guichet.issuer.cards.models import Card

logger = logging.getLogger(__name__)


def in_card_ranges(pan: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    """Whether the PAN's leading digits fall in one of the configured ranges (all PANs when none)."""
    return not ranges or any(start <= pan[: len(start)] <= end for start, end in ranges)


def _purchase_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = calendar_datetime(value)  # validated by parse_areq
    return moment.replace(tzinfo=dt.UTC) if moment is not None else None


def _ares(
    areq: AReq, acs_trans_id: str, decision: Decision, outcome: AuthenticationProof, *, sms_only: bool
) -> ARes:
    config = settings.GUICHET
    status = decision.trans_status
    v231 = areq.messageVersion == "2.3.1"
    wire: dict[str, Any] = {
        "messageType": "ARes",
        "messageVersion": areq.messageVersion,
        "threeDSServerTransID": areq.threeDSServerTransID,
        "dsTransID": areq.dsTransID,
        "dsReferenceNumber": areq.dsReferenceNumber,
        "acsTransID": acs_trans_id,
        "acsReferenceNumber": config.acs.reference_number,
        "transStatus": status,
    }
    if config.acs.operator_id:
        wire["acsOperatorID"] = config.acs.operator_id
    if status in ("N", "U", "R"):
        wire["transStatusReason"] = decision.reason
    if status == "C":
        wire["acsURL"] = config.public_url + CHALLENGE_PATH
        wire["acsChallengeMandated"] = "Y" if decision.challenge_mandated else "N"
        if v231:
            wire["authenticationMethod"] = challenge_methods(sms_only=sms_only)
        else:
            wire["authenticationType"] = AUTHENTICATION_TYPE_DYNAMIC
    if outcome.authentication_value:
        wire["authenticationValue"] = outcome.authentication_value
    if outcome.eci:
        wire["eci"] = outcome.eci
    if decision.cardholder_info:
        text = decision.cardholder_info
        wire["cardholderInfo"] = {"text": text} if v231 else text
    if areq.sdkTransID is not None:
        wire["sdkTransID"] = areq.sdkTransID
    return ARes.model_validate(wire)


def _answer(areq: AReq, acs_trans_id: str, ip: str) -> dict[str, Any]:
    now = clock.now()
    pan = areq.acctNumber
    looked_up = (
        store.card_lookup(pan) if in_card_ranges(pan, settings.GUICHET.acs.card_ranges) else (None, None)
    )
    card, blocked_until = looked_up
    key = device_key(areq)
    device = None
    if key is not None and card is not None:
        device = device_lookup(key=key, card_id=card.pk, since=now - OBSERVATION_TTL)
    context = areq_context(areq=areq, card=card, blocked_until=blocked_until, now=now, device=device)
    chosen = decide(context=context, issuer_rules=rules_load(settings.GUICHET.acs.rules))
    built = areq_build(areq=areq, acs_trans_id=acs_trans_id, ip=ip, context=context, chosen=chosen)
    store.areq_store(built)
    areq_broken_log(built)
    return built.wire


def device_key(areq: AReq) -> uuid.UUID | None:
    """The 3DS Method run whose observation this AReq may be joined to: only a browser AReq that says
    the Method completed (threeDSCompInd Y) has one, named by threeDSMethodId in 2.3.1 when the run
    was an earlier one, else by its own threeDSServerTransID. N and U (or the Method off): None."""
    if areq.deviceChannel != BROWSER or areq.threeDSCompInd != "Y" or not settings.GUICHET.acs.method:
        return None
    return uuid.UUID(areq.threeDSMethodId or areq.threeDSServerTransID)


def areq_context(
    *,
    areq: AReq,
    card: Card | None,
    blocked_until: dt.datetime | None,
    now: dt.datetime,
    device: DeviceSeen | None = None,
) -> RuleContext:
    """What the decision rules see: the AReq, the card found (None when unknown), its ePin block, and
    the 3DS Method's device (None: none joined)."""
    config = settings.GUICHET
    return RuleContext(
        areq=areq,
        card=card,
        cardholder=card.cardholder if card is not None else None,
        epin_blocked_until=blocked_until if blocked_until is not None and blocked_until > now else None,
        now=now,
        scheme=scheme_of(areq.acctNumber),
        public_url=config.public_url,
        no_epin_policy=config.acs.no_epin_policy,
        device_hash=device.hash if device is not None else "",
        device_recognised=device is not None and device.recognised,
    )


def areq_broken_log(built: Built) -> None:
    if built.broken:
        skipped = ", ".join(built.broken)
        logger.error("ACS rule(s) %s failed or answered an invalid decision; skipped", skipped)


def areq_build(
    *, areq: AReq, acs_trans_id: str, ip: str, context: RuleContext, chosen: tuple[str, Decision, list[str]]
) -> Built:
    """The ARes for the chosen decision (`rules.decide`'s answer) and the rows to store. No I/O."""
    rule, decision, broken = chosen
    now, pan, scheme, card = context.now, areq.acctNumber, context.scheme, context.card
    if decision.trans_status == "C" and areq.messageVersion == "2.3.1" and not settings.GUICHET.https:
        # 2.3.1 wants an https acsURL: behind a plain-http GUICHET_PUBLIC_URL no challenge can be offered.
        rule, decision = "acs_url_not_https", Decision("U", "22")  # ACS technical issue
    status = decision.trans_status
    holder = context.cardholder
    sms_only = status == "C" and holder is not None and not holder.has_epin
    outcome = AuthenticationProof(eci="", authentication_value="")
    if status in AV_STATUSES:
        outcome = outcome_for(
            scheme=scheme,
            pan=pan,
            trans_status=status,
            # attempts processing: nobody was authenticated, whatever the rule left as default
            method=Method.ATTEMPTS
            if status == "A" and decision.method == Method.FRICTIONLESS
            else decision.method,
            acs_trans_id=acs_trans_id,
            message_category=areq.messageCategory,
            message_version=areq.messageVersion,
            amount=areq.purchaseAmount or "",
            currency=areq.purchaseCurrency or "",
            merchant_name=areq.merchantName or "",
        )
    ares = _ares(areq, acs_trans_id, decision, outcome, sms_only=sms_only)
    record = row(
        AcsTransaction,
        acs_trans_id=uuid.UUID(acs_trans_id),
        message_version=areq.messageVersion,
        message_category=areq.messageCategory,
        device_channel=areq.deviceChannel,
        three_ds_server_trans_id=uuid.UUID(areq.threeDSServerTransID),
        ds_trans_id=uuid.UUID(areq.dsTransID),
        ds_reference_number=areq.dsReferenceNumber,
        ds_url=areq.dsURL,
        notification_url=areq.notificationURL or "",
        browser_language=areq.language,
        # The first indicator (2.3.1 sends an array): the logged AReq beside it keeps them all.
        challenge_ind=next(iter(areq.challenge_indicators), ""),
        card_id=card.pk if card is not None else None,
        cardholder_id=holder.pk if holder is not None else None,
        scheme=scheme,
        masked_pan=mask_pan(pan[:6], pan[-4:], len(pan)),
        merchant_name=areq.merchantName or "",
        purchase_amount=areq.purchaseAmount or "",
        purchase_currency=areq.purchaseCurrency or "",
        purchase_exponent=int(areq.purchaseExponent) if areq.purchaseExponent else None,
        purchase_date=_purchase_date(areq.purchaseDate),
        state=AcsTransaction.State.AWAITING_CREQ if status == "C" else AcsTransaction.State.FRICTIONLESS,
        decided_by=rule,
        sms_only=sms_only,
        trans_status=status,
        trans_status_reason=ares.transStatusReason or "",
        authentication_type=ares.authenticationType or "",
        eci=outcome.eci,
        authentication_value=outcome.authentication_value,
        device_hash=context.device_hash,
        created_at=now,
        ares_sent_at=now,
        updated_at=now,
    )
    ares_wire = ares.model_dump(exclude_none=True)
    tx_id = record["acs_trans_id"]
    messages = [
        {"transaction_id": tx_id, "kind": kind, "direction": direction, "body": masked(body),
         "created_at": now}
        for kind, direction, body in (
            (AcsMessage.Kind.AREQ, AcsMessage.Direction.IN, areq.model_dump(exclude_none=True)),
            (AcsMessage.Kind.ARES, AcsMessage.Direction.OUT, ares_wire),
        )
    ]  # fmt: skip
    detail: dict[str, Any] = {
        "trans_status": status,
        "reason": decision.reason,
        "rule": rule,
        "card_known": card is not None,
        "ds_trans_id": areq.dsTransID,
    }
    if broken:
        detail["broken_rules"] = broken
    audit = {
        "at": clock.now(),
        "event": Event.ACS_AREQ_ANSWERED,
        "subject": acs_trans_id,
        "ip": ip,
        "outcome": _auditoutcome_for(status),
        "detail": detail,
    }
    return Built(wire=ares_wire, record=record, messages=messages, audit=audit, broken=broken)


def _auditoutcome_for(status: str) -> str:
    if status in AV_STATUSES:
        return AuditEvent.Outcome.SUCCESS
    if status in ("N", "R"):
        return AuditEvent.Outcome.REFUSED
    return AuditEvent.Outcome.INFO


def _erro_wire(erro: Erro) -> dict[str, Any]:
    return erro.model_dump(exclude_none=True)


def _audit_refused(erro: Erro, ip: str) -> None:
    try:
        audit_record(
            event=Event.ACS_AREQ_REFUSED,
            subject=erro.acsTransID or "",
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            error_code=erro.errorCode,
            # PostgreSQL's jsonb cannot hold U+0000, which a hostile element name may carry.
            error_detail=erro.errorDetail[:200].replace("\x00", ""),
            ds_trans_id=erro.dsTransID or "",
        )
    except DatabaseError:  # the Erro still goes back to the DS
        logger.exception("ACS: could not audit a refused AReq")


def new_acs_trans_id() -> str:
    """A fresh acsTransID (RFC 4122 random UUID); tests replace it to compare whole messages."""
    return str(uuid.uuid4())


def acs_ds_urls() -> tuple[str, ...]:
    """The prefixes a dsURL may start with: GUICHET_ACS_DS_URLS, and in demo and test modes the demo's
    DS simulator at this server's own URL (whatever GUICHET_PUBLIC_URL is)."""
    config = settings.GUICHET
    if config.mode == "serve":
        return config.acs.ds_urls
    return (*config.acs.ds_urls, config.public_url + DEMO_DS_PATH)


def areq_parse(*, raw: bytes, acs_trans_id: str) -> AReq | Erro:
    """`parse_areq`, then the DS check: an AReq naming a dsURL outside GUICHET_ACS_DS_URLS gets Erro 203
    (dsURL) and nothing is stored, so no RReq is ever posted for it. A prefix match, no DNS."""
    parsed = parse_areq(raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro) or parsed.dsURL.startswith(acs_ds_urls()):
        return parsed
    return areq_erro(code="203", detail="dsURL", data=_ids(parsed), acs_trans_id=acs_trans_id)


def _ids(areq: AReq) -> dict[str, Any]:
    """What an Erro echoes of a valid AReq."""
    return {
        "messageVersion": areq.messageVersion,
        "threeDSServerTransID": areq.threeDSServerTransID,
        "dsTransID": areq.dsTransID,
    }


def acs_areq_answer(*, raw: bytes, ip: str) -> dict[str, Any]:
    """The ARes or Erro (as JSON) for an AReq body. Never raises: a failure here is an Erro 403/404."""
    acs_trans_id = new_acs_trans_id()
    parsed = areq_parse(raw=raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro):
        return areq_refused(erro=parsed, ip=ip)
    try:
        return _answer(parsed, acs_trans_id, ip)
    except Exception as exc:  # noqa: BLE001 (the DS gets an Erro, the failure goes to the log)
        erro = areq_failure(areq=parsed, acs_trans_id=acs_trans_id, exc=exc)
        return areq_refused(erro=erro, ip=ip)


def areq_refused(*, erro: Erro, ip: str) -> dict[str, Any]:
    """Audit an Erro sent for an AReq and give it as JSON (synchronous: uses Django's connection)."""
    _audit_refused(erro, ip)
    return _erro_wire(erro)


def areq_failure(*, areq: AReq, acs_trans_id: str, exc: BaseException) -> Erro:
    """The Erro for a valid AReq whose answer failed: 403 when the database did, 404 otherwise."""
    data = _ids(areq)
    # Django wraps the driver's errors in DatabaseError; the event-loop path gets psycopg's own.
    if isinstance(exc, DatabaseError | psycopg.Error):
        logger.error("ACS: database failure while answering an AReq", exc_info=exc)
        return areq_erro(code="403", detail="ACS database unavailable", data=data, acs_trans_id=acs_trans_id)
    logger.error("ACS: failure while answering an AReq", exc_info=exc)
    return areq_erro(code="404", detail="ACS processing failure", data=data, acs_trans_id=acs_trans_id)
