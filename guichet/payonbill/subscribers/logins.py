"""Subscriber logins: what one looks like, and the form in which they are stored and compared."""

from __future__ import annotations

import re

# 3 to 254 characters without spaces, commas or quotes: the operator's file and the remembered address.
LOGIN = re.compile(r"[^\s,;\"'<>]{3,254}")


def normalise_login(login: str) -> str:
    return login.strip().lower()
