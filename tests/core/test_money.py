"""Amounts as each language writes them."""

from __future__ import annotations

import pytest

from guichet.core.money import money_format

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (390, "EUR", "fr", f"3,90{NBSP}€"),
        (390, "EUR", "en", "€3.90"),
        (5000, "EUR", "fr", f"50,00{NBSP}€"),
        (30000, "EUR", "en", "€300.00"),
        (123456789, "EUR", "fr", f"1\u202f234\u202f567,89{NBSP}€"),
        (123456789, "EUR", "en", "€1,234,567.89"),
        (5, "EUR", "fr", f"0,05{NBSP}€"),
        (500, "JPY", "fr", f"500{NBSP}JPY"),
        (500, "JPY", "en", "500 JPY"),
        (1234, "KWD", "en", "1.234 KWD"),
        (-250, "EUR", "en", "-€2.50"),
    ],
)
def test_money_format(amount, currency, language, expected):
    assert money_format(amount, currency, language) == expected
