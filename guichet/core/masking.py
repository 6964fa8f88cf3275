"""How identifiers are shown: never in full."""

from __future__ import annotations


def mask_pan(first6: str, last4: str, length: int) -> str:
    """First 6 and last 4 digits, the rest as X (PCI DSS display rule)."""
    return first6 + "X" * max(length - 10, 0) + last4


def mask_phone(phone: str) -> str:
    """Only the last two digits, as the original pay-on-bill pages show: xxxxxxxx23."""
    digits = phone.lstrip("+")
    return "x" * max(len(digits) - 2, 0) + digits[-2:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"
