"""The one-time codes in what a phone or a mailbox received (no Django: the demo walk uses it too)."""

from __future__ import annotations

import re

SMS_CODE = re.compile(r"\b([0-9]{8})\b")
EMAIL_CODE = re.compile(r":\s*([0-9A-Za-z]{5})\s*$", re.MULTILINE)


def sms_code(text: str) -> str:
    match = SMS_CODE.search(text)
    assert match, text
    return match.group(1)


def email_code(body: str) -> str:
    match = EMAIL_CODE.search(body)
    assert match, body
    return match.group(1)


def found(pattern: re.Pattern[str], text: str) -> str:
    """The first group of `pattern`'s first match in `text` (the test fails when there is none)."""
    match = pattern.search(text)
    assert match, text
    return match.group(1)
