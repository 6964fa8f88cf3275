"""Template helpers of the operator-branded pages (`{% load operator_brand %}`)."""

from __future__ import annotations

from django import template
from django.conf import settings

from guichet.config.env import SubscribersConfig

register = template.Library()


@register.simple_tag
def operator_branding() -> SubscribersConfig:
    """`{% operator_branding as operator %}`: name, short name, colour, logo, terms, service name."""
    return settings.GUICHET.subscribers


@register.filter
def minor_units(amount: int | None, language: str = "fr") -> str:
    """An amount in cents as euros, French or English style: 3,90 € / €3.90."""
    value = int(amount or 0)
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    if language == "en":
        return f"{sign}€{whole:,}.{cents:02d}"
    grouped = f"{whole:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{cents:02d}\u00a0€"
