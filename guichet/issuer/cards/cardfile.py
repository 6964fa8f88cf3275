"""The card CSV file (`guichet cards import`): parsed whole, then imported all or nothing through the
same service as the issuer API (lifecycle.cardholder_upsert), one cardholder (email) at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.core.csvfile import RowInvalid, csv_parse
from guichet.issuer.cards.lifecycle import CardholderInput, CardInput, cardholder_upsert
from guichet.issuer.cards.services import (
    email_problem,
    expiry_problem,
    name_problem,
    normalise_email,
    pan_problem,
    phone_problem,
)

CARD_COLUMNS = ("pan", "expiry", "email", "phone", "name")


@dataclass(frozen=True)
class CardRow:
    line: int
    pan: str
    expiry: str
    email: str
    phone: str
    name: str


@dataclass
class ImportReport:
    errors: list[tuple[int, str]] = field(default_factory=list)
    cardholders_created: int = 0
    cardholders_updated: int = 0
    cards_created: int = 0
    cards_updated: int = 0
    cards_unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_row(line: int, raw: dict[str, str]) -> CardRow:
    pan = re.sub(r"[ ]", "", raw.get("pan") or "")
    expiry = (raw.get("expiry") or "").strip()
    email = normalise_email(raw.get("email") or "")
    phone = (raw.get("phone") or "").strip()
    name = (raw.get("name") or "").strip()
    checks = (
        ("pan", pan_problem(pan)),
        ("expiry", expiry_problem(expiry)),
        ("email", email_problem(email)),
        ("phone", phone_problem(phone)),
        ("name", name_problem(name)),
    )
    problems = [f"{column}: {problem}" for column, problem in checks if problem]
    if problems:
        raise RowInvalid(problems)
    return CardRow(line=line, pan=pan, expiry=expiry, email=email, phone=phone, name=name)


def cards_parse(data: bytes) -> tuple[list[CardRow], list[tuple[int, str]]]:
    """Check the whole file; return its rows, or every error with its line number."""
    seen_pans: dict[str, int] = {}
    holders: dict[str, CardRow] = {}

    def accept(line: int, row: CardRow) -> str | None:
        # A card once; a cardholder (their email) with one phone and name throughout the file.
        if row.pan in seen_pans:
            return f"pan: same card as line {seen_pans[row.pan]}"
        seen_pans[row.pan] = line
        first = holders.setdefault(row.email, row)
        if (first.phone, first.name) != (row.phone, row.name):
            return f"email: same cardholder as line {first.line} but another phone or name"
        return None

    return csv_parse(data, required=CARD_COLUMNS, read_row=_read_row, accept=accept, rows_name="card")


def cards_import(*, data: bytes, source: str = "") -> ImportReport:
    """Import a card file all or nothing. Re-importing the same file changes nothing."""
    rows, errors = cards_parse(data)
    report = ImportReport(errors=errors)
    if errors:
        audit_record(
            event=Event.CARDS_FILE_IMPORT,
            subject=source,
            outcome=AuditEvent.Outcome.REFUSED,
            errors=len(errors),
        )
        return report
    by_holder: dict[str, list[CardRow]] = {}
    for row in rows:
        by_holder.setdefault(row.email, []).append(row)
    now = clock.now()
    with transaction.atomic():
        for holder_rows in by_holder.values():
            first = holder_rows[0]
            outcome = cardholder_upsert(
                data=CardholderInput(
                    email=first.email,
                    phone=first.phone,
                    name=first.name,
                    cards=[CardInput(pan=r.pan, expiry=r.expiry) for r in holder_rows],
                ),
                actor=f"file:{source}",
                now=now,
            )
            report.cardholders_created += outcome.created
            report.cardholders_updated += outcome.updated
            report.cards_created += outcome.cards_created
            report.cards_updated += outcome.cards_updated
            report.cards_unchanged += outcome.cards_unchanged
        audit_record(
            event=Event.CARDS_FILE_IMPORT,
            subject=source,
            outcome=AuditEvent.Outcome.SUCCESS,
            cardholders_created=report.cardholders_created,
            cardholders_updated=report.cardholders_updated,
            cards_created=report.cards_created,
            cards_updated=report.cards_updated,
            cards_unchanged=report.cards_unchanged,
        )
    return report
