"""The end of a challenge: its outcome recorded once (`finish`), the RReq queued with it, and the
outbox's hooks for the RReq (its TLS context, its acceptance test on the RRes).

Outcomes (docs/emv-3ds.md §3.6, §6):
| what | RReq transStatus / transStatusReason / challengeCancel | final CRes |
| both codes right | Y / - / - (with eci and authenticationValue) | Y |
| attempts used up, or the cardholder blocked | N / 19 / - | N |
| GUICHET_ACS_SMS_PER_HOUR codes already sent to the cardholder this hour | N / 04 / - | N |
| "Annuler votre paiement" | N / 01 / 01 | N |
| no CReq within 30 s of the ARes | N / 14 / 05 | Erro 402 if the CReq comes late |
| challenge not ended within 10 minutes | N / 14 / 04 | N when the browser comes back |
| a page left more than GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT (5 minutes) | N / 14 / 04 | likewise |

The RReq is queued in the outbox in the same database transaction as the outcome, and delivered by
the outbox (retried with back-off until a valid RRes comes back). The final CRes comes after the RRes,
or after GUICHET_ACS_RRES_WAIT if the DS is slow or down (release.py): the browser waits on a progress
page that polls a status URL, so no server thread is held; the outbox goes on retrying the RReq.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from pydantic import ValidationError

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError
from guichet.delivery.services import outbox_enqueue_http
from guichet.issuer.acs.authvalue import Method
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.screen import (
    ATTEMPTS,
    BLOCKED,
    CANCELLED,
    SMS_CAPPED,
    SMS_HELD,
    TIMEOUT,
    log_message,
    wire,
)
from guichet.issuer.acs.messages.rreq import RReq
from guichet.issuer.acs.messages.rres import RRes
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.services import acs_outcome, challenge_methods

RREQ_KIND = "3ds.rreq"
RREQ_VALID_FOR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class ChallengeEnd:
    """How a challenge ended: what its RReq says, and why for the final page."""

    trans_status: str  # Y or N
    reason: str = ""  # transStatusReason
    cancel: str = ""  # challengeCancel
    why: str = ""  # one of the error keys (screen.py), for the final page


SUCCESS = ChallengeEnd("Y")
OUT_OF_ATTEMPTS = ChallengeEnd("N", "19", "", ATTEMPTS)
BLOCKED_OUTCOME = ChallengeEnd("N", "19", "", BLOCKED)
SMS_CAP_OUTCOME = ChallengeEnd("N", "04", "", SMS_CAPPED)
SMS_HOLD_OUTCOME = ChallengeEnd("N", "12", "", SMS_HELD)  # transaction not permitted to cardholder
CARDHOLDER_CANCEL = ChallengeEnd("N", "01", "01", CANCELLED)
CREQ_TIMED_OUT = ChallengeEnd("N", "14", "05", TIMEOUT)
CHALLENGE_TIMED_OUT = ChallengeEnd("N", "14", "04", TIMEOUT)


def _rreq(tx: AcsTransaction) -> RReq:
    v220, v231 = tx.message_version != "2.1.0", tx.message_version == "2.3.1"
    # 2.3.1 names the methods of the challenge in an array instead of the type (docs/emv-3ds.md §2.7).
    method = challenge_methods(sms_only=tx.sms_only) if v231 else (tx.authentication_method or None)
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
            "authenticationType": None if v231 else (tx.authentication_type or "02"),
            "authenticationMethod": method if v220 else None,
            "authenticationValue": tx.authentication_value or None,
            "eci": tx.eci or None,
            "interactionCounter": f"{min(tx.interaction_counter, 99):02d}",
            "challengeCancel": tx.challenge_cancel or None,
        }
    )


def finish(
    *, tx: AcsTransaction, challenge: Challenge | None, end: ChallengeEnd, ip: str = "", **detail: str
) -> bool:
    """Record how the challenge ended and queue the RReq, once: False when another process did first.

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
    tx.trans_status = end.trans_status
    tx.trans_status_reason = end.reason
    tx.challenge_cancel = end.cancel
    interacted = challenge is not None and challenge.attempts_used > 0
    tx.interaction_counter = (challenge.attempts_used if challenge else 0) + (end.trans_status == "Y")
    # The ePin and the SMS code, or the SMS code alone: an SMS OTP either way (docs/emv-3ds.md §2.4).
    tx.authentication_method = "02" if (interacted or end.trans_status == "Y") else ""
    values = acs_outcome(transaction=tx, trans_status=end.trans_status, method=Method.SMS_OTP)
    tx.eci, tx.authentication_value = values.eci, values.authentication_value
    tx.save(
        update_fields=[
            "trans_status", "trans_status_reason", "challenge_cancel", "interaction_counter",
            "authentication_method", "eci", "authentication_value",
        ]
    )  # fmt: skip
    rreq = _rreq(tx)
    body = wire(rreq)
    outbox_enqueue_http(
        kind=RREQ_KIND,
        key=f"rreq:{tx.acs_trans_id}",
        url=tx.ds_url,
        body=json.dumps(body, separators=(",", ":")).encode(),
        valid_for=RREQ_VALID_FOR,
    )
    log_message(tx=tx, kind=AcsMessage.Kind.RREQ, direction=AcsMessage.Direction.OUT, body=body)
    if challenge is not None:
        if challenge.step != Challenge.Step.DONE:
            challenge.ended_step = challenge.step
        challenge.step = Challenge.Step.DONE
        challenge.epin_encrypted = None
        challenge.error = end.why
        challenge.updated_at = now
        challenge.save(
            update_fields=["step", "ended_step", "epin_encrypted", "error", "updated_at", "token_hash"]
        )
    audit_record(
        event=Event.ACS_CHALLENGE_RESULT,
        subject=str(tx.acs_trans_id),
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS if end.trans_status == "Y" else AuditEvent.Outcome.FAILURE,
        trans_status=end.trans_status,
        reason=end.reason,
        challenge_cancel=end.cancel,
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
        log_message(tx=tx, kind=AcsMessage.Kind.RRES, direction=AcsMessage.Direction.IN, body=wire(rres))
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
