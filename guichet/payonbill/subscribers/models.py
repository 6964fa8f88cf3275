"""The operator's subscribers: contracts (internet lines), their mailboxes, and the bill.

Billing period rule: a charge belongs to the calendar month, in the operator's billing time zone
(`GUICHET_BILLING_TIME_ZONE`), in which it was made (`BillCharge.period`, "YYYY-MM"). The monthly
cap and the customer space's "current bill" use that month.
"""

from __future__ import annotations

from django.db import models


class Contract(models.Model):
    """An internet subscription (one line) with one or more mailboxes."""

    number = models.CharField(max_length=32, unique=True)
    holder_name = models.CharField(max_length=100, blank=True)
    # The line's public address, as the operator's file gives it: the legacy path recognises it.
    line_ip = models.GenericIPAddressField(null=True, blank=True, unique=True)
    pay_on_bill_blocked = models.BooleanField(default=False)
    pay_on_bill_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Mailbox(models.Model):
    """A mailbox of a contract; its login and password are the subscriber's credentials."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="mailboxes")
    # What the subscriber signs in with (lower-cased): the mailbox address once personalised.
    login = models.CharField(max_length=254, unique=True)
    # The login of the operator's file: how a re-import finds this mailbox after personalisation.
    imported_login = models.CharField(max_length=254, unique=True)
    password_hash = models.CharField(max_length=200)  # Argon2id, PHC string
    # Keyed hash of the password the file last gave, so an unchanged row is not hashed again.
    import_digest = models.CharField(max_length=64)
    personalised = models.BooleanField(default=False)
    personalised_at = models.DateTimeField(null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # A session is valid only while it carries the current epoch: bumping it signs out everywhere.
    session_epoch = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["contract_id", "id"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.login

    @property
    def address(self) -> str:
        """Where mail reaches the subscriber: the login once personalised, else nothing known."""
        return self.login if self.personalised and "@" in self.login else ""

    @property
    def throttle_key(self) -> str:
        return f"mailbox:{self.pk}"


class BillCharge(models.Model):
    """A pay-on-bill purchase added to a contract's bill (amounts in minor units)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="charges")
    # None when the purchase was confirmed from the recognised line, without an individual sign-in.
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="charges"
    )
    payment_public_id = models.CharField(max_length=64, unique=True)
    # The merchant's id as the checkout gave it: a value, since subscribers do not know merchants.
    merchant_id = models.PositiveBigIntegerField(null=True, blank=True)
    merchant_name = models.CharField(max_length=200)
    product = models.CharField(max_length=200)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    charged_at = models.DateTimeField()
    period = models.CharField(max_length=7, help_text="calendar month of the bill, YYYY-MM")
    refunded_amount = models.PositiveIntegerField(default=0)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-charged_at", "-id"]
        indexes = [models.Index(fields=["contract", "period"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(refunded_amount__lte=models.F("amount")), name="refund_within_amount"
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_public_id} {self.amount} {self.currency}"

    @property
    def net_amount(self) -> int:
        return self.amount - self.refunded_amount


class BillLine(models.Model):
    """One line of the operator's billing feed (subscribers/billfeed.py): a charge, or a credit (a
    refund, negative amount). Written in the transaction of the charge or refund, never changed.

    `seq` orders the feed and is its cursor; `period` is the bill the line is on, which for a credit
    is the charge's bill unless that bill is closed (then the bill of the refund's moment).
    """

    class Kind(models.TextChoices):
        CHARGE = "charge"
        CREDIT = "credit"

    seq = models.PositiveBigIntegerField(unique=True, help_text="position in the billing feed")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="bill_lines")
    charge = models.ForeignKey(BillCharge, on_delete=models.PROTECT, related_name="lines")
    period = models.CharField(max_length=7, help_text="calendar month of the bill, YYYY-MM")
    at = models.DateTimeField()
    payment_public_id = models.CharField(max_length=64)
    merchant_id = models.PositiveBigIntegerField(null=True, blank=True)
    merchant_name = models.CharField(max_length=200)
    product = models.CharField(max_length=200)
    amount = models.BigIntegerField(help_text="minor units, VAT included; negative for a credit")
    currency = models.CharField(max_length=3)
    # The VAT rate in force when the line was written (basis points: 2000 = 20 %), None if not set.
    vat_rate_bp = models.PositiveIntegerField(null=True, blank=True)
    vat_amount = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["period", "contract"]),
            models.Index(fields=["merchant_id", "period"]),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.kind} {self.payment_public_id} {self.amount} {self.currency}"


class BillFeedCounter(models.Model):
    """The feed's single row (pk 1): the last `BillLine.seq` given. Locked by every line insert and
    every close, in their transaction (billfeed.py says why)."""

    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"bill feed at {self.last_seq}"


class BillPeriodClose(models.Model):
    """A closed bill: no line is added to `period` after `closed_at` (`guichet billing close`)."""

    period = models.CharField(max_length=7, unique=True)
    closed_at = models.DateTimeField()
    last_seq = models.PositiveBigIntegerField(help_text="the feed's last line when the bill was closed")

    class Meta:
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.period} closed"


class OperatorApiKey(models.Model):
    """A key of the operator's billing system (GET /api/operator/v1/bill-lines): as merchants' keys,
    only a keyed hash and a visible prefix are stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "operator API key"

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name} ({'revoked' if self.revoked_at else 'active'})"
