"""The subscriber's credentials once known: personalisation, password change, sign out everywhere,
and the forgotten password (an emailed code)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.models import CredentialThrottle
from guichet.codes.services import Blocked, CodeSpec, SendRefused, codes_issue, codes_verify, credential_check
from guichet.core import clock, crypto
from guichet.delivery.services import outbox_enqueue_email
from guichet.payonbill.subscribers.logins import normalise_login
from guichet.payonbill.subscribers.models import Mailbox
from guichet.payonbill.subscribers.passwords import password_hash, password_problem, password_verify
from guichet.payonbill.subscribers.signin import address_allowed, blocked_alert

RESET_PURPOSE = "subscribers-reset"
RESET_CODE = CodeSpec(channel="email", length=5, alphabet=crypto.EMAIL_CODE_ALPHABET)


class CredentialsInvalid(ValueError):
    """A chosen login or password is refused; `field` and `code` say why (the form shows it)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def login_problem(*, login: str, mailbox: Mailbox) -> str:
    """Why a login chosen at personalisation is refused (a code), or "" when it is free and valid."""
    try:
        validate_email(login)
    except ValidationError:
        return "invalid"
    domain = settings.GUICHET.subscribers.operator_mail_domain
    if domain and not login.endswith("@" + domain):
        return "domain"
    taken = Mailbox.objects.filter(Q(login=login) | Q(imported_login=login)).exclude(pk=mailbox.pk)
    return "taken" if taken.exists() else ""


def _check_new_password(mailbox: Mailbox, password: str, confirmation: str, *, login: str) -> None:
    problem = password_problem(password, login=login)
    if problem:
        raise CredentialsInvalid("password", problem)
    if not crypto.equals(password, confirmation):
        raise CredentialsInvalid("confirmation", "mismatch")
    if password_verify(mailbox.password_hash, password):
        raise CredentialsInvalid("password", "same")


def mailbox_personalise(
    *, mailbox: Mailbox, login: str, password: str, confirmation: str, ip: str
) -> Mailbox:
    """The mono-BAL subscriber's own login (an address at the operator's domain) and password.

    Raises CredentialsInvalid. Ends every other session of the mailbox; returns it updated.
    """
    login = normalise_login(login)
    problem = login_problem(login=login, mailbox=mailbox)
    if problem:
        raise CredentialsInvalid("login", problem)
    _check_new_password(mailbox, password, confirmation, login=login)
    new_hash = password_hash(password)
    now = clock.now()
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if locked.personalised:
            raise CredentialsInvalid("login", "already")
        locked.login = login
        locked.password_hash = new_hash
        locked.personalised = True
        locked.personalised_at = locked.password_changed_at = locked.updated_at = now
        locked.session_epoch += 1
        locked.save()
        audit_record(
            event=Event.SUBSCRIBERS_MAILBOX_PERSONALISED,
            subject=locked.throttle_key,
            ip=ip,
            outcome=AuditEvent.Outcome.SUCCESS,
        )
    return Mailbox.objects.select_related("contract").get(pk=mailbox.pk)


def _notify_password_changed(mailbox: Mailbox, language: str) -> None:
    if mailbox.address:
        outbox_enqueue_email(
            to=mailbox.address,
            template="subscribers_password_changed",
            language=language,
            context={"operator": settings.GUICHET.subscribers, "address": mailbox.address, "at": clock.now()},
        )


def _set_password(mailbox: Mailbox, password: str, *, event: Event, ip: str, language: str) -> Mailbox:
    new_hash = password_hash(password)
    now = clock.now()
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().select_related("contract").get(pk=mailbox.pk)
        locked.password_hash = new_hash
        locked.password_changed_at = locked.updated_at = now
        locked.session_epoch += 1  # every session of the mailbox ends
        locked.save(update_fields=["password_hash", "password_changed_at", "updated_at", "session_epoch"])
        audit_record(event=event, subject=locked.throttle_key, ip=ip, outcome=AuditEvent.Outcome.SUCCESS)
        _notify_password_changed(locked, language)
    return locked


def mailbox_password_change(
    *, mailbox: Mailbox, current: str, password: str, confirmation: str, ip: str, language: str
) -> Mailbox:
    """Change the password after checking the current one (under the shared throttle).

    Raises CredentialsInvalid ("current", "wrong") or Blocked. Every session of the mailbox ends:
    the caller signs the current one in again with the returned mailbox's new epoch.
    """
    right = password_verify(mailbox.password_hash, current)  # outside the lock, as at sign-in
    with transaction.atomic():
        ok = credential_check(
            key=mailbox.throttle_key,
            check=lambda: right,
            event=Event.SUBSCRIBERS_PASSWORD_VERIFY,
            ip=ip,
            alert=blocked_alert(mailbox=mailbox, language=language),
        )
    if not ok:
        raise CredentialsInvalid("current", "wrong")
    _check_new_password(mailbox, password, confirmation, login=mailbox.login)
    return _set_password(
        mailbox, password, event=Event.SUBSCRIBERS_PASSWORD_CHANGED, ip=ip, language=language
    )


def mailbox_sign_out_everywhere(*, mailbox: Mailbox, ip: str) -> None:
    """End every session of the mailbox, on every browser ("rester identifié" ones too)."""
    Mailbox.objects.filter(pk=mailbox.pk).update(session_epoch=F("session_epoch") + 1, updated_at=clock.now())
    audit_record(
        event=Event.SUBSCRIBERS_SESSION_SIGNOUT_EVERYWHERE,
        subject=mailbox.throttle_key,
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS,
    )


# --- forgotten password -----------------------------------------------------------------------


class ResetOutcome(enum.Enum):
    SENT = "sent"  # also said when nothing was sent: the page never tells if the address exists
    RATE_LIMITED = "rate_limited"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"


def reset_reference(mailbox_id: int) -> str:
    """What the reset page remembers: the subject of the mailbox's reset codes."""
    return f"mailbox-reset:{mailbox_id}"


def password_reset_request(
    *, login: str, ip: str, language: str, link: Callable[[int, str], str]
) -> tuple[ResetOutcome, str]:
    """Email a single-use code (valid 10 minutes) and a link carrying it to a known mailbox.

    Returns the outcome (SENT whether or not the address exists) and the reference the code page
    keeps. An unknown address gets a reference too, under which codes are checked, fail and are
    blocked after 5 tries like a real one. `link(mailbox_id, code)` makes the email's URL.
    """
    config = settings.GUICHET.subscribers
    if not address_allowed(ip=ip, scope="subscribers-reset", event=Event.SUBSCRIBERS_RESET_REQUEST):
        return ResetOutcome.RATE_LIMITED, ""
    login = normalise_login(login)
    mailbox = Mailbox.objects.filter(login=login).first()
    if mailbox is None or not mailbox.address:
        unknown = "unknown-reset:" + crypto.keyed_hash("subscriber-login", login)[:40]
        audit_record(
            event=Event.SUBSCRIBERS_RESET_REQUEST,
            subject=unknown,
            ip=ip,
            outcome=AuditEvent.Outcome.FAILURE,
            reason="unknown",
        )
        return ResetOutcome.SENT, unknown
    reference = reset_reference(mailbox.pk)
    try:
        with transaction.atomic():
            codes = codes_issue(purpose=RESET_PURPOSE, subject=reference, specs=[RESET_CODE], ip=ip)
            outbox_enqueue_email(
                to=mailbox.address,
                template="subscribers_reset",
                language=language,
                context={
                    "operator": config,
                    "code": codes["email"],
                    "link": link(mailbox.pk, codes["email"]),
                    "address": mailbox.address,
                },
                valid_for=dt.timedelta(minutes=10),
            )
    except (Blocked, SendRefused):
        # Same answer: the codes already sent still work, and the page must not differ.
        return ResetOutcome.SENT, reference
    return ResetOutcome.SENT, reference


def password_reset_confirm(
    *, reference: str, code: str, password: str, confirmation: str, ip: str, language: str
) -> tuple[ResetOutcome, Mailbox | None]:
    """Check the emailed code (single use, 10 minutes, 5 tries) and set the new password.

    Raises CredentialsInvalid for a refused new password (the code is then not used up).
    A reset ends every session and lifts a block of the password.
    """
    prefix, _, pk = reference.partition(":")
    if prefix not in ("mailbox-reset", "unknown-reset") or not pk:
        return ResetOutcome.FAILED, None
    mailbox = None
    if prefix == "mailbox-reset" and pk.isdigit():
        mailbox = Mailbox.objects.select_related("contract").filter(pk=int(pk)).first()
    if mailbox is not None:
        _check_new_password(mailbox, password, confirmation, login=mailbox.login)
    else:
        problem = password_problem(password)
        if problem:
            raise CredentialsInvalid("password", problem)
        if not crypto.equals(password, confirmation):
            raise CredentialsInvalid("confirmation", "mismatch")
    try:
        with transaction.atomic():
            ok = codes_verify(
                purpose=RESET_PURPOSE, subject=reference, entries={"email": code.strip()}, ip=ip
            )
    except Blocked:
        return ResetOutcome.BLOCKED, None
    if not ok or mailbox is None:
        return ResetOutcome.FAILED, None
    updated = _set_password(
        mailbox, password, event=Event.SUBSCRIBERS_PASSWORD_RESET, ip=ip, language=language
    )
    CredentialThrottle.objects.filter(key=mailbox.throttle_key).update(
        failures=0, block_count=0, blocked_until=None, updated_at=clock.now()
    )
    return ResetOutcome.DONE, updated
