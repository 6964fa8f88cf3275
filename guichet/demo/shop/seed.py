"""Demo data of the demo shop, seeded by `guichet demo`: the shop's merchant account and a known ePin."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from guichet.demo.data import DEMO_CARDS, DEMO_EPIN
from guichet.demo.shop.internetplus import shop_credentials, shop_merchant_create
from guichet.issuer.cards.services import cardholder_find, epin_set


def shop_url(base_url: str) -> str:
    """The shop on another origin than Guichet when that is free: `localhost` for `127.0.0.1`.

    The browser then treats the ACS's challenge as a third-party iframe, as in real life.
    """
    parts = urlsplit(base_url)
    if parts.hostname == "127.0.0.1":
        parts = parts._replace(netloc=parts.netloc.replace("127.0.0.1", "localhost", 1))
    return urlunsplit(parts._replace(path="/demo/shop/"))


def demo_seed(base_url: str) -> list[str]:
    """Register the shop as a merchant (once), give the first demo cardholder a known ePin (unless one
    was already chosen), and return the banner lines."""
    shop = shop_url(base_url)
    if shop_credentials() is None:
        shop_merchant_create(base_url=shop.removesuffix("/demo/shop/"))
    holder = cardholder_find(email=DEMO_CARDS[0].email)
    if holder is not None and not holder.has_epin:
        epin_set(cardholder=holder, epin=DEMO_EPIN, confirmation=DEMO_EPIN, ip="")
    lines = [f"Demo shop          {shop}   (a fictional merchant: card with 3-D Secure, internet+)"]
    for card in DEMO_CARDS:
        note = (
            f"ePin {DEMO_EPIN} unless changed"
            if card.email == DEMO_CARDS[0].email
            else f"no ePin yet: create one at {base_url}/enrollment/"
        )
        lines.append(f"  card {card.pan}  exp 12/29  {card.name} ({note})")
    lines.append("  SMS codes of the challenge arrive in the dev inbox")
    return lines
