"""3-D Secure transactions as the ACS keeps them, keyed by acsTransID.

One row per AReq that got an ARes (an AReq refused with an Erro leaves only an audit event). The row
holds what the challenge, the RReq and the issuer's verification need; the messages exchanged are
logged alongside, the PAN masked. Nothing here is ever kept in a cookie or in one process's memory.
"""

from __future__ import annotations

import uuid

from django.db import models

from guichet.issuer.cards.models import Card, Cardholder


class AcsTransaction(models.Model):
    class State(models.TextChoices):
        # ARes with a final transStatus (Y N U R A I): nothing more happens.
        FRICTIONLESS = "frictionless"
        # ARes C sent: the CReq must arrive within 30 s.
        AWAITING_CREQ = "awaiting_creq"
        # CReq received: the cardholder is in the challenge (10 minutes at most).
        CHALLENGE = "challenge"
        # Outcome known (success, failure, cancel, timeout): RReq queued to the DS.
        RESULT_SENT = "result_sent"
        # RRes received from the DS (and final CRes posted).
        COMPLETED = "completed"

    acs_trans_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message_version = models.CharField(max_length=8)
    message_category = models.CharField(max_length=2)
    device_channel = models.CharField(max_length=2)
    three_ds_server_trans_id = models.UUIDField()
    ds_trans_id = models.UUIDField()
    ds_reference_number = models.CharField(max_length=32)
    ds_url = models.CharField(max_length=2048)
    notification_url = models.CharField(max_length=256)
    browser_language = models.CharField(max_length=8, blank=True)
    challenge_ind = models.CharField(max_length=2, blank=True)  # threeDSRequestorChallengeInd

    # No index of its own: the (card, device_hash) one below serves the card's look-ups too, and
    # every AReq's insert pays for each index.
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    cardholder = models.ForeignKey(
        Cardholder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheme = models.CharField(max_length=16)  # "visa" or "mastercard": picks ECI and authentication value
    masked_pan = models.CharField(max_length=19)
    merchant_name = models.CharField(max_length=40, blank=True)
    purchase_amount = models.CharField(max_length=48, blank=True)  # minor units, as sent
    purchase_currency = models.CharField(max_length=3, blank=True)  # ISO 4217 numeric
    purchase_exponent = models.PositiveSmallIntegerField(null=True, blank=True)
    purchase_date = models.DateTimeField(null=True, blank=True)  # UTC, as sent

    state = models.CharField(max_length=16, choices=State.choices)
    decided_by = models.CharField(max_length=64, blank=True)  # the decision rule that answered the AReq
    sms_only = models.BooleanField(default=False)  # challenge without the ePin step (no-ePin policy)
    trans_status = models.CharField(max_length=1)
    trans_status_reason = models.CharField(max_length=2, blank=True)
    authentication_type = models.CharField(max_length=2, blank=True)
    authentication_method = models.CharField(max_length=2, blank=True)  # RReq, once challenged
    challenge_cancel = models.CharField(max_length=2, blank=True)
    interaction_counter = models.PositiveSmallIntegerField(default=0)
    eci = models.CharField(max_length=2, blank=True)
    authentication_value = models.CharField(max_length=28, blank=True)
    # The 3DS Method's device hash joined to this AReq (threeDSCompInd Y), "" without one: a later
    # AReq of the same card from this device is "recognised" once one of these ended Y by challenge.
    device_hash = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField()
    ares_sent_at = models.DateTimeField()
    creq_received_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)  # outcome decided (challenge or timeout)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "ares_sent_at"], name="acs_tx_state_ares"),
            models.Index(fields=["card", "device_hash"], name="acs_tx_card_device"),
        ]
        verbose_name = "3-D Secure transaction"

    def __str__(self) -> str:
        return str(self.acs_trans_id)


class AcsMessage(models.Model):
    """One protocol message received or sent for a transaction, as JSON with the PAN masked."""

    class Kind(models.TextChoices):
        AREQ = "AReq"
        ARES = "ARes"
        CREQ = "CReq"
        CRES = "CRes"
        RREQ = "RReq"
        RRES = "RRes"
        ERRO = "Erro"

    class Direction(models.TextChoices):
        IN = "in", "received"
        OUT = "out", "sent"

    transaction = models.ForeignKey(AcsTransaction, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.get_direction_display()}"


class DeviceObservation(models.Model):
    """What the 3DS Method page learnt of a browser, keyed by the Method's threeDSServerTransID.

    Created when the page is served (with its single-use token), completed when the page's script
    posts what the browser tells. The AReq with threeDSCompInd Y names the same ID (2.3.1: its
    threeDSMethodId). No IP address and no raw cookie value: only a keyed hash of the device.
    """

    method_trans_id = models.UUIDField(unique=True)
    token_hash = models.CharField(max_length=64, blank=True)  # keyed hash of the page's token; "" once used
    # Keyed hash of the device cookie's id and the browser's stable traits; "" when no cookie came
    # back (a browser that blocks cookies in a third-party iframe): traits alone are shared by too
    # many devices to recognise one.
    device_hash = models.CharField(max_length=64, blank=True)
    traits = models.JSONField(default=dict)  # screen, colour depth, time zone, languages, as told
    new_device = models.BooleanField(default=False)  # the cookie was set by this run
    created_at = models.DateTimeField()
    collected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="acs_device_obs_created")]
        verbose_name = "3DS Method device observation"

    def __str__(self) -> str:
        return str(self.method_trans_id)
