"""What the kernel sends when a credential gets blocked: each alert takes an address, not a product's
model, so any product can use it."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from guichet.codes.services import Alert
from guichet.delivery.services import outbox_enqueue_email


def blocked_alert(*, email: str, language: str) -> Alert:
    """Tell the owner of `email` that their credential is blocked (docs/security.md)."""

    def send(until: dt.datetime) -> None:
        outbox_enqueue_email(
            to=email,
            template="credential_blocked",
            language=language,
            context={"brand": settings.GUICHET.branding, "until": until},
        )

    return Alert(send=send)
