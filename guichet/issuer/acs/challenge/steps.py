"""The forms of the challenge pages (`challenge_step`): the ePin, the SMS code, or cancel.

The ePin typed at step 1 is not checked alone: it is kept encrypted until the SMS code of step 2 and
both are checked together, in one `credential_check` on the cardholder's throttle key, so the answer
never says which one was wrong (PSD2 RTS art. 4) and the core blocks after 5 consecutive failures
across transactions. Each attempt sends its own SMS code, bound to this acsTransID and attempt.
Since any ePin gets an SMS, SMS codes are also capped per cardholder and hour across transactions:
past the cap the challenge ends with transStatusReason 04 "Exceeds authentication frequency limit"
(docs/emv-3ds.md §2.3), whatever the ePin typed, so the cap says nothing about it either.
"""

from __future__ import annotations

import re
import uuid

from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.alerts import blocked_alert
from guichet.codes.services import Blocked, codes_verify, credential_check, throttle_blocked_until
from guichet.core import clock, crypto
from guichet.issuer.acs.challenge.creq import PURPOSE, send_code
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.challenge.outcome import (
    BLOCKED_OUTCOME,
    CARDHOLDER_CANCEL,
    OUT_OF_ATTEMPTS,
    SMS_CAP_OUTCOME,
    SMS_HOLD_OUTCOME,
    SUCCESS,
    ChallengeEnd,
    finish,
)
from guichet.issuer.acs.challenge.release import final_or_wait
from guichet.issuer.acs.challenge.screen import (
    EPIN_FORMAT,
    OTP_FORMAT,
    SMS_CAPPED,
    SMS_HELD,
    SMS_NOT_SENT,
    TIMEOUT,
    UUID,
    WRONG,
    Screen,
    holder_of,
    step_screen,
    token_hash,
)
from guichet.issuer.acs.challenge.timeouts import time_out, timer_over
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.acs.services import acs_transaction_get
from guichet.issuer.cards.services import EPIN, epin_matches

OTP = re.compile(r"[0-9]{8}")


def challenge_step(*, acs_trans_id: str, token: str, action: str, epin: str, otp: str, ip: str) -> Screen:
    """A form of the challenge pages: validate (ePin, SMS code), cancel, or go on to the final page
    ("finish": given only after the RRes or the end of the wait, release.py)."""
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
            or not crypto.equals(token_hash(acs_trans_id, token), challenge.token_hash)
        ):
            audit_record(event=Event.ACS_CHALLENGE_FORM_REFUSED, subject=acs_trans_id, ip=ip,
                         outcome=AuditEvent.Outcome.REFUSED)  # fmt: skip
            return Screen(kind="refused", status=403, language=challenge.language if challenge else "fr")
        challenge.transaction = tx
        # The 10 minutes, or this page left too long (inactivity): the form is not looked at.
        timer = timer_over(challenge, clock.now())
        if timer:
            time_out(tx=tx, challenge=challenge, timer=timer, ip=ip)
            challenge.refresh_from_db()
        if challenge.step == Challenge.Step.DONE or tx.state not in (AcsTransaction.State.CHALLENGE,):
            if challenge.step != Challenge.Step.DONE:  # finished elsewhere (the periodic timeout)
                challenge.step = Challenge.Step.DONE
                challenge.error = TIMEOUT
                challenge.save(update_fields=["step", "error"])
            # The progress page's form ("finish"), or any later one: the final CRes only once the
            # RRes is in or GUICHET_ACS_RRES_WAIT is over, else the progress page again.
            return final_or_wait(challenge=challenge, tx=tx)
        if action == "cancel":
            audit_record(event=Event.ACS_CHALLENGE_CANCELLED, subject=acs_trans_id, ip=ip)
            finish(tx=tx, challenge=challenge, end=CARDHOLDER_CANCEL, ip=ip)
            return final_or_wait(challenge=challenge, tx=tx)
        if challenge.step == Challenge.Step.EPIN:
            return _epin_step(tx, challenge, epin, ip=ip)
        return _sms_step(tx, challenge, otp, ip=ip)


def _epin_step(tx: AcsTransaction, challenge: Challenge, epin: str, *, ip: str) -> Screen:
    epin = epin.strip()
    if not EPIN.fullmatch(epin):
        return step_screen(challenge=challenge, tx=tx, error=EPIN_FORMAT)
    holder = holder_of(tx)
    if holder is not None and throttle_blocked_until(key=holder.throttle_key):
        finish(tx=tx, challenge=challenge, end=BLOCKED_OUTCOME, ip=ip)
        return final_or_wait(challenge=challenge, tx=tx)
    challenge.epin_encrypted = crypto.encrypt(f"acs-epin:{tx.acs_trans_id}", epin)
    challenge.step = Challenge.Step.SMS
    audit_record(event=Event.ACS_CHALLENGE_EPIN_ENTERED, subject=str(tx.acs_trans_id), ip=ip)
    error = SMS_NOT_SENT if holder is None else send_code(tx=tx, challenge=challenge, holder=holder, ip=ip)
    if error in (SMS_CAPPED, SMS_HELD):
        finish(tx=tx, challenge=challenge, end=_sms_refused(error), ip=ip)
        return final_or_wait(challenge=challenge, tx=tx)
    return step_screen(challenge=challenge, tx=tx, error=error)


def _sms_refused(error: str) -> ChallengeEnd:
    return SMS_CAP_OUTCOME if error == SMS_CAPPED else SMS_HOLD_OUTCOME


def _sms_step(tx: AcsTransaction, challenge: Challenge, otp: str, *, ip: str) -> Screen:
    otp = otp.strip()
    if not OTP.fullmatch(otp):
        return step_screen(challenge=challenge, tx=tx, error=OTP_FORMAT)
    holder = holder_of(tx)
    if holder is None:
        finish(tx=tx, challenge=challenge, end=OUT_OF_ATTEMPTS, ip=ip)
        return final_or_wait(challenge=challenge, tx=tx)
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
        epin_ok = typed_epin is not None and epin_matches(cardholder=holder, epin=typed_epin)
        return epin_ok and sms_ok

    try:
        with transaction.atomic():
            ok = credential_check(
                key=holder.throttle_key,
                check=check,
                event=Event.ACS_CHALLENGE_VERIFY,
                ip=ip,
                alert=blocked_alert(email=holder.email, language=challenge.language),
            )
    except Blocked:
        finish(tx=tx, challenge=challenge, end=BLOCKED_OUTCOME, ip=ip)
        return final_or_wait(challenge=challenge, tx=tx)
    challenge.epin_encrypted = None
    if ok:
        finish(tx=tx, challenge=challenge, end=SUCCESS, ip=ip)
        return final_or_wait(challenge=challenge, tx=tx)  # "Authentification en cours"
    challenge.attempts_used += 1
    if challenge.attempts_used >= challenge.max_attempts:
        finish(tx=tx, challenge=challenge, end=OUT_OF_ATTEMPTS, ip=ip)
        return final_or_wait(challenge=challenge, tx=tx)
    if tx.sms_only:
        error = send_code(tx=tx, challenge=challenge, holder=holder, ip=ip)
        if error in (SMS_CAPPED, SMS_HELD):
            finish(tx=tx, challenge=challenge, end=_sms_refused(error), ip=ip)
            return final_or_wait(challenge=challenge, tx=tx)
    else:
        challenge.step = Challenge.Step.EPIN
    return step_screen(challenge=challenge, tx=tx, error=WRONG)
