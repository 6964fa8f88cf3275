"""`guichet demo`'s data: the issuer's cards, the operator's subscribers, the demo shop. Idempotent."""

from __future__ import annotations

from guichet.demo import data, subscribers
from guichet.demo.shop import seed as shop


def demo_seed(base_url: str) -> list[str]:
    """Create the demo data (once) and return the banner lines that say where each part is."""
    data.demo_seed()
    lines = [
        f"3-D Secure ACS     POST {base_url}/3ds/areq   (AReq from the DS; "
        f"transactions in {base_url}/admin/acs/acstransaction/)",
    ]
    lines += subscribers.demo_seed(base_url)
    lines += shop.demo_seed(base_url)
    return lines
