"""The CReq (`POST /3ds/challenge`): checked against its transaction, then the challenge opened (or
resumed on a reload), and the SMS code of each attempt sent."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db import IntegrityError, transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.ratelimit import rate_allow
from guichet.codes.services import Blocked, CodeSpec, SendRefused, codes_issue
from guichet.core import clock
from guichet.delivery.services import outbox_enqueue_sms
from guichet.issuer.acs.cardholder_info import language_of
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.outcome import CREQ_TIMED_OUT, SMS_CAP_OUTCOME, SMS_HOLD_OUTCOME, finish
from guichet.issuer.acs.challenge.release import final_or_wait
from guichet.issuer.acs.challenge.screen import (
    SMS_CAPPED,
    SMS_HELD,
    SMS_NOT_SENT,
    UUID,
    Screen,
    erro_post,
    erro_shown,
    holder_of,
    log_message,
    step_screen,
)
from guichet.issuer.acs.challenge.timeouts import (
    CHALLENGE_TIMEOUT,
    CREQ_TIMEOUT,
    expire,
    idle_limit,
    time_out,
    timer_over,
)
from guichet.issuer.acs.messages.creq import CReq, creq_erro, parse_creq
from guichet.issuer.acs.messages.erro import Erro
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.services import acs_transaction_get
from guichet.issuer.cards.models import Cardholder

PURPOSE = "acs-challenge"
SMS_CODE = CodeSpec(channel="sms", length=8)
LATE_CREQ = "CReq not received within 30 seconds of the ARes"
SMS_CAP_WINDOW = dt.timedelta(hours=1)
# threeDSSessionData: "up to 1024 Base64-URL encoded characters" (docs/emv-3ds.md §3.2); some requestors use
# plain base64. Printable ASCII without spaces comes back through an HTML form unchanged.
SESSION_DATA = re.compile(r"[\x21-\x7e]{0,2048}")


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


def send_code(*, tx: AcsTransaction, challenge: Challenge, holder: Cardholder, ip: str) -> str:
    """The SMS code of the next attempt, naming the merchant and the amount (dynamic linking).

    "" when it is queued, else why not: SMS_HELD (a new phone on hold since the AReq), SMS_CAPPED
    (the cardholder's hourly cap) or SMS_NOT_SENT.
    """
    from guichet.issuer.acs.challenge.display import amount_display, merchant_display

    if holder.sms_held(clock.now()):
        audit_record(
            event=Event.ACS_SMS_HELD, subject=holder.throttle_key, ip=ip, outcome=AuditEvent.Outcome.REFUSED,
            acs_trans_id=str(tx.acs_trans_id),
        )  # fmt: skip
        return SMS_HELD
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
        valid_for=idle_limit(),
    )
    return ""


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
        holder = holder_of(tx)
        error = (
            SMS_NOT_SENT if holder is None else send_code(tx=tx, challenge=challenge, holder=holder, ip=ip)
        )
        if error in (SMS_CAPPED, SMS_HELD):
            finish(
                tx=tx,
                challenge=challenge,
                end=SMS_CAP_OUTCOME if error == SMS_CAPPED else SMS_HOLD_OUTCOME,
                ip=ip,
            )
            return final_or_wait(challenge=challenge, tx=tx)
    return step_screen(challenge=challenge, tx=tx, error=error)


def _known_creq(tx: AcsTransaction, creq: CReq, session_data: str | None, *, ip: str) -> Screen:
    language = language_of(tx.browser_language)
    now = clock.now()
    if tx.state == AcsTransaction.State.AWAITING_CREQ:
        if now - tx.ares_sent_at > CREQ_TIMEOUT:
            expire(tx=tx, now=now, ip=ip)
            erro = creq_erro(code="402", detail=LATE_CREQ, data=creq.model_dump())
            return erro_post(tx=tx, erro=erro, session_data=session_data, language=language, ip=ip)
        return _open_challenge(tx, creq, session_data, ip=ip)
    challenge = Challenge.objects.select_for_update().filter(pk=tx.pk).first()
    if tx.state == AcsTransaction.State.CHALLENGE and challenge is not None:
        # The same CReq again (the iframe was reloaded): the current step, with a fresh token.
        timer = timer_over(challenge, now)
        if timer:
            time_out(tx=tx, challenge=challenge, timer=timer, ip=ip)
            return final_or_wait(challenge=challenge, tx=tx)
        return step_screen(challenge=challenge, tx=tx, error=challenge.error)
    if challenge is None and tx.challenge_cancel == CREQ_TIMED_OUT.cancel:
        erro = creq_erro(code="402", detail=LATE_CREQ, data=creq.model_dump())
        return erro_post(tx=tx, erro=erro, session_data=session_data, language=language, ip=ip)
    erro = creq_erro(
        code="301", detail="acsTransID: transaction not awaiting a challenge", data=creq.model_dump()
    )
    return erro_post(tx=tx, erro=erro, session_data=session_data, language=language, ip=ip)


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
        log_message(tx=tx, kind=AcsMessage.Kind.CREQ, direction=AcsMessage.Direction.IN, body=data)
    if session_data is not None and not SESSION_DATA.fullmatch(session_data):
        erro = creq_erro(code="203", detail="threeDSSessionData", data=data)
        return erro_shown(erro, ip=ip)
    if isinstance(parsed, Erro):
        if tx is not None and same_server:
            return erro_post(
                tx=tx,
                erro=parsed,
                session_data=session_data,
                language=language_of(tx.browser_language),
                ip=ip,
            )
        return erro_shown(parsed, ip=ip)
    if tx is None or not same_server or tx.device_channel != "02":
        detail = "acsTransID" if tx is None else "threeDSServerTransID"
        return erro_shown(creq_erro(code="301", detail=detail, data=data), ip=ip)
    if parsed.messageVersion != tx.message_version:
        # Must equal the AReq's version (docs/emv-3ds.md §3.3).
        erro = creq_erro(code="102", detail="messageVersion differs from the AReq's", data=data)
        return erro_post(
            tx=tx, erro=erro, session_data=session_data, language=language_of(tx.browser_language), ip=ip
        )
    with transaction.atomic():
        tx = acs_transaction_get(acs_trans_id=tx.pk, for_update=True) or tx
        try:
            return _known_creq(tx, parsed, session_data, ip=ip)
        except IntegrityError:  # the Challenge row was created by a concurrent request
            return erro_shown(creq_erro(code="403", detail="concurrent CReq", data=data), ip=ip, status=409)
