"""Amounts in minor units written the way each language writes them: "3,90 €" and "€3.90"."""

from __future__ import annotations

from guichet.core.money import ISO_4217

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "XPF": "F"}
NBSP = "\u00a0"
NNBSP = "\u202f"  # French thousands separator


def money_format(amount: int, currency: str, language: str) -> str:
    digits = ISO_4217.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    symbol = SYMBOLS.get(currency, "")
    if language == "fr":
        number = f"{whole:,}".replace(",", NNBSP)
        if digits:
            number += f",{fraction:0{digits}d}"
        return f"{sign}{number}{NBSP}{symbol or currency}"
    number = f"{whole:,}"
    if digits:
        number += f".{fraction:0{digits}d}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
