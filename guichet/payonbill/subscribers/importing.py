"""The operator's subscriber file (docs/operators.md, "Subscriber file"): checked whole, then
written all or nothing."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock, crypto
from guichet.core.csvfile import RowInvalid, csv_parse
from guichet.payonbill.subscribers.logins import LOGIN, normalise_login
from guichet.payonbill.subscribers.models import Contract, Mailbox
from guichet.payonbill.subscribers.passwords import password_hash

REQUIRED_COLUMNS = ("contract", "login", "password", "personalized")
OPTIONAL_COLUMNS = ("name", "line_ip")
CONTRACT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}")
TRUE = {"true", "1", "yes", "oui", "y", "o"}
FALSE = {"false", "0", "no", "non", "n"}
MIN_FILE_PASSWORD = 6
MAX_FILE_PASSWORD = 128


def _import_digest(imported_login: str, password: str) -> str:
    # Keyed with GUICHET_HMAC_KEY (kept outside the database), as ePins are.
    return crypto.keyed_hash("subscriber-import", imported_login, password)


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


def _read_row(line: int, raw: dict[str, str]) -> SubscriberRow:
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
        raise RowInvalid(problems)
    return SubscriberRow(
        line=line,
        contract=contract,
        login=login,
        password=password,
        personalised=flag in TRUE,
        name=name,
        line_ip=line_ip,
    )


def subscribers_parse(data: bytes) -> tuple[list[SubscriberRow], list[tuple[int, str]]]:
    """Check the whole file; return its rows, or every error with its line number."""
    logins: dict[str, int] = {}
    contracts: dict[str, SubscriberRow] = {}
    lines: dict[str, SubscriberRow] = {}

    def accept(line: int, row: SubscriberRow) -> str | None:
        # A login once; a contract with one name and line throughout; a line to one contract.
        if row.login in logins:
            return f"login: same login as line {logins[row.login]}"
        first = contracts.setdefault(row.contract, row)
        if (first.name, first.line_ip) != (row.name, row.line_ip):
            return f"contract: same contract as line {first.line} but another name or line_ip"
        if row.line_ip:
            holder = lines.setdefault(row.line_ip, row)
            if holder.contract != row.contract:
                return f"line_ip: already the line of contract {holder.contract} (line {holder.line})"
        logins[row.login] = line
        return None

    return csv_parse(
        data,
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        read_row=_read_row,
        accept=accept,
        rows_name="subscriber",
    )


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
        # The mailbox first imported with this login, then the one signing in with it: maybe the same.
        found = {m.pk: m for m in (by_imported.get(row.login), by_login.get(row.login)) if m is not None}
        mine = [m for m in found.values() if m.contract.number == row.contract]
        other = [m for m in found.values() if m.contract.number != row.contract]
        if other:
            errors.append((row.line, f"login: already a mailbox of contract {other[0].contract.number}"))
            continue
        if len(mine) > 1:
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
    """Import an operator subscriber file all or nothing; re-importing updates.

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
