"""What the fictional shop sells, and how it writes prices."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# A fictional publisher: neither the card issuer nor the internet operator of the demo.
SHOP_NAME = "Éditions du Lagon"


@dataclass(frozen=True)
class Product:
    key: str
    name: Promise
    description: Promise
    amount: int  # minor units
    currency: str = "EUR"


PRODUCTS: dict[str, Product] = {
    p.key: p
    for p in (
        Product(
            key="panier-editeur",
            name=pgettext_lazy("demoshop", "PUBLISHER BASKET"),
            description=pgettext_lazy(
                "demoshop", "This week's articles, to read online. Published by EDITEUR."
            ),
            amount=390,
        ),
        Product(
            key="collection-reliee",
            name=pgettext_lazy("demoshop", "The complete bound collection"),
            description=pgettext_lazy(
                "demoshop", "Twelve volumes of the lagoon's chronicles, bound, delivered to your door."
            ),
            amount=29900,
        ),
    )
}


def price(amount: int, currency: str, language: str) -> str:  # noqa: ARG001 (only euros here)
    """3,90 € in French, €3.90 in English (only euros are sold here)."""
    units, cents = divmod(amount, 100)
    if language.startswith("fr"):
        whole = f"{units:,}".replace(",", "\u202f")  # a narrow no-break space between thousands
        return f"{whole},{cents:02d}\u00a0€"
    return f"€{units:,}.{cents:02d}"
