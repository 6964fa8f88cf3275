"""The benches' cardholders: distinct emails, phone numbers and Luhn-valid card numbers, as a CSV for
`guichet cards import`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def luhn_complete(partial: str) -> str:
    """`partial` followed by its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        digit = int(ch)
        if i % 2 == 0:  # doubled: these are the odd positions once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return partial + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Holder:
    email: str
    phone: str
    name: str
    pan: str


def holders_make(count: int) -> list[Holder]:
    """`count` distinct cardholders, one card each, with unique emails and phone numbers."""
    return [
        Holder(
            email=f"bench{i:06d}@example.com",
            phone=f"+68790{i:05d}",
            name=f"Bench Holder {i}",
            pan=luhn_complete(f"497010{i:09d}"),
        )
        for i in range(count)
    ]


def holders_csv(holders: Iterable[Holder]) -> str:
    lines = ["pan,expiry,email,phone,name"]
    lines += [f"{h.pan},2912,{h.email},{h.phone},{h.name}" for h in holders]
    return "\n".join(lines) + "\n"
