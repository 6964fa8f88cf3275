from __future__ import annotations

import datetime as dt

from django.db import models

from guichet.core.masking import mask_pan, mask_phone


class Cardholder(models.Model):
    """A person known to the issuer by email, with a phone and one or more cards."""

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased
    # The issuer's own identifier of the person, set through the issuer API (PUT /cardholders/{ref}).
    reference = models.CharField(max_length=64, unique=True, null=True, blank=True)
    phone = models.CharField(max_length=16)  # E.164
    name = models.CharField(max_length=100)
    epin_hash = models.CharField(max_length=64, blank=True)
    epin_set_at = models.DateTimeField(null=True, blank=True)
    phone_changed_at = models.DateTimeField(null=True, blank=True)
    # Against SIM-swap fraud: until then, no challenge SMS goes to the (new) phone.
    sms_hold_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.email

    def sms_held(self, now: dt.datetime) -> bool:
        return self.sms_hold_until is not None and now < self.sms_hold_until

    @property
    def has_epin(self) -> bool:
        return bool(self.epin_hash)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def throttle_key(self) -> str:
        """The payments' throttle: the ePin (with the challenge's SMS code). Its block refuses AReqs."""
        return f"cardholder:{self.pk}"

    @property
    def portal_throttle_key(self) -> str:
        """The enrollment portal's codes: their own throttle, so that anyone who knows the email
        address cannot block the card's payments by typing wrong codes."""
        return f"cardholder:{self.pk}:portal"


class Card(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        BLOCKED = "blocked"

    class BlockReason(models.TextChoices):
        LOST = "lost"
        STOLEN = "stolen"
        FRAUD = "fraud"
        OTHER = "other"

    # The issuer's handle on the card (never the PAN, which must not reach a URL or a log).
    reference = models.CharField(max_length=64, unique=True)
    cardholder = models.ForeignKey(Cardholder, on_delete=models.CASCADE, related_name="cards")
    pan_encrypted = models.BinaryField()
    pan_index = models.CharField(max_length=64, unique=True)  # keyed hash, for look-up
    pan_length = models.PositiveSmallIntegerField()
    first6 = models.CharField(max_length=6)
    last4 = models.CharField(max_length=4)
    expiry = models.CharField(max_length=4)  # YYMM
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    block_reason = models.CharField(max_length=16, choices=BlockReason.choices, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.masked_pan

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.first6, self.last4, self.pan_length)


class IssuerApiKey(models.Model):
    """A key of the issuer API (/api/issuer/v1/): only a keyed hash and a short prefix are stored."""

    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "issuer API key"

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name} ({'revoked' if self.revoked_at else 'active'})"


class IssuerIdempotencyRecord(models.Model):
    """The first answer to an issuer API write with an Idempotency-Key, replayed to its repeats."""

    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="issuer_idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
