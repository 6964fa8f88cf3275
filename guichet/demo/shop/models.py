"""The demo shop's orders, and what its 3DS Server / DS simulator and notification receiver saw.

These tables belong to the fictional merchant and the simulated scheme, not to Guichet: no other
part of Guichet reads them, and they hold no PAN (only its masked form).
"""

from __future__ import annotations

import uuid

from django.db import models


class Order(models.Model):
    class Method(models.TextChoices):
        CARD = "card"
        INTERNET_PLUS = "internetplus"

    class Status(models.TextChoices):
        NEW = "new"  # basket shown, no payment started
        CHALLENGE = "challenge"  # the ACS asked for a challenge: the iframe is shown
        PENDING = "pending"  # internet+: the customer is on Guichet's checkout
        ACCEPTED = "accepted"
        REFUSED = "refused"
        CANCELLED = "cancelled"
        ERROR = "error"  # a protocol error or an unreachable peer

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.CharField(max_length=32)
    amount = models.PositiveIntegerField()  # minor units
    currency = models.CharField(max_length=3, default="EUR")
    method = models.CharField(max_length=16, choices=Method.choices, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    # Card payment through the 3DS Server simulator.
    card_masked = models.CharField(max_length=19, blank=True)
    message_version = models.CharField(max_length=8, blank=True)
    three_ds_server_trans_id = models.CharField(max_length=36, blank=True, db_index=True)
    # The 3DS Method run from the card page (its threeDSServerTransID, the AReq's too), and when the
    # ACS's page posted back to our notification URL: the AReq's threeDSCompInd is Y, N or U from these.
    method_trans_id = models.CharField(max_length=36, blank=True)
    method_notified_at = models.DateTimeField(null=True, blank=True)
    acs_trans_id = models.CharField(max_length=36, blank=True)
    acs_url = models.CharField(max_length=2048, blank=True)
    creq = models.TextField(blank=True)  # base64url, posted by the iframe form
    session_data = models.CharField(max_length=64, blank=True)  # threeDSSessionData we sent
    trans_status = models.CharField(max_length=1, blank=True)
    trans_status_reason = models.CharField(max_length=2, blank=True)
    eci = models.CharField(max_length=2, blank=True)
    authentication_value = models.CharField(max_length=28, blank=True)
    ares = models.JSONField(null=True, blank=True)
    cres = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)  # an Erro, or what went wrong locally

    # internet+ through Guichet's merchant API.
    payment_id = models.CharField(max_length=64, blank=True)
    payment_status = models.CharField(max_length=32, blank=True)
    refusal_reason = models.CharField(max_length=64, blank=True)
    checkout_url = models.CharField(max_length=2048, blank=True)
    return_verified = models.BooleanField(null=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.product} {self.amount} {self.currency} ({self.status})"


class DsTransaction(models.Model):
    """One AReq the DS simulator forwarded to the ACS, so it can recognise the RReq that follows."""

    ds_trans_id = models.CharField(max_length=36, primary_key=True)
    three_ds_server_trans_id = models.CharField(max_length=36, unique=True)
    acs_trans_id = models.CharField(max_length=36, blank=True)
    message_version = models.CharField(max_length=8)
    message_category = models.CharField(max_length=2)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="ds")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.ds_trans_id


class DsResult(models.Model):
    """An RReq the DS simulator received (valid or not) and the RRes or Erro it answered."""

    transaction = models.ForeignKey(
        DsTransaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    received_at = models.DateTimeField()
    accepted = models.BooleanField()
    rreq = models.JSONField(null=True, blank=True)  # the message as received, when it was JSON
    answer = models.JSONField()  # RRes or Erro

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"RReq {'accepted' if self.accepted else 'refused'} at {self.received_at:%H:%M:%S}"


class Notification(models.Model):
    """A payment notification posted by Guichet to the shop, with the outcome of its signature check."""

    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    received_at = models.DateTimeField()
    signature_ok = models.BooleanField()
    problem = models.CharField(max_length=64, blank=True)  # why it was refused, or "duplicate"
    event_id = models.CharField(max_length=64, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    payment_status = models.CharField(max_length=32, blank=True)
    refusal_reason = models.CharField(max_length=64, blank=True)
    body = models.TextField(blank=True)  # the raw body, cut at 4 KiB

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type or 'notification'} ({'signed' if self.signature_ok else self.problem})"
