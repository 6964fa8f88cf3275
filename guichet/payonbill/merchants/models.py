from __future__ import annotations

import uuid

from django.db import models

# The payment lifecycle, in one place: a payment leaves `pending` once, to one of these.
PENDING = "pending"
SUCCEEDED = "succeeded"
CANCELLED = "cancelled"
REFUSED = "refused"
EXPIRED = "expired"
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({SUCCEEDED, CANCELLED, REFUSED, EXPIRED}),
    SUCCEEDED: frozenset(),  # refunds are recorded beside it (amount_refunded), not as a status
    CANCELLED: frozenset(),
    REFUSED: frozenset(),
    EXPIRED: frozenset(),
}


class Merchant(models.Model):
    """A merchant ("éditeur") that creates payments through the API."""

    name = models.CharField(max_length=100)
    logo_url = models.URLField(max_length=500, blank=True)
    # Hosts the customer may be sent back to ("shop.example" or "shop.example:8443").
    return_hosts = models.JSONField(default=list, blank=True)
    notification_url = models.URLField(max_length=500)
    # Needed in clear to sign notifications: AES-GCM at rest (core crypto), label "merchant-secret:<pk>".
    notification_secret_encrypted = models.BinaryField(editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An API key of a merchant: only a keyed hash and a short prefix (to recognise it) are stored."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({'revoked' if self.revoked_at else 'active'})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = PENDING
        SUCCEEDED = SUCCEEDED
        CANCELLED = CANCELLED
        REFUSED = REFUSED
        EXPIRED = EXPIRED

    public_id = models.CharField(max_length=40, unique=True)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveBigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    product = models.CharField(max_length=128)
    reference = models.CharField(max_length=64)
    return_url = models.CharField(max_length=2000)
    cancel_url = models.CharField(max_length=2000)
    notification_url = models.CharField(max_length=2000, blank=True)
    language = models.CharField(max_length=2, blank=True, default="")  # the customer's, from the merchant
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)  # when it left `pending`
    payer_email = models.EmailField(max_length=254, blank=True)
    refusal_reason = models.CharField(max_length=64, blank=True)
    amount_refunded = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "reference"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class Refund(models.Model):
    public_id = models.CharField(max_length=40, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} of {self.payment_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an `Idempotency-Key`, replayed to its repeats."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=64)  # "payments" or "refunds:<payment id>"
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "scope", "key"], name="merchants_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class Notification(models.Model):
    """An event sent to a merchant (one outbox message): its id lets the merchant drop duplicates."""

    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=32)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="notifications")
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    outbox_message_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)  # HTTP status of the last try

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
