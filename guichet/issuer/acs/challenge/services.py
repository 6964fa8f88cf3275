"""The browser challenge (seed 004 §7): CReq, ePin and SMS steps, outcome, RReq, final CRes.

The state of a challenge lives in the database (`Challenge`, keyed by acsTransID), so any server
process can take the next step and no cookie is needed inside the merchant's iframe. Each page's form
carries a single-use random token whose keyed hash is stored: it stands in for Django's CSRF cookie,
which a cross-site iframe would not send.

The ePin typed at step 1 is not checked alone: it is kept encrypted until the SMS code of step 2 and
both are checked together, in one `credential_check` on the cardholder's throttle key, so the answer
never says which one was wrong (PSD2 RTS art. 4) and the core blocks after 5 consecutive failures
across transactions. Each attempt sends its own SMS code, bound to this acsTransID and attempt.
Since any ePin gets an SMS, SMS codes are also capped per cardholder and hour across transactions:
past the cap the challenge ends with transStatusReason 04 "Exceeds authentication frequency limit"
(notes §2.3), whatever the ePin typed, so the cap says nothing about it either.

Outcomes (notes §3.6, §6):
| what | RReq transStatus / transStatusReason / challengeCancel | final CRes |
| both codes right | Y / - / - (with eci and authenticationValue) | Y |
| attempts used up, or the cardholder blocked | N / 19 / - | N |
| GUICHET_ACS_SMS_PER_HOUR codes already sent to the cardholder this hour | N / 04 / - | N |
| "Annuler votre paiement" | N / 01 / 01 | N |
| no CReq within 30 s of the ARes | N / 14 / 05 | Erro 402 if the CReq comes late |
| challenge not ended within 10 minutes | N / 14 / 04 | N when the browser comes back |
| a page left more than GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT (5 minutes) | N / 14 / 04 | likewise |

The RReq is queued in the outbox in the same database transaction as the outcome, and delivered by
the outbox (retried with back-off until a valid RRes comes back). The final CRes does not wait for
the RRes: the "Authentification en cours" page pauses about a second in the browser (no server
thread is held), which usually lets the RReq go first, then posts the CRes whatever the DS did.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import secrets
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from pydantic import ValidationError

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.ratelimit import rate_allow
from guichet.codes.services import (
    Blocked,
    CodeSpec,
    SendRefused,
    codes_issue,
    codes_verify,
    credential_check,
    throttle_blocked_until,
)
from guichet.core import clock, crypto
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError
from guichet.delivery.services import outbox_enqueue_http, outbox_enqueue_sms
from guichet.issuer.acs.authvalue import Method
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.messages.creq import CReq, b64url_encode, creq_erro, parse_creq
from guichet.issuer.acs.messages.cres import CRes
from guichet.issuer.acs.messages.erro import Erro
from guichet.issuer.acs.messages.rreq import RReq
from guichet.issuer.acs.messages.rres import RRes
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.rules import language_of
from guichet.issuer.acs.services import acs_message_log, acs_outcome, acs_transaction_get
from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import EPIN, epin_matches
from guichet.issuer.enrollment.services import blocked_alert

PURPOSE = "acs-challenge"
SMS_CODE = CodeSpec(channel="sms", length=8)
OTP = re.compile(r"[0-9]{8}")
CREQ_TIMEOUT = dt.timedelta(seconds=30)
CHALLENGE_TIMEOUT = dt.timedelta(minutes=10)
LATE_CREQ = "CReq not received within 30 seconds of the ARes"
RREQ_KIND = "3ds.rreq"
RREQ_VALID_FOR = dt.timedelta(hours=1)
SMS_CAP_WINDOW = dt.timedelta(hours=1)
# threeDSSessionData: "up to 1024 Base64-URL encoded characters" (notes §3.2); some requestors use
# plain base64. Printable ASCII without spaces comes back through an HTML form unchanged.
SESSION_DATA = re.compile(r"[\x21-\x7e]{0,2048}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Why a page shows an error (Challenge.error / Screen.error).
WRONG = "wrong"
EPIN_FORMAT = "epin_format"
OTP_FORMAT = "otp_format"
SMS_NOT_SENT = "sms_not_sent"
SMS_CAPPED = "sms_capped"
CANCELLED = "cancelled"
ATTEMPTS = "attempts"
TIMEOUT = "timeout"
BLOCKED = "blocked"


@dataclass(frozen=True)
class Outcome:
    trans_status: str  # Y or N
    reason: str = ""  # transStatusReason
    cancel: str = ""  # challengeCancel
    why: str = ""  # one of the error keys above, for the final page


SUCCESS = Outcome("Y")
OUT_OF_ATTEMPTS = Outcome("N", "19", "", ATTEMPTS)
BLOCKED_OUTCOME = Outcome("N", "19", "", BLOCKED)
SMS_CAP_OUTCOME = Outcome("N", "04", "", SMS_CAPPED)
CARDHOLDER_CANCEL = Outcome("N", "01", "01", CANCELLED)
CREQ_TIMED_OUT = Outcome("N", "14", "05", TIMEOUT)
CHALLENGE_TIMED_OUT = Outcome("N", "14", "04", TIMEOUT)


@dataclass
class Screen:
    """What the view shows. `kind`:
    * "step": the ePin or SMS page (a fresh `token` for its form);
    * "progress": "Authentification en cours", which posts on to the final page;
    * "post": the final CRes (or an Erro) auto-posted to `post_url` with `post_fields`;
    * "erro": an Erro shown in the page (the transaction or its notificationURL is not known);
    * "refused": a form whose token is not the current one (nothing changed).
    """

    kind: str
    status: int = 200
    language: str = "fr"
    challenge: Challenge | None = None
    tx: AcsTransaction | None = None
    token: str = ""
    error: str = ""
    post_url: str = ""
    post_fields: dict[str, str] = field(default_factory=dict)
    outcome: str = ""  # Y or N on the final page
    erro: Erro | None = None


# --- small helpers -----------------------------------------------------------------------------


def _token_hash(acs_trans_id: str, token: str) -> str:
    return crypto.keyed_hash("acs-challenge-form", acs_trans_id, token)


def _new_token(challenge: Challenge) -> str:
    token = secrets.token_urlsafe(32)
    challenge.token_hash = _token_hash(str(challenge.transaction_id), token)
    return token


def _log(tx: AcsTransaction, kind: str, direction: str, body: dict[str, Any]) -> None:
    acs_message_log(transaction=tx, kind=kind, direction=direction, body=body)


def _wire(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def _holder(tx: AcsTransaction) -> Cardholder | None:
    return tx.cardholder


def _audit_erro(erro: Erro, *, ip: str, posted: bool) -> None:
    audit_record(
        event=Event.ACS_CREQ_REFUSED,
        subject=erro.acsTransID or "",
        ip=ip,
        outcome=AuditEvent.Outcome.REFUSED,
        error_code=erro.errorCode,
        detail=erro.errorDetail[:200],
        posted=posted,
    )


def _erro_post(tx: AcsTransaction, erro: Erro, session_data: str | None, language: str, *, ip: str) -> Screen:
    """The Erro auto-posted to the transaction's notificationURL, in the `cres` field (notes §3.1)."""
    _audit_erro(erro, ip=ip, posted=True)
    body = _wire(erro)
    _log(tx, AcsMessage.Kind.ERRO, AcsMessage.Direction.OUT, body)
    fields = {"cres": b64url_encode(json.dumps(body, separators=(",", ":")).encode())}
    if session_data is not None:
        fields["threeDSSessionData"] = session_data
    return Screen(
        kind="post",
        tx=tx,
        language=language,
        post_url=tx.notification_url,
        post_fields=fields,
        outcome="N",
        erro=erro,
        error=TIMEOUT if erro.errorCode == "402" else "",
    )


def _erro_shown(erro: Erro, *, ip: str, status: int = 400) -> Screen:
    """The Erro shown in the page: the request is not linked to a transaction we can answer."""
    _audit_erro(erro, ip=ip, posted=False)
    return Screen(kind="erro", status=status, erro=erro)


# --- outcome, RReq ---------------------------------------------------------------------------------


def _rreq(tx: AcsTransaction) -> RReq:
    v220 = tx.message_version != "2.1.0"
    return RReq.model_validate(
        {
            "messageType": "RReq",
            "messageVersion": tx.message_version,
            "threeDSServerTransID": str(tx.three_ds_server_trans_id),
            "acsTransID": str(tx.acs_trans_id),
            "dsTransID": str(tx.ds_trans_id),
            "messageCategory": tx.message_category,
            "transStatus": tx.trans_status,
            "transStatusReason": tx.trans_status_reason or None,
            "authenticationType": tx.authentication_type or "02",
            "authenticationMethod": (tx.authentication_method or None) if v220 else None,
            "authenticationValue": tx.authentication_value or None,
            "eci": tx.eci or None,
            "interactionCounter": f"{min(tx.interaction_counter, 99):02d}",
            "challengeCancel": tx.challenge_cancel or None,
        }
    )


def _finish(
    tx: AcsTransaction, challenge: Challenge | None, outcome: Outcome, *, ip: str = "", **detail: str
) -> bool:
    """Record the outcome and queue the RReq, once: False when another process finished it first.

    Must run inside a transaction. `detail` goes into the audit event (e.g. which timer ran out).
    """
    now = clock.now()
    won = AcsTransaction.objects.filter(
        pk=tx.pk, state__in=(AcsTransaction.State.AWAITING_CREQ, AcsTransaction.State.CHALLENGE)
    ).update(state=AcsTransaction.State.RESULT_SENT, finished_at=now, updated_at=now)
    if not won:
        tx.refresh_from_db()
        return False
    tx.state = AcsTransaction.State.RESULT_SENT
    tx.finished_at = tx.updated_at = now
    tx.trans_status = outcome.trans_status
    tx.trans_status_reason = outcome.reason
    tx.challenge_cancel = outcome.cancel
    interacted = challenge is not None and challenge.attempts_used > 0
    tx.interaction_counter = (challenge.attempts_used if challenge else 0) + (outcome.trans_status == "Y")
    # The ePin and the SMS code, or the SMS code alone: an SMS OTP either way (notes §2.4).
    tx.authentication_method = "02" if (interacted or outcome.trans_status == "Y") else ""
    values = acs_outcome(transaction=tx, trans_status=outcome.trans_status, method=Method.SMS_OTP)
    tx.eci, tx.authentication_value = values.eci, values.authentication_value
    tx.save(
        update_fields=[
            "trans_status", "trans_status_reason", "challenge_cancel", "interaction_counter",
            "authentication_method", "eci", "authentication_value",
        ]
    )  # fmt: skip
    rreq = _rreq(tx)
    body = _wire(rreq)
    outbox_enqueue_http(
        kind=RREQ_KIND,
        key=f"rreq:{tx.acs_trans_id}",
        url=tx.ds_url,
        body=json.dumps(body, separators=(",", ":")).encode(),
        valid_for=RREQ_VALID_FOR,
    )
    _log(tx, AcsMessage.Kind.RREQ, AcsMessage.Direction.OUT, body)
    if challenge is not None:
        if challenge.step != Challenge.Step.DONE:
            challenge.ended_step = challenge.step
        challenge.step = Challenge.Step.DONE
        challenge.epin_encrypted = None
        challenge.error = outcome.why
        challenge.updated_at = now
        challenge.save(
            update_fields=["step", "ended_step", "epin_encrypted", "error", "updated_at", "token_hash"]
        )
    audit_record(
        event=Event.ACS_CHALLENGE_RESULT,
        subject=str(tx.acs_trans_id),
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS if outcome.trans_status == "Y" else AuditEvent.Outcome.FAILURE,
        trans_status=outcome.trans_status,
        reason=outcome.reason,
        challenge_cancel=outcome.cancel,
        interaction_counter=tx.interaction_counter,
        **detail,
    )
    return True


def rreq_tls() -> ssl.SSLContext | None:
    """The TLS context of RReqs: presenting GUICHET_ACS_RREQ_CLIENT_CERT when set (a DS that
    authenticates its ACSs by certificate), else the default one."""
    acs = settings.GUICHET.acs
    return _client_context(acs.rreq_client_cert, acs.rreq_client_key) if acs.rreq_client_cert else None


@functools.lru_cache(maxsize=4)
def _client_context(cert: str, key: str) -> ssl.SSLContext:
    # Built once per pair of files: loading a chain costs far more than the post itself.
    context = ssl.create_default_context()
    context.load_cert_chain(cert, key)
    return context


def rreq_accept(message: OutboxMessage, status: int, body: bytes) -> None:
    """The outbox's acceptance test for an RReq: a 2xx carrying a valid RRes for this transaction.

    Anything else (an Erro, garbage, another transaction's RRes) is retried with back-off.
    """
    if not 200 <= status < 300:
        raise DeliveryError(f"DS answered {status}")
    acs_trans_id = message.recipient.removeprefix("rreq:")
    try:
        rres = RRes.model_validate_json(body)
    except ValidationError:
        raise DeliveryError("DS answer is not a valid RRes") from None
    tx = AcsTransaction.objects.filter(pk=acs_trans_id).first()
    if tx is None or rres.acsTransID.lower() != acs_trans_id.lower():
        raise DeliveryError("RRes for another transaction")
    if rres.threeDSServerTransID.lower() != str(tx.three_ds_server_trans_id) or (
        rres.dsTransID.lower() != str(tx.ds_trans_id)
    ):
        raise DeliveryError("RRes identifiers do not match the RReq")
    with transaction.atomic():
        _log(tx, AcsMessage.Kind.RRES, AcsMessage.Direction.IN, _wire(rres))
        now = clock.now()
        AcsTransaction.objects.filter(pk=tx.pk, state=AcsTransaction.State.RESULT_SENT).update(
            state=AcsTransaction.State.COMPLETED, updated_at=now
        )
        audit_record(
            event=Event.ACS_RRES_RECEIVED,
            subject=str(tx.acs_trans_id),
            outcome=AuditEvent.Outcome.SUCCESS,
            results_status=rres.resultsStatus,
        )


# --- the CReq ----------------------------------------------------------------------------------------


def _sms_allowed(tx: AcsTransaction, holder: Cardholder, *, ip: str) -> bool:
    """Whether the cardholder may get one more challenge SMS this hour (counted when it may)."""
    limit = settings.GUICHET.acs.sms_per_hour
    if rate_allow(key=f"acs-sms:{holder.throttle_key}", limit=limit, window=SMS_CAP_WINDOW):
        return True
    audit_record(
        event=Event.ACS_SMS_CAPPED,
        subject=holder.throttle_key,
        ip=ip,
        outcome=AuditEvent.Outcome.REFUSED,
        acs_trans_id=str(tx.acs_trans_id),
        limit=limit,
    )
    return False


def _send_code(tx: AcsTransaction, challenge: Challenge, holder: Cardholder, *, ip: str) -> str:
    """The SMS code of the next attempt, naming the merchant and the amount (dynamic linking).

    "" when it is queued, else why not: SMS_CAPPED (the cardholder's hourly cap) or SMS_NOT_SENT.
    """
    from guichet.issuer.acs.challenge.display import amount_display, merchant_display

    if not _sms_allowed(tx, holder, ip=ip):
        return SMS_CAPPED
    attempt = challenge.attempts_used + 1
    try:
        codes = codes_issue(
            purpose=PURPOSE, subject=f"acs:{tx.acs_trans_id}:{attempt}", specs=[SMS_CODE], ip=ip
        )
    except (Blocked, SendRefused):
        return SMS_NOT_SENT
    outbox_enqueue_sms(
        to=holder.phone,
        template="acs_challenge_code",
        language=challenge.language,
        context={
            "code": codes["sms"],
            "brand": settings.GUICHET.branding,
            "merchant": merchant_display(tx),
            "amount": amount_display(tx, challenge.language),
        },
        # Sent with the page that asks for it: undelivered once that page has expired (inactivity).
        valid_for=_idle_limit(),
    )
    return ""


def _step_screen(challenge: Challenge, tx: AcsTransaction, *, error: str = "") -> Screen:
    token = _new_token(challenge)
    challenge.error = error
    challenge.updated_at = challenge.served_at = clock.now()
    challenge.save(
        update_fields=[
            "token_hash", "error", "updated_at", "served_at", "step", "attempts_used", "epin_encrypted",
        ]
    )  # fmt: skip
    kind = "progress" if challenge.step == Challenge.Step.DONE else "step"
    return Screen(
        kind=kind, language=challenge.language, challenge=challenge, tx=tx, token=token, error=error
    )


def _final_screen(challenge: Challenge, tx: AcsTransaction) -> Screen:
    token = _new_token(challenge)  # a replay of the previous page's form is refused
    challenge.save(update_fields=["token_hash"])
    cres = CRes(
        messageVersion=tx.message_version,  # type: ignore[arg-type]
        threeDSServerTransID=str(tx.three_ds_server_trans_id),
        acsTransID=str(tx.acs_trans_id),
        transStatus="Y" if tx.trans_status == "Y" else "N",
    )
    body = _wire(cres)
    _log(tx, AcsMessage.Kind.CRES, AcsMessage.Direction.OUT, body)
    fields = {"cres": b64url_encode(json.dumps(body, separators=(",", ":")).encode())}
    if challenge.session_data is not None:
        fields["threeDSSessionData"] = challenge.session_data
    audit_record(event=Event.ACS_CRES_POSTED, subject=str(tx.acs_trans_id), trans_status=cres.transStatus)
    return Screen(
        kind="post",
        language=challenge.language,
        challenge=challenge,
        tx=tx,
        token=token,
        error=challenge.error,
        post_url=tx.notification_url,
        post_fields=fields,
        outcome=cres.transStatus,
    )


def _open_challenge(tx: AcsTransaction, creq: CReq, session_data: str | None, *, ip: str) -> Screen:
    """The CReq of a transaction awaiting one, in time: the challenge starts."""
    now = clock.now()
    won = AcsTransaction.objects.filter(pk=tx.pk, state=AcsTransaction.State.AWAITING_CREQ).update(
        state=AcsTransaction.State.CHALLENGE, creq_received_at=now, updated_at=now
    )
    if not won:  # another process took it (a double post): answer as for a repeated CReq
        tx.refresh_from_db()
        return _known_creq(tx, creq, session_data, ip=ip)
    tx.state, tx.creq_received_at = AcsTransaction.State.CHALLENGE, now
    challenge = Challenge(
        transaction=tx,
        step=Challenge.Step.SMS if tx.sms_only else Challenge.Step.EPIN,
        window_size=creq.challengeWindowSize,
        language=language_of(tx.browser_language),
        session_data=session_data,
        max_attempts=settings.GUICHET.acs.challenge_attempts,
        deadline=now + CHALLENGE_TIMEOUT,
        served_at=now,
        token_hash="",
        created_at=now,
        updated_at=now,
    )
    challenge.save(force_insert=True)
    audit_record(
        event=Event.ACS_CHALLENGE_STARTED,
        subject=str(tx.acs_trans_id),
        ip=ip,
        step=challenge.step,
        window_size=challenge.window_size,
    )
    error = ""
    if challenge.step == Challenge.Step.SMS:
        holder = _holder(tx)
        error = SMS_NOT_SENT if holder is None else _send_code(tx, challenge, holder, ip=ip)
        if error == SMS_CAPPED:
            _finish(tx, challenge, SMS_CAP_OUTCOME, ip=ip)
            return _final_screen(challenge, tx)
    return _step_screen(challenge, tx, error=error)


def _idle_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.GUICHET.acs.challenge_idle_timeout_s)


def _timer_over(challenge: Challenge, now: dt.datetime) -> str:
    """Which limit ends a challenge under way at `now`: "deadline" (10 minutes), "inactivity" or ""."""
    if challenge.step == Challenge.Step.DONE:
        return ""
    if now >= challenge.deadline:
        return "deadline"
    if now - challenge.served_at > _idle_limit():
        return "inactivity"
    return ""


def _time_out(tx: AcsTransaction, challenge: Challenge, timer: str, *, ip: str = "") -> bool:
    return _finish(tx, challenge, CHALLENGE_TIMED_OUT, ip=ip, timer=timer)


def _expire(tx: AcsTransaction, now: dt.datetime, *, ip: str = "") -> bool:
    """End the transaction if its CReq or challenge time is over at `now`, checked again under the
    row lock (a step may have just been served). Must run inside a transaction, `tx` locked."""
    if tx.state == AcsTransaction.State.AWAITING_CREQ:
        return now - tx.ares_sent_at > CREQ_TIMEOUT and _finish(tx, None, CREQ_TIMED_OUT, ip=ip)
    if tx.state != AcsTransaction.State.CHALLENGE:
        return False
    challenge = Challenge.objects.select_for_update().filter(pk=tx.pk).first()
    timer = _timer_over(challenge, now) if challenge is not None else ""
    return bool(timer) and challenge is not None and _time_out(tx, challenge, timer, ip=ip)


def _known_creq(tx: AcsTransaction, creq: CReq, session_data: str | None, *, ip: str) -> Screen:
    language = language_of(tx.browser_language)
    now = clock.now()
    if tx.state == AcsTransaction.State.AWAITING_CREQ:
        if now - tx.ares_sent_at > CREQ_TIMEOUT:
            _expire(tx, now, ip=ip)
            erro = creq_erro(code="402", detail=LATE_CREQ, data=creq.model_dump())
            return _erro_post(tx, erro, session_data, language, ip=ip)
        return _open_challenge(tx, creq, session_data, ip=ip)
    challenge = Challenge.objects.select_for_update().filter(pk=tx.pk).first()
    if tx.state == AcsTransaction.State.CHALLENGE and challenge is not None:
        # The same CReq again (the iframe was reloaded): the current step, with a fresh token.
        timer = _timer_over(challenge, now)
        if timer:
            _time_out(tx, challenge, timer, ip=ip)
            return _final_screen(challenge, tx)
        return _step_screen(challenge, tx, error=challenge.error)
    if challenge is None and tx.challenge_cancel == CREQ_TIMED_OUT.cancel:
        erro = creq_erro(code="402", detail=LATE_CREQ, data=creq.model_dump())
        return _erro_post(tx, erro, session_data, language, ip=ip)
    erro = creq_erro(
        code="301", detail="acsTransID: transaction not awaiting a challenge", data=creq.model_dump()
    )
    return _erro_post(tx, erro, session_data, language, ip=ip)


def challenge_creq(*, creq_field: str, session_data: str | None, ip: str) -> Screen:
    """`POST /3ds/challenge`: check the CReq against its transaction and start (or resume) the challenge."""
    parsed, data = parse_creq(creq_field)
    tx: AcsTransaction | None = None
    acs_trans_id = data.get("acsTransID") if isinstance(data, dict) else None
    if isinstance(acs_trans_id, str) and UUID.fullmatch(acs_trans_id):
        tx = acs_transaction_get(acs_trans_id=acs_trans_id)
    same_server = (
        tx is not None
        and isinstance(data, dict)
        and (str(data.get("threeDSServerTransID", "")).lower() == str(tx.three_ds_server_trans_id))
    )
    if tx is not None and same_server:
        _log(tx, AcsMessage.Kind.CREQ, AcsMessage.Direction.IN, data)
    if session_data is not None and not SESSION_DATA.fullmatch(session_data):
        erro = creq_erro(code="203", detail="threeDSSessionData", data=data)
        return _erro_shown(erro, ip=ip)
    if isinstance(parsed, Erro):
        if tx is not None and same_server:
            return _erro_post(tx, parsed, session_data, language_of(tx.browser_language), ip=ip)
        return _erro_shown(parsed, ip=ip)
    if tx is None or not same_server or tx.device_channel != "02":
        detail = "acsTransID" if tx is None else "threeDSServerTransID"
        return _erro_shown(creq_erro(code="301", detail=detail, data=data), ip=ip)
    if parsed.messageVersion != tx.message_version:
        # Must equal the AReq's version (notes §3.3).
        erro = creq_erro(code="102", detail="messageVersion differs from the AReq's", data=data)
        return _erro_post(tx, erro, session_data, language_of(tx.browser_language), ip=ip)
    with transaction.atomic():
        tx = acs_transaction_get(acs_trans_id=tx.pk, for_update=True) or tx
        try:
            return _known_creq(tx, parsed, session_data, ip=ip)
        except IntegrityError:  # the Challenge row was created by a concurrent request
            return _erro_shown(creq_erro(code="403", detail="concurrent CReq", data=data), ip=ip, status=409)


# --- the steps -------------------------------------------------------------------------------------


def challenge_step(*, acs_trans_id: str, token: str, action: str, epin: str, otp: str, ip: str) -> Screen:
    """A form of the challenge pages: validate (ePin, SMS code), cancel, or go on to the final page."""
    if not UUID.fullmatch(acs_trans_id) or not token or len(token) > 128:
        return Screen(kind="refused", status=403)
    with transaction.atomic():
        # The transaction's row, then the challenge's: the order of the CReq and the periodic expiry,
        # so that two of them never wait for each other.
        tx = acs_transaction_get(acs_trans_id=acs_trans_id, for_update=True)
        challenge = Challenge.objects.select_for_update().filter(pk=uuid.UUID(acs_trans_id)).first()
        if (
            tx is None
            or challenge is None
            or not crypto.equals(_token_hash(acs_trans_id, token), challenge.token_hash)
        ):
            audit_record(event=Event.ACS_CHALLENGE_FORM_REFUSED, subject=acs_trans_id, ip=ip,
                         outcome=AuditEvent.Outcome.REFUSED)  # fmt: skip
            return Screen(kind="refused", status=403, language=challenge.language if challenge else "fr")
        challenge.transaction = tx
        # The 10 minutes, or this page left too long (inactivity): the form is not looked at.
        timer = _timer_over(challenge, clock.now())
        if timer:
            _time_out(tx, challenge, timer, ip=ip)
            challenge.refresh_from_db()
        if challenge.step == Challenge.Step.DONE or tx.state not in (AcsTransaction.State.CHALLENGE,):
            if challenge.step != Challenge.Step.DONE:  # finished elsewhere (the periodic timeout)
                challenge.step = Challenge.Step.DONE
                challenge.error = TIMEOUT
                challenge.save(update_fields=["step", "error"])
            return _final_screen(challenge, tx)
        if action == "cancel":
            audit_record(event=Event.ACS_CHALLENGE_CANCELLED, subject=acs_trans_id, ip=ip)
            _finish(tx, challenge, CARDHOLDER_CANCEL, ip=ip)
            return _final_screen(challenge, tx)
        if challenge.step == Challenge.Step.EPIN:
            return _epin_step(tx, challenge, epin, ip=ip)
        return _sms_step(tx, challenge, otp, ip=ip)


def _epin_step(tx: AcsTransaction, challenge: Challenge, epin: str, *, ip: str) -> Screen:
    epin = epin.strip()
    if not EPIN.fullmatch(epin):
        return _step_screen(challenge, tx, error=EPIN_FORMAT)
    holder = _holder(tx)
    if holder is not None and throttle_blocked_until(key=holder.throttle_key):
        _finish(tx, challenge, BLOCKED_OUTCOME, ip=ip)
        return _final_screen(challenge, tx)
    challenge.epin_encrypted = crypto.encrypt(f"acs-epin:{tx.acs_trans_id}", epin)
    challenge.step = Challenge.Step.SMS
    audit_record(event=Event.ACS_CHALLENGE_EPIN_ENTERED, subject=str(tx.acs_trans_id), ip=ip)
    error = SMS_NOT_SENT if holder is None else _send_code(tx, challenge, holder, ip=ip)
    if error == SMS_CAPPED:
        _finish(tx, challenge, SMS_CAP_OUTCOME, ip=ip)
        return _final_screen(challenge, tx)
    return _step_screen(challenge, tx, error=error)


def _sms_step(tx: AcsTransaction, challenge: Challenge, otp: str, *, ip: str) -> Screen:
    otp = otp.strip()
    if not OTP.fullmatch(otp):
        return _step_screen(challenge, tx, error=OTP_FORMAT)
    holder = _holder(tx)
    if holder is None:
        _finish(tx, challenge, OUT_OF_ATTEMPTS, ip=ip)
        return _final_screen(challenge, tx)
    attempt = challenge.attempts_used + 1
    typed_epin = (
        crypto.decrypt(f"acs-epin:{tx.acs_trans_id}", challenge.epin_encrypted)
        if challenge.epin_encrypted is not None
        else None
    )

    def check() -> bool:
        # Both factors are always checked, so neither time nor answer tells which was wrong.
        sms_ok = codes_verify(
            purpose=PURPOSE, subject=f"acs:{tx.acs_trans_id}:{attempt}", entries={"sms": otp}, ip=ip
        )
        if tx.sms_only:
            return sms_ok
        epin_ok = typed_epin is not None and epin_matches(holder, typed_epin)
        return epin_ok and sms_ok

    try:
        with transaction.atomic():
            ok = credential_check(
                key=holder.throttle_key,
                check=check,
                event=Event.ACS_CHALLENGE_VERIFY,
                ip=ip,
                alert=blocked_alert(holder, challenge.language),
            )
    except Blocked:
        _finish(tx, challenge, BLOCKED_OUTCOME, ip=ip)
        return _final_screen(challenge, tx)
    challenge.epin_encrypted = None
    if ok:
        _finish(tx, challenge, SUCCESS, ip=ip)
        return _step_screen(challenge, tx)  # "Authentification en cours"
    challenge.attempts_used += 1
    if challenge.attempts_used >= challenge.max_attempts:
        _finish(tx, challenge, OUT_OF_ATTEMPTS, ip=ip)
        return _final_screen(challenge, tx)
    if tx.sms_only:
        if _send_code(tx, challenge, holder, ip=ip) == SMS_CAPPED:
            _finish(tx, challenge, SMS_CAP_OUTCOME, ip=ip)
            return _final_screen(challenge, tx)
    else:
        challenge.step = Challenge.Step.EPIN
    return _step_screen(challenge, tx, error=WRONG)


# --- timeouts when the browser never comes back -----------------------------------------------


def challenge_expire_due() -> None:
    """Periodic (every delivery pass): end transactions whose CReq time, challenge time or page
    (inactivity) is over, also when the browser never comes back.

    Cheap (three indexed queries) and idempotent: each candidate is checked again under its row lock
    and its outcome recorded by a conditional update.
    """
    now = clock.now()
    under_way = (Challenge.Step.EPIN, Challenge.Step.SMS)
    late_creq = AcsTransaction.objects.filter(
        state=AcsTransaction.State.AWAITING_CREQ, ares_sent_at__lt=now - CREQ_TIMEOUT
    ).values_list("pk", flat=True)[:100]
    late_challenge = Challenge.objects.filter(step__in=under_way, deadline__lte=now).values_list(
        "pk", flat=True
    )[:100]
    idle = Challenge.objects.filter(step__in=under_way, served_at__lt=now - _idle_limit()).values_list(
        "pk", flat=True
    )[:100]
    for pk in dict.fromkeys([*late_creq, *late_challenge, *idle]):
        with transaction.atomic():
            tx = acs_transaction_get(acs_trans_id=pk, for_update=True)
            if tx is not None:
                _expire(tx, now)
