from __future__ import annotations

from django.db import models

from guichet.core.masking import mask_pan, mask_phone


class Cardholder(models.Model):
    """A person known to the issuer by email, with a phone and one or more cards."""

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased
    phone = models.CharField(max_length=16)  # E.164
    name = models.CharField(max_length=100)
    epin_hash = models.CharField(max_length=64, blank=True)
    epin_set_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.email

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

    cardholder = models.ForeignKey(Cardholder, on_delete=models.CASCADE, related_name="cards")
    pan_encrypted = models.BinaryField()
    pan_index = models.CharField(max_length=64, unique=True)  # keyed hash, for look-up
    pan_length = models.PositiveSmallIntegerField()
    first6 = models.CharField(max_length=6)
    last4 = models.CharField(max_length=4)
    expiry = models.CharField(max_length=4)  # YYMM
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.masked_pan

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.first6, self.last4, self.pan_length)
