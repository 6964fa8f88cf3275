"""What the challenge's views show (`Screen`), the error keys its pages name, and the small helpers
the other modules share: the form token, the message log, the Erro screens, the step and final pages.

The state of a challenge lives in the database (`Challenge`, keyed by acsTransID), so any server
process can take the next step and no cookie is needed inside the merchant's iframe. Each page's form
carries a single-use random token whose keyed hash is stored: it stands in for Django's CSRF cookie,
which a cross-site iframe would not send.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock, crypto
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.messages.creq import b64url_encode
from guichet.issuer.acs.messages.cres import CRes
from guichet.issuer.acs.messages.erro import Erro
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.services import acs_message_log
from guichet.issuer.cards.models import Cardholder

# An acsTransID, as the CReq and the forms carry it.
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Why a page shows an error (Challenge.error / Screen.error).
WRONG = "wrong"
EPIN_FORMAT = "epin_format"
OTP_FORMAT = "otp_format"
SMS_NOT_SENT = "sms_not_sent"
SMS_CAPPED = "sms_capped"
SMS_HELD = "sms_held"  # the cardholder's new phone is on hold (SIM-swap guard)
CANCELLED = "cancelled"
ATTEMPTS = "attempts"
TIMEOUT = "timeout"
BLOCKED = "blocked"


@dataclass
class Screen:
    """What the view shows. `kind`:
    * "step": the ePin or SMS page (a fresh `token` for its form);
    * "progress": the end of the challenge waiting for the DS's RRes (release.py): "Authentification
      en cours", or why the payment is cancelled; its script asks the status URL, then posts on to the
      final page (within `wait_ms`, the time left of GUICHET_ACS_RRES_WAIT);
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
    wait_ms: int = 0


# --- small helpers -----------------------------------------------------------------------------


def token_hash(acs_trans_id: str, token: str) -> str:
    return crypto.keyed_hash("acs-challenge-form", acs_trans_id, token)


def _new_token(challenge: Challenge) -> str:
    token = secrets.token_urlsafe(32)
    challenge.token_hash = token_hash(str(challenge.transaction_id), token)
    return token


def log_message(*, tx: AcsTransaction, kind: str, direction: str, body: dict[str, Any]) -> None:
    acs_message_log(transaction=tx, kind=kind, direction=direction, body=body)


def wire(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def holder_of(tx: AcsTransaction) -> Cardholder | None:
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


def erro_post(*, tx: AcsTransaction, erro: Erro, session_data: str | None, language: str, ip: str) -> Screen:
    """The Erro auto-posted to the notificationURL, in the `cres` field (docs/emv-3ds.md §3.1)."""
    _audit_erro(erro, ip=ip, posted=True)
    body = wire(erro)
    log_message(tx=tx, kind=AcsMessage.Kind.ERRO, direction=AcsMessage.Direction.OUT, body=body)
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


def erro_shown(erro: Erro, *, ip: str, status: int = 400) -> Screen:
    """The Erro shown in the page: the request is not linked to a transaction we can answer."""
    _audit_erro(erro, ip=ip, posted=False)
    return Screen(kind="erro", status=status, erro=erro)


# --- the step and final pages -------------------------------------------------------------------


def step_screen(*, challenge: Challenge, tx: AcsTransaction, error: str = "") -> Screen:
    token = _new_token(challenge)
    challenge.error = error
    challenge.updated_at = challenge.served_at = clock.now()
    challenge.save(
        update_fields=[
            "token_hash", "error", "updated_at", "served_at", "step", "attempts_used", "epin_encrypted",
        ]
    )  # fmt: skip
    return Screen(
        kind="step", language=challenge.language, challenge=challenge, tx=tx, token=token, error=error
    )


def wait_screen(*, challenge: Challenge, tx: AcsTransaction, wait: dt.timedelta) -> Screen:
    """The progress page of a finished challenge, before its final CRes may go (release.py)."""
    token = _new_token(challenge)
    challenge.save(update_fields=["token_hash"])
    return Screen(
        kind="progress",
        language=challenge.language,
        challenge=challenge,
        tx=tx,
        token=token,
        error=challenge.error,
        outcome="Y" if tx.trans_status == "Y" else "N",
        wait_ms=int(wait.total_seconds() * 1000),
    )


def final_screen(*, challenge: Challenge, tx: AcsTransaction, rres_received: bool) -> Screen:
    token = _new_token(challenge)  # a replay of the previous page's form is refused
    challenge.save(update_fields=["token_hash"])
    cres = CRes(
        messageVersion=tx.message_version,  # type: ignore[arg-type]
        threeDSServerTransID=str(tx.three_ds_server_trans_id),
        acsTransID=str(tx.acs_trans_id),
        transStatus="Y" if tx.trans_status == "Y" else "N",
    )
    body = wire(cres)
    log_message(tx=tx, kind=AcsMessage.Kind.CRES, direction=AcsMessage.Direction.OUT, body=body)
    fields = {"cres": b64url_encode(json.dumps(body, separators=(",", ":")).encode())}
    if challenge.session_data is not None:
        fields["threeDSSessionData"] = challenge.session_data
    audit_record(
        event=Event.ACS_CRES_POSTED,
        subject=str(tx.acs_trans_id),
        trans_status=cres.transStatus,
        rres_received=rres_received,  # False: released by GUICHET_ACS_RRES_WAIT, the RReq still retried
    )
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
