"""Debian's Chromium, as the browser tests and the demo walk drive it.

Playwright's own browser download cannot be used here: the tests drive the system Chromium, without
the background traffic the machine's closed network refuses.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
