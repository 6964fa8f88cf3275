"""The state of one browser challenge, next to the core's transaction row.

Kept in the database, keyed by acsTransID: the merchant's iframe blocks third-party cookies, and any
server process may receive the next step.
"""

from __future__ import annotations

from django.db import models

from guichet.issuer.acs.models import AcsTransaction


class Challenge(models.Model):
    class Step(models.TextChoices):
        EPIN = "epin"  # step 1 of 2: the ePin
        SMS = "sms"  # step 2 of 2: the SMS code
        DONE = "done"  # outcome decided; the page posts the final CRes

    transaction = models.OneToOneField(
        AcsTransaction, primary_key=True, on_delete=models.CASCADE, related_name="challenge"
    )
    step = models.CharField(max_length=8, choices=Step.choices)
    window_size = models.CharField(max_length=2)  # challengeWindowSize 01-05
    language = models.CharField(max_length=2)  # fr or en, from the AReq's browserLanguage
    # threeDSSessionData as posted with the CReq (None: not posted), returned unchanged at the end.
    session_data = models.TextField(null=True, blank=True)  # noqa: DJ001 (absent differs from empty)
    attempts_used = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField()
    deadline = models.DateTimeField()  # the challenge ends (timeout) at this time
    # When the current page was served: a form posted more than GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT
    # later (inactivity, PSD2 RTS art. 4(3)(d)) ends the challenge like the deadline does.
    served_at = models.DateTimeField()
    # Keyed hash of the one form token currently valid; each accepted form replaces it.
    token_hash = models.CharField(max_length=64)
    # The ePin typed at step 1, encrypted, until it is checked together with the SMS code at step 2.
    epin_encrypted = models.BinaryField(null=True, blank=True)
    error = models.CharField(max_length=16, blank=True)  # why the current page shows an error
    # The step the outcome was decided at: the final page keeps that step's heading ("Annuler votre
    # paiement" at step 1 is not step 2's). Blank before the outcome, and for rows older than the field.
    ended_step = models.CharField(max_length=8, choices=Step.choices, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["step", "deadline"], name="acs_challenge_step_deadline"),
            models.Index(fields=["step", "served_at"], name="acs_challenge_step_served"),
        ]

    def __str__(self) -> str:
        return f"challenge {self.transaction_id} ({self.step})"
