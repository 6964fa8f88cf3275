"""The one-time code and throttle numbers (docs/security.md, docs/issuers.md step 2), in one place."""

from __future__ import annotations

import datetime as dt

CODE_VALIDITY = dt.timedelta(minutes=10)
RESEND_COOLDOWN = dt.timedelta(seconds=30)
SENDS_PER_HOUR = 5
MAX_CONSECUTIVE_FAILURES = 5
FIRST_BLOCK = dt.timedelta(minutes=15)
LONGEST_BLOCK = dt.timedelta(hours=24)


def block_duration(block_count: int) -> dt.timedelta:
    """15 minutes for the first block, doubled for each repeat, at most a day."""
    doubled: dt.timedelta = FIRST_BLOCK * (2 ** max(block_count - 1, 0))
    return min(doubled, LONGEST_BLOCK)
