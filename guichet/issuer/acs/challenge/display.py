"""How the transaction summary shows amounts, dates, the card and the phone (as the original French pages)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from guichet.core.text import one_line
from guichet.issuer.acs.models import AcsTransaction

MERCHANT_NAME_MAX = 40  # merchantName's own limit (AReq)

# ISO 4217 numeric codes the pages name by their symbol; any other is shown by its code.
CURRENCY_SYMBOLS = {"978": "€", "840": "$", "826": "£", "953": "XPF", "392": "¥", "756": "CHF"}


def merchant_display(tx: AcsTransaction) -> str:
    """The AReq's merchantName as the page and the SMS show it: one line, nothing hidden in it."""
    return one_line(tx.merchant_name, max_length=MERCHANT_NAME_MAX)


def amount_display(tx: AcsTransaction, language: str) -> str:
    """299,00 € in French, €299.00 in English, from the AReq's minor units and exponent."""
    if not tx.purchase_amount:
        return ""
    exponent = tx.purchase_exponent or 0
    digits = tx.purchase_amount.lstrip("0").rjust(exponent + 1, "0")
    whole, fraction = (digits[:-exponent], digits[-exponent:]) if exponent else (digits, "")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    symbol = CURRENCY_SYMBOLS.get(tx.purchase_currency, tx.purchase_currency)
    if language == "fr":
        number = "\u202f".join(groups) + ("," + fraction if fraction else "")
        return f"{number}\u00a0{symbol}"
    number = ",".join(groups) + ("." + fraction if fraction else "")
    return f"{symbol}{number}" if len(symbol) == 1 else f"{number} {symbol}"


def date_display(tx: AcsTransaction) -> str:
    """The purchase date in GMT, as the original pages write it: 07/02/2022 21:28:18 GMT."""
    when = tx.purchase_date or tx.created_at
    return when.strftime("%d/%m/%Y %H:%M:%S") + " GMT"


def masked_card(tx: AcsTransaction) -> str:
    """As the original summary: x for every digit but the last three."""
    digits = tx.masked_pan
    return "x" * max(len(digits) - 3, 0) + digits[-3:]


def masked_phone(phone: str) -> str:
    """As the original summary: the country code's first two characters and the last two digits."""
    if len(phone) < 6:
        return _("unknown")
    return phone[:3] + "x" * (len(phone) - 5) + phone[-2:]
