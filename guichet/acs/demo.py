"""Demo data of this area, seeded by `guichet demo`."""

from __future__ import annotations


def demo_seed(base_url: str) -> list[str]:
    """The ACS has no data of its own (the cards are the issuer's): only the banner lines."""
    return [
        f"3-D Secure ACS     POST {base_url}/3ds/areq   (AReq from the DS; "
        f"transactions in {base_url}/admin/acs/acstransaction/)",
    ]
