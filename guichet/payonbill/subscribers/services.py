"""Subscribers: the operator's file, sign-in, personalisation, roll-out, and the bill.

What the checkout uses (all documented below):

* `subscribers_current(request)`: the signed-in mailbox or None (`guichet.payonbill.subscribers.sessions`).
* `subscribers_signin_url(next_url)`: the sign-in page, which lands on `next_url` once signed in
  (and personalised when the contract must be).
* `subscribers_line_contract(ip)` and `subscribers_individual_signin(contract)`: the legacy path.
* `subscribers_lock_contract`, `subscribers_month_total`, `subscribers_bill_add`,
  `subscribers_bill_refund`: the charge on the bill, under the contract's row lock.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import ipaddress
import os
import re
import zoneinfo
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q, Sum

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.models import CredentialThrottle
from guichet.codes.ratelimit import rate_allow
from guichet.codes.services import (
    Alert,
    Blocked,
    CodeSpec,
    SendRefused,
    codes_issue,
    codes_verify,
    credential_check,
)
from guichet.core import clock, crypto
from guichet.delivery.services import outbox_enqueue_email
from guichet.payonbill.subscribers.models import BillCharge, Contract, Mailbox
from guichet.payonbill.subscribers.passwords import (
    password_hash,
    password_needs_rehash,
    password_problem,
    password_verify,
)
from guichet.payonbill.subscribers.sessions import subscribers_current, subscribers_signin_url

__all__ = [
    "subscribers_bill_add",
    "subscribers_bill_refund",
    "subscribers_current",
    "subscribers_individual_signin",
    "subscribers_line_contract",
    "subscribers_lock_contract",
    "subscribers_month_total",
    "subscribers_signin_url",
]

MAX_IMPORT_BYTES = 50 * 1024 * 1024
REQUIRED_COLUMNS = ("contract", "login", "password", "personalized")
OPTIONAL_COLUMNS = ("name", "line_ip")
CONTRACT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}")
LOGIN = re.compile(r"[^\s,;\"'<>]{3,254}")
TRUE = {"true", "1", "yes", "oui", "y", "o"}
FALSE = {"false", "0", "no", "non", "n"}
MIN_FILE_PASSWORD = 6
MAX_FILE_PASSWORD = 128
RESET_PURPOSE = "subscribers-reset"
RESET_CODE = CodeSpec(channel="email", length=5, alphabet=crypto.EMAIL_CODE_ALPHABET)


def normalise_login(login: str) -> str:
    return login.strip().lower()


def _import_digest(imported_login: str, password: str) -> str:
    # Keyed with GUICHET_HMAC_KEY (kept outside the database), as ePins are.
    return crypto.keyed_hash("subscriber-import", imported_login, password)


# --- the subscriber file ----------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriberRow:
    line: int
    contract: str
    login: str
    password: str
    personalised: bool
    name: str | None  # None: the file has no such column
    line_ip: str | None  # None: no column; "": the contract has no line


@dataclass
class SubscribersImportReport:
    errors: list[tuple[int, str]] = field(default_factory=list)
    contracts_created: int = 0
    contracts_updated: int = 0
    mailboxes_created: int = 0
    mailboxes_updated: int = 0
    mailboxes_unchanged: int = 0
    passwords_hashed: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _check_row(line: int, raw: dict[str, str]) -> tuple[SubscriberRow | None, list[str]]:
    problems: list[str] = []
    contract = (raw.get("contract") or "").strip()
    login = normalise_login(raw.get("login") or "")
    password = raw.get("password") or ""
    flag = (raw.get("personalized") or "").strip().lower()
    if not CONTRACT_NUMBER.fullmatch(contract):
        problems.append("contract: must be 1 to 32 letters, digits or . _ / -")
    if not LOGIN.fullmatch(login):
        problems.append("login: must be 3 to 254 characters without spaces, commas or quotes")
    if flag not in TRUE | FALSE:
        problems.append("personalized: must be true or false")
    elif flag in TRUE:
        try:
            validate_email(login)
        except ValidationError:
            problems.append("login: a personalized mailbox's login is its address, which is not valid")
    if not MIN_FILE_PASSWORD <= len(password) <= MAX_FILE_PASSWORD or password != password.strip():
        problems.append(
            f"password: must be {MIN_FILE_PASSWORD} to {MAX_FILE_PASSWORD} characters, "
            "without spaces at either end"
        )
    name = raw.get("name")
    if name is not None:
        name = name.strip()
        if len(name) > 100:
            problems.append("name: at most 100 characters")
    line_ip = raw.get("line_ip")
    if line_ip is not None:
        line_ip = line_ip.strip()
        if line_ip:
            try:
                line_ip = str(ipaddress.ip_address(line_ip))
            except ValueError:
                problems.append("line_ip: not an IPv4 or IPv6 address")
    if problems:
        return None, problems
    row = SubscriberRow(
        line=line,
        contract=contract,
        login=login,
        password=password,
        personalised=flag in TRUE,
        name=name,
        line_ip=line_ip,
    )
    return row, []


def subscribers_parse(data: bytes) -> tuple[list[SubscriberRow], list[tuple[int, str]]]:
    """Check the whole file; return its rows, or every error with its line number."""
    if len(data) > MAX_IMPORT_BYTES:
        return [], [(0, f"file larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [(data[: exc.start].count(b"\n") + 1, "not UTF-8 text")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    expected = ",".join(REQUIRED_COLUMNS) + " and optionally " + ",".join(OPTIONAL_COLUMNS)
    if header is None:
        return [], [(1, f"empty file: expected the header {expected}")]
    header = [h.strip().lower() for h in header]
    allowed = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    if (
        len(set(header)) != len(header)
        or not set(REQUIRED_COLUMNS) <= set(header)
        or not set(header) <= allowed
    ):
        return [], [(1, f"header must be the columns {expected}")]
    errors: list[tuple[int, str]] = []
    rows: list[SubscriberRow] = []
    logins: dict[str, int] = {}
    contracts: dict[str, SubscriberRow] = {}
    lines: dict[str, SubscriberRow] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append((line, f"expected {len(header)} fields, found {len(values)}"))
            continue
        row, problems = _check_row(line, dict(zip(header, values, strict=True)))
        if row is None:
            errors.extend((line, p) for p in problems)
            continue
        if row.login in logins:
            errors.append((line, f"login: same login as line {logins[row.login]}"))
            continue
        first = contracts.setdefault(row.contract, row)
        if (first.name, first.line_ip) != (row.name, row.line_ip):
            errors.append((line, f"contract: same contract as line {first.line} but another name or line_ip"))
            continue
        if row.line_ip:
            holder = lines.setdefault(row.line_ip, row)
            if holder.contract != row.contract:
                errors.append(
                    (line, f"line_ip: already the line of contract {holder.contract} (line {holder.line})")
                )
                continue
        logins[row.login] = line
        rows.append(row)
    if not rows and not errors:
        errors.append((1, "no subscriber rows after the header"))
    return rows, errors


def _hash_all(passwords: list[str]) -> list[str]:
    """Argon2id is the slow part of an import: hash on every core (the C code releases the GIL)."""
    if len(passwords) < 4:
        return [password_hash(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(password_hash, passwords))


def _database_errors(rows: list[SubscriberRow]) -> tuple[dict[int, Mailbox | None], list[tuple[int, str]]]:
    """Match rows with existing mailboxes; list what the database refuses (logins, lines taken)."""
    errors: list[tuple[int, str]] = []
    matched: dict[int, Mailbox | None] = {}
    numbers = {row.contract for row in rows}
    logins = [row.login for row in rows]
    existing = list(
        Mailbox.objects.select_related("contract").filter(Q(login__in=logins) | Q(imported_login__in=logins))
    )
    by_login = {m.login: m for m in existing}
    by_imported = {m.imported_login: m for m in existing}
    for row in rows:
        mine = [
            m
            for m in (by_imported.get(row.login), by_login.get(row.login))
            if m is not None and m.contract.number == row.contract
        ]
        other = [
            m
            for m in (by_imported.get(row.login), by_login.get(row.login))
            if m is not None and m.contract.number != row.contract
        ]
        if other:
            errors.append((row.line, f"login: already a mailbox of contract {other[0].contract.number}"))
            continue
        if len({m.pk for m in mine}) > 1:
            errors.append((row.line, "login: both the initial login of one mailbox and the login of another"))
            continue
        matched[row.line] = mine[0] if mine else None
    ips = {row.line_ip for row in rows if row.line_ip}
    taken = dict(
        Contract.objects.filter(line_ip__in=ips).exclude(number__in=numbers).values_list("line_ip", "number")
    )
    for row in rows:
        if row.line_ip and row.line_ip in taken:
            errors.append((row.line, f"line_ip: already the line of contract {taken[row.line_ip]}"))
    errors.sort()
    return matched, errors


def subscribers_import(*, data: bytes, source: str = "") -> SubscribersImportReport:
    """Import an operator subscriber file (PRODUCT.md §4) all or nothing; re-importing updates.

    A mailbox is found again by its contract and the login of the file, even after the subscriber
    personalised it. A password the file gives again unchanged is neither hashed again nor put
    back over one the subscriber chose since (a keyed digest of the last imported password tells);
    a new password from the file replaces the current one and ends the mailbox's sessions.
    Mailboxes missing from the file are kept. Raises nothing: errors are in the report.
    """
    report = SubscribersImportReport()
    rows, report.errors = subscribers_parse(data)
    if not report.errors:
        matched, report.errors = _database_errors(rows)
    if report.errors:
        audit_record(
            event=Event.SUBSCRIBERS_FILE_IMPORT,
            subject=source,
            outcome=AuditEvent.Outcome.REFUSED,
            errors=len(report.errors),
        )
        return report
    # Hash outside the transaction: only rows whose password is new to this mailbox.
    to_hash: list[SubscriberRow] = []
    for row in rows:
        mailbox = matched[row.line]
        imported = mailbox.imported_login if mailbox else row.login
        if mailbox is None or not crypto.equals(
            mailbox.import_digest, _import_digest(imported, row.password)
        ):
            to_hash.append(row)
    hashes = dict(zip((r.line for r in to_hash), _hash_all([r.password for r in to_hash]), strict=True))
    report.passwords_hashed = len(hashes)
    now = clock.now()
    with transaction.atomic():
        contracts = _import_contracts(rows, report, now)
        for row in rows:
            _import_mailbox(row, contracts[row.contract], hashes.get(row.line), report, now)
        audit_record(
            event=Event.SUBSCRIBERS_FILE_IMPORT,
            subject=source,
            outcome=AuditEvent.Outcome.SUCCESS,
            contracts_created=report.contracts_created,
            contracts_updated=report.contracts_updated,
            mailboxes_created=report.mailboxes_created,
            mailboxes_updated=report.mailboxes_updated,
            mailboxes_unchanged=report.mailboxes_unchanged,
        )
    return report


def _import_contracts(
    rows: list[SubscriberRow], report: SubscribersImportReport, now: dt.datetime
) -> dict[str, Contract]:
    firsts: dict[str, SubscriberRow] = {}
    for row in rows:
        firsts.setdefault(row.contract, row)
    contracts = {c.number: c for c in Contract.objects.select_for_update().filter(number__in=list(firsts))}
    changes: dict[str, dict[str, str | None]] = {}
    for number, contract in contracts.items():
        row = firsts[number]
        change: dict[str, str | None] = {}
        if row.name is not None and contract.holder_name != row.name:
            change["holder_name"] = row.name
        if row.line_ip is not None and contract.line_ip != (row.line_ip or None):
            change["line_ip"] = row.line_ip or None
        if change:
            changes[number] = change
    # Lines may move between contracts of the file: free them first, line_ip being unique.
    moving = [contracts[n].pk for n, change in changes.items() if "line_ip" in change]
    if moving:
        Contract.objects.filter(pk__in=moving).update(line_ip=None)
    for number, row in firsts.items():
        if number not in contracts:
            contracts[number] = Contract.objects.create(
                number=number,
                holder_name=row.name or "",
                line_ip=row.line_ip or None,
                created_at=now,
                updated_at=now,
            )
            report.contracts_created += 1
        elif number in changes:
            contract = contracts[number]
            for name, value in changes[number].items():
                setattr(contract, name, value)
            contract.updated_at = now
            contract.save(update_fields=[*changes[number], "updated_at"])
            report.contracts_updated += 1
    return contracts


def _import_mailbox(
    row: SubscriberRow,
    contract: Contract,
    new_hash: str | None,
    report: SubscribersImportReport,
    now: dt.datetime,
) -> None:
    mailbox = (
        Mailbox.objects.select_for_update()
        .filter(Q(imported_login=row.login) | Q(login=row.login), contract=contract)
        .first()
    )
    if mailbox is None:
        assert new_hash is not None
        Mailbox.objects.create(
            contract=contract,
            login=row.login,
            imported_login=row.login,
            password_hash=new_hash,
            import_digest=_import_digest(row.login, row.password),
            personalised=row.personalised,
            created_at=now,
            updated_at=now,
        )
        report.mailboxes_created += 1
        return
    changed: list[str] = []
    if row.personalised and not mailbox.personalised:
        mailbox.personalised = True
        mailbox.login = row.login
        changed += ["personalised", "login"]
    if new_hash is not None:
        mailbox.password_hash = new_hash
        mailbox.import_digest = _import_digest(mailbox.imported_login, row.password)
        mailbox.session_epoch += 1  # the operator reset the password: existing sessions end
        changed += ["password_hash", "import_digest", "session_epoch"]
    if changed:
        mailbox.updated_at = now
        mailbox.save(update_fields=[*changed, "updated_at"])
        report.mailboxes_updated += 1
    else:
        report.mailboxes_unchanged += 1


# --- progressive roll-out and the legacy line path --------------------------------------------


def subscribers_individual_signin(contract: Contract) -> bool:
    """Whether the contract has the new individual sign-in (True) or the legacy line path (False).

    Contracts listed in GUICHET_SIGNIN_ROLLOUT_CONTRACTS always have it (pilots). The others have it
    from GUICHET_SIGNIN_ROLLOUT_START (none: already started) when their bucket, a keyed hash of
    the contract number taken modulo 100, is below GUICHET_SIGNIN_ROLLOUT_PERCENT: a stable choice
    that grows with the percentage and that nobody outside can predict.
    """
    config = settings.GUICHET.subscribers
    if contract.number in config.rollout_contracts:
        return True
    if config.rollout_start is not None and clock.now() < config.rollout_start:
        return False
    return rollout_bucket(contract.number) < config.rollout_percent


def rollout_bucket(number: str) -> int:
    """The contract's place, 0 to 99, in the roll-out order."""
    return int(crypto.keyed_hash("signin-rollout", number)[:12], 16) % 100


def subscribers_line_contract(ip: str) -> Contract | None:
    """The contract whose internet line has this public address (`guichet.core.http.client_ip`).

    How the checkout decides who pays, for a customer who is not signed in:
    * a contract is recognised and `subscribers_individual_signin(contract)` is False: the legacy
      path, the confirmation on the checkout page is enough and the contract pays (no mailbox);
    * otherwise (a rolled-out contract, or no line recognised, e.g. on a mobile network): send the
      customer to `subscribers_signin_url(next)`; the individual sign-in works from anywhere.
    """
    if not ip:
        return None
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return None
    # A dual-stack server sees an IPv4 client as ::ffff:a.b.c.d.
    mapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else None
    return Contract.objects.filter(line_ip=str(mapped or parsed)).first()


def subscribers_contract_address(contract: Contract) -> str:
    """Where mail about the contract goes on the legacy path: its first personalised mailbox."""
    for mailbox in contract.mailboxes.order_by("pk"):
        if mailbox.address:
            return mailbox.address
    return ""


# --- sign-in ----------------------------------------------------------------------------------


class SigninOutcome(enum.Enum):
    SIGNED_IN = "signed_in"
    PERSONALISE = "personalise"  # right password, but the mono-BAL mailbox must be personalised first
    FAILED = "failed"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class SigninResult:
    outcome: SigninOutcome
    mailbox: Mailbox | None = None


def mailbox_needs_personalisation(mailbox: Mailbox) -> bool:
    """A contract's only mailbox, never personalised ("mono-BAL"): it must choose login and password."""
    return not mailbox.personalised and mailbox.contract.mailboxes.count() == 1


def _unknown_key(login: str) -> str:
    # Unknown addresses are throttled too, so a block never tells that an address exists.
    return "sublogin:" + crypto.keyed_hash("subscriber-login", login)[:40]


def blocked_alert(mailbox: Mailbox | None, language: str) -> Alert | None:
    """Tell the mailbox's owner it is blocked; mailboxes without a known address cannot be told."""
    if mailbox is None or not mailbox.address:
        return None
    address = mailbox.address

    def send(until: dt.datetime) -> None:
        outbox_enqueue_email(
            to=address,
            template="subscribers_blocked",
            language=language,
            context={"operator": settings.GUICHET.subscribers, "until": until, "address": address},
        )

    return Alert(send=send)


def subscribers_signin(*, login: str, password: str, ip: str, language: str) -> SigninResult:
    """Check a mailbox address (or initial login) and password.

    The answer for an unknown address is the same, takes as long (a dummy hash is checked) and is
    blocked the same way after 5 failures; only a real mailbox's owner gets the alert email.
    """
    config = settings.GUICHET.subscribers
    if not rate_allow(
        key=f"subscribers-signin:{ip}",
        limit=config.signin_ip_limit,
        window=dt.timedelta(seconds=config.signin_ip_window_s),
    ):
        audit_record(
            event=Event.SUBSCRIBERS_SIGNIN_ATTEMPT,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason="rate_limited",
        )
        return SigninResult(SigninOutcome.RATE_LIMITED)
    login = normalise_login(login)
    mailbox = Mailbox.objects.select_related("contract").filter(login=login).first() if login else None
    key = mailbox.throttle_key if mailbox else _unknown_key(login)
    # Argon2id runs before the throttle's row lock is taken: holding the lock (on SQLite, the whole
    # database) for the hash would serialise every sign-in. Only the counted answer is used, so
    # parallel guesses still get no more than 5 answers before the block.
    right = password_verify(mailbox.password_hash if mailbox else None, password)
    try:
        with transaction.atomic():
            ok = credential_check(
                key=key,
                check=lambda: right,
                event=Event.SUBSCRIBERS_PASSWORD_VERIFY,
                ip=ip,
                alert=blocked_alert(mailbox, language),
            )
    except Blocked:
        return SigninResult(SigninOutcome.BLOCKED)
    if not ok or mailbox is None:
        return SigninResult(SigninOutcome.FAILED)
    if password_needs_rehash(mailbox.password_hash):
        mailbox.password_hash = password_hash(password)
        Mailbox.objects.filter(pk=mailbox.pk).update(password_hash=mailbox.password_hash)
    if mailbox_needs_personalisation(mailbox):
        return SigninResult(SigninOutcome.PERSONALISE, mailbox)
    return SigninResult(SigninOutcome.SIGNED_IN, mailbox)


# --- personalisation, password change, sign out everywhere -------------------------------------


class CredentialsInvalid(ValueError):
    """A chosen login or password is refused; `field` and `code` say why (the form shows it)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def login_problem(login: str, *, mailbox: Mailbox) -> str:
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


def subscribers_personalise(
    *, mailbox: Mailbox, login: str, password: str, confirmation: str, ip: str
) -> Mailbox:
    """The mono-BAL subscriber's own login (an address at the operator's domain) and password.

    Raises CredentialsInvalid. Ends every other session of the mailbox; returns it updated.
    """
    login = normalise_login(login)
    problem = login_problem(login, mailbox=mailbox)
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


def subscribers_password_change(
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
            alert=blocked_alert(mailbox, language),
        )
    if not ok:
        raise CredentialsInvalid("current", "wrong")
    _check_new_password(mailbox, password, confirmation, login=mailbox.login)
    return _set_password(
        mailbox, password, event=Event.SUBSCRIBERS_PASSWORD_CHANGED, ip=ip, language=language
    )


def subscribers_sign_out_everywhere(*, mailbox: Mailbox, ip: str) -> None:
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


def subscribers_reset_request(
    *, login: str, ip: str, language: str, link: Callable[[int, str], str]
) -> tuple[ResetOutcome, str]:
    """Email a single-use code (valid 10 minutes) and a link carrying it to a known mailbox.

    Returns the outcome (SENT whether or not the address exists) and the reference the code page
    keeps. An unknown address gets a reference too, under which codes are checked, fail and are
    blocked after 5 tries like a real one. `link(mailbox_id, code)` makes the email's URL.
    """
    config = settings.GUICHET.subscribers
    if not rate_allow(
        key=f"subscribers-reset:{ip}",
        limit=config.signin_ip_limit,
        window=dt.timedelta(seconds=config.signin_ip_window_s),
    ):
        audit_record(
            event=Event.SUBSCRIBERS_RESET_REQUEST,
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            reason="rate_limited",
        )
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


def subscribers_reset_confirm(
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


# --- pay-on-bill and the bill ------------------------------------------------------------------


class BillError(ValueError):
    """A charge or refund the bill refuses (`code`: "exists", "unknown", "too_much", "amount")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def billing_period(at: dt.datetime) -> str:
    """The bill a moment belongs to: its calendar month ("YYYY-MM") in the billing time zone."""
    zone = zoneinfo.ZoneInfo(settings.GUICHET.subscribers.billing_time_zone)
    return at.astimezone(zone).strftime("%Y-%m")


def subscribers_lock_contract(contract_id: int) -> Contract:
    """The contract, row-locked until the end of the caller's transaction (caps under concurrency)."""
    return Contract.objects.select_for_update().get(pk=contract_id)


def subscribers_month_total(contract: Contract, at: dt.datetime) -> int:
    """Pay-on-bill total (minor units, refunds deducted) of the bill `at` belongs to."""
    total = BillCharge.objects.filter(contract=contract, period=billing_period(at)).aggregate(
        total=Sum(F("amount") - F("refunded_amount"))
    )["total"]
    return int(total or 0)


def subscribers_bill_add(
    *,
    contract: Contract,
    mailbox: Mailbox | None,
    payment_public_id: str,
    merchant_name: str,
    product: str,
    amount: int,
    currency: str = "EUR",
    at: dt.datetime | None = None,
) -> BillCharge:
    """Add a purchase to the contract's current bill. Call it inside the transaction that holds
    `subscribers_lock_contract`, after checking the block and the caps there.

    Raises BillError("amount") for a non-positive amount, BillError("exists") when the payment is
    already on a bill (a payment is charged at most once; the unique column backs this up).
    """
    if amount <= 0:
        raise BillError("amount")
    if BillCharge.objects.filter(payment_public_id=payment_public_id).exists():
        raise BillError("exists")
    at = at or clock.now()
    charge = BillCharge.objects.create(
        contract=contract,
        mailbox=mailbox,
        payment_public_id=payment_public_id,
        merchant_name=merchant_name[:200],
        product=product[:200],
        amount=amount,
        currency=currency,
        charged_at=at,
        period=billing_period(at),
    )
    audit_record(
        event=Event.SUBSCRIBERS_BILL_CHARGED,
        subject=f"contract:{contract.pk}",
        outcome=AuditEvent.Outcome.SUCCESS,
        payment=payment_public_id,
        amount=amount,
        currency=currency,
        period=charge.period,
    )
    return charge


def subscribers_bill_refund(payment_public_id: str, amount: int) -> BillCharge:
    """Credit `amount` (minor units) of a charged payment back on the bill it was charged to.

    The refund stays on the charge's own bill (its period). Raises BillError("unknown") for a
    payment not on any bill, BillError("too_much") when refunds would exceed the amount charged.
    """
    if amount <= 0:
        raise BillError("amount")
    with transaction.atomic():
        charge = BillCharge.objects.select_for_update().filter(payment_public_id=payment_public_id).first()
        if charge is None:
            raise BillError("unknown")
        if charge.refunded_amount + amount > charge.amount:
            raise BillError("too_much")
        charge.refunded_amount += amount
        charge.refunded_at = clock.now()
        charge.save(update_fields=["refunded_amount", "refunded_at"])
        audit_record(
            event=Event.SUBSCRIBERS_BILL_REFUNDED,
            subject=f"contract:{charge.contract_id}",
            outcome=AuditEvent.Outcome.SUCCESS,
            payment=payment_public_id,
            amount=amount,
        )
    return charge


@dataclass(frozen=True)
class Bill:
    period: str
    charges: list[BillCharge]

    @property
    def total(self) -> int:
        return sum(c.net_amount for c in self.charges)


def subscribers_bill(contract: Contract, period: str) -> Bill:
    """The pay-on-bill purchases of one bill, newest first."""
    charges = list(BillCharge.objects.filter(contract=contract, period=period).select_related("mailbox"))
    return Bill(period=period, charges=charges)


def subscribers_bill_periods(contract: Contract) -> list[str]:
    """Periods with purchases, newest first."""
    periods = BillCharge.objects.filter(contract=contract).values_list("period", flat=True).distinct()
    return sorted(set(periods), reverse=True)


def subscribers_pay_on_bill_set(*, mailbox: Mailbox, blocked: bool, ip: str) -> Contract:
    """Block or allow pay-on-bill for the mailbox's contract (the customer space's switch)."""
    with transaction.atomic():
        contract = subscribers_lock_contract(mailbox.contract_id)
        if contract.pay_on_bill_blocked != blocked:
            contract.pay_on_bill_blocked = blocked
            contract.pay_on_bill_changed_at = contract.updated_at = clock.now()
            contract.save(update_fields=["pay_on_bill_blocked", "pay_on_bill_changed_at", "updated_at"])
            audit_record(
                event=Event.SUBSCRIBERS_PAYONBILL_BLOCKED if blocked else Event.SUBSCRIBERS_PAYONBILL_ALLOWED,
                subject=mailbox.throttle_key,
                ip=ip,
                outcome=AuditEvent.Outcome.SUCCESS,
                contract=contract.pk,
            )
    return contract
