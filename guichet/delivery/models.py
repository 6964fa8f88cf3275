from __future__ import annotations

import uuid

from django.db import models


class OutboxMessage(models.Model):
    """An SMS, email or HTTP post written in the same transaction as the event that causes it.

    The content is encrypted at rest (it may carry a one-time code). Messages to one recipient
    are delivered in the order they were written. For HTTP posts the recipient is an ordering key
    chosen by the sender (the URL is in the content) and `template` names the kind of message.
    """

    class Channel(models.TextChoices):
        SMS = "sms"
        EMAIL = "email"
        HTTP = "http"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        GIVEN_UP = "given_up"

    seq = models.BigAutoField(primary_key=True)
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=254, db_index=True)
    template = models.CharField(max_length=64)
    language = models.CharField(max_length=8)
    content = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "recipient", "seq"])]
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.channel} #{self.seq} {self.template} ({self.status})"
