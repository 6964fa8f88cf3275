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
    event = models.CharField(max_length=64, db_index=True)  # area:subject:action
    subject = models.CharField(max_length=128, db_index=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.subject} {self.outcome}"
