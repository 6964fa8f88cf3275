"""The texts the ACS puts in an ARes's cardholderInfo (at most 128 characters), in the cardholder's
language: French unless the browser asks for English."""

from __future__ import annotations

import datetime as dt

from django.utils import translation
from django.utils.translation import gettext

CARDHOLDER_INFO_MAX = 128


def enrollment_info(*, public_url: str, language: str) -> str:
    """The cardholderInfo text for a cardholder without an ePin: a pointer to the enrollment portal."""
    url = f"{public_url}/enrollment/"
    with translation.override(language):
        text = gettext("No static password? Please enrol first on the enrollment portal: %(url)s") % {
            "url": url
        }
        if len(text) > CARDHOLDER_INFO_MAX:
            text = gettext("No static password? Please enrol first on the enrollment portal.")
    return text[:CARDHOLDER_INFO_MAX]


def language_of(browser_language: str | None) -> str:
    """French unless the browser asks for English (the issuer's pages are French by default)."""
    return "en" if (browser_language or "").lower().startswith("en") else "fr"


def sms_hold_info(*, until: dt.datetime, language: str) -> str:
    """The cardholderInfo text of an AReq refused while the new phone is on hold (SIM-swap guard)."""
    with translation.override(language):
        text = gettext(
            "Your phone number was changed recently: payments needing an SMS code are refused until "
            "%(until)s GMT."
        ) % {
            "until": until.strftime("%d/%m/%Y %H:%M")
            if language == "fr"
            else until.strftime("%Y-%m-%d %H:%M")
        }
    return text[:CARDHOLDER_INFO_MAX]
