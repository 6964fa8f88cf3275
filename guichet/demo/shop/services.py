"""The shop's orders."""

from __future__ import annotations

from guichet.core import clock
from guichet.demo.shop.catalogue import PRODUCTS
from guichet.demo.shop.models import Order


def shop_order_create(*, product: str) -> Order:
    """A new order for one catalogue product; KeyError for a product the shop does not sell."""
    item = PRODUCTS[product]
    now = clock.now()
    return Order.objects.create(
        product=item.key, amount=item.amount, currency=item.currency, created_at=now, updated_at=now
    )
