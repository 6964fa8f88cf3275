"""A staff member's second factor: a TOTP authenticator app (RFC 6238)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django_otp.models import Device


class StaffTotp(Device):  # type: ignore[misc]  # django-otp ships no type hints
    """The authenticator of a staff member: 6 digits every 30 s, its seed encrypted at rest.

    django-otp's own TOTPDevice keeps the seed in clear; here, as for the merchants' notification
    secrets, the database alone (a dump, a backup) cannot mint codes without GUICHET_DATA_KEY.
    """

    # Annotated: django_otp has no type hints, so the stubs' plugin cannot see through its Device.
    seed_encrypted: models.BinaryField[bytes, bytes] = models.BinaryField(
        help_text="AES-256-GCM under GUICHET_DATA_KEY"
    )
    # The last time step accepted: each code signs in once, even within its 30 s.
    last_step: models.BigIntegerField[int, int] = models.BigIntegerField(default=-1)
    created_at: models.DateTimeField[dt.datetime, dt.datetime] = models.DateTimeField()

    class Meta:
        verbose_name = "staff authenticator"

    def verify_token(self, token: object) -> bool:
        from guichet.backoffice.services import staff_totp_verify

        return staff_totp_verify(device=self, token=str(token))
