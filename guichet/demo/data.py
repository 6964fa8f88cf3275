"""The demo's fictional issuer data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from guichet.issuer.cards.cardfile import ImportReport, cards_import
from guichet.issuer.cards.services import luhn_ok


def with_luhn(partial: str) -> str:
    """Append the Luhn check digit to `partial`."""
    return next(partial + d for d in "0123456789" if luhn_ok(partial + d))


@dataclass(frozen=True)
class DemoCard:
    pan: str
    email: str
    phone: str
    name: str


DEMO_CARDS = [
    DemoCard(with_luhn("497010000000004"), "marie.kafeat@example.com", "+687751123", "Marie Kafeat"),
    DemoCard(with_luhn("497072000000222"), "marie.kafeat@example.com", "+687751123", "Marie Kafeat"),
    DemoCard(with_luhn("497010000000012"), "paul.wamytan@example.com", "+687762245", "Paul Wamytan"),
]


# The ePin the demo gives the first cardholder when she has none, so a card payment works at once.
DEMO_EPIN = "6789"


def demo_card_file() -> bytes:
    lines = ["pan,expiry,email,phone,name"]
    lines += [f"{c.pan},2912,{c.email},{c.phone},{c.name}" for c in DEMO_CARDS]
    return ("\n".join(lines) + "\n").encode()


def demo_seed() -> ImportReport:
    return cards_import(data=demo_card_file(), source="demo")


def demo_admin_password() -> str:
    """A fresh back-office password for the `admin` user at every demo start."""
    password = secrets.token_urlsafe(12)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return password
