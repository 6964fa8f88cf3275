"""The one clock of the domain code.

Everything that decides on time (code expiry, blocks, cooldowns, session inactivity, delivery
back-off) asks `now()`, so tests can move time forward without sleeping.
"""

from __future__ import annotations

import datetime as dt
import threading

_lock = threading.Lock()
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + _offset


def advance(*, seconds: float) -> None:
    """Move the clock forward (tests and the demo's time-travel only)."""
    global _offset
    with _lock:
        _offset += dt.timedelta(seconds=seconds)


def reset() -> None:
    global _offset
    with _lock:
        _offset = dt.timedelta(0)
