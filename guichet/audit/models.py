from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """An append-only record of a security event. Never holds a secret."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"
        REFUSED = "refused"
        INFO = "info"

    at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=64)  # area:subject:action
    subject = models.CharField(max_length=128, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # Plain indexes for equality look-ups and the back-office filter. Not `db_index=True`: on
        # PostgreSQL that adds a second, LIKE-prefix index per column that no query uses, and every
        # event (one per AReq) would pay for both.
        indexes = [
            models.Index(fields=["event"], name="audit_event"),
            models.Index(fields=["subject"], name="audit_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.subject} {self.outcome}"
