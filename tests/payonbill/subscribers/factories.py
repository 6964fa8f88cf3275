"""Subscribers made the way operators make them: through a subscriber file."""

from __future__ import annotations

import itertools

from guichet.payonbill.subscribers.importing import subscribers_import
from guichet.payonbill.subscribers.models import Contract, Mailbox

_seq = itertools.count(1)


def subscriber_file(*rows: str, header: str = "contract,login,password,personalized,name,line_ip") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def make_contract(
    *,
    number: str | None = None,
    mailboxes: list[tuple[str, str, bool]] | None = None,
    name: str = "Marie Kafeat",
    line_ip: str = "",
) -> Contract:
    """A contract with its mailboxes, each (login, password, personalised)."""
    number = number or f"C{next(_seq):06d}"
    mailboxes = mailboxes or [(f"user{next(_seq)}@lagon.example", "Lagon-2026", True)]
    rows = [
        f"{number},{login},{password},{str(p).lower()},{name},{line_ip}" for login, password, p in mailboxes
    ]
    report = subscribers_import(data=subscriber_file(*rows), source="factory")
    assert report.ok, report.errors
    return Contract.objects.get(number=number)


INITIAL_PASSWORD = "Init-0001"
PASSWORD = "Lagon-2026"


def mono_bal(*, login: str = "fti0001", password: str = INITIAL_PASSWORD, line_ip: str = "") -> Mailbox:
    """A contract's only mailbox, never personalised: its initial login from the operator."""
    contract = make_contract(mailboxes=[(login, password, False)], line_ip=line_ip)
    return contract.mailboxes.get()


def multi_bal(*logins: str, password: str = PASSWORD, line_ip: str = "") -> Contract:
    logins = logins or ("paul@lagon.example", "lea@lagon.example")
    return make_contract(mailboxes=[(login, password, True) for login in logins], line_ip=line_ip)
