from __future__ import annotations

from django.db import models


class OneTimeCode(models.Model):
    """A code sent to a person, kept only as a keyed hash bound to its purpose and subject."""

    purpose = models.CharField(max_length=64)
    subject = models.CharField(max_length=128)
    channel = models.CharField(max_length=16)
    batch = models.CharField(max_length=32, help_text="codes sent together share a batch")
    code_hash = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["subject", "purpose", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.channel} for {self.subject}"


class CredentialThrottle(models.Model):
    """Consecutive failures of one credential holder, and the block they earn."""

    key = models.CharField(max_length=128, unique=True)
    failures = models.PositiveIntegerField(default=0)
    block_count = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key


class RateBucket(models.Model):
    """A fixed-window counter for rate limits when no Redis is configured."""

    key = models.CharField(max_length=160, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.key
