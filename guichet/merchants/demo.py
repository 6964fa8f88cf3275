"""Demo data of this area, seeded by `guichet demo`."""

from __future__ import annotations


def demo_seed(base_url: str) -> list[str]:
    """Create this area's demo data (idempotent); return the lines to print in the demo banner."""
    return []
