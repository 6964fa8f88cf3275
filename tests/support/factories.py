from __future__ import annotations

import itertools

from guichet.demo.data import with_luhn
from guichet.issuer.cards.cardfile import cards_import
from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import card_find

_seq = itertools.count(1)


def make_pan(prefix: str = "497010") -> str:
    return with_luhn(f"{prefix}{next(_seq):09d}")


def make_cardholder(
    *,
    email: str | None = None,
    phone: str = "+687751123",
    name: str = "Marie Kafeat",
    pans: list[str] | None = None,
) -> Cardholder:
    """A cardholder created the way issuers create them: through a card file."""
    n = next(_seq)
    email = email or f"holder{n}@example.com"
    pans = pans or [make_pan()]
    lines = ["pan,expiry,email,phone,name"] + [f"{pan},2912,{email},{phone},{name}" for pan in pans]
    report = cards_import(data=("\n".join(lines) + "\n").encode(), source="factory")
    assert report.ok, report.errors
    card = card_find(pan=pans[0])
    assert card is not None
    return card.cardholder
