"""Back-office views of contracts, mailboxes and bills. Password hashes and import digests are
never shown; credentials change only through the subscriber file or the subscriber."""

from __future__ import annotations

from typing import TypeVar

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from guichet.payonbill.subscribers.models import (
    BillCharge,
    BillLine,
    BillPeriodClose,
    Contract,
    Mailbox,
    OperatorApiKey,
)


class MailboxInline(admin.TabularInline[Mailbox, Contract]):
    model = Mailbox
    fields = ("login", "imported_login", "personalised", "personalised_at", "password_changed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin[Contract]):
    class Media:
        css = {"all": ("backoffice/admin.css",)}  # breadcrumbs' links told apart by more than colour

    list_display = ("number", "holder_name", "line_ip", "pay_on_bill_blocked")
    list_filter = ("pay_on_bill_blocked",)
    search_fields = ("number", "holder_name", "mailboxes__login", "line_ip")
    fields = (
        "number",
        "holder_name",
        "line_ip",
        "pay_on_bill_blocked",
        "pay_on_bill_changed_at",
        "created_at",
        "updated_at",
        "bill_lines",
    )
    readonly_fields = ("number", "pay_on_bill_changed_at", "created_at", "updated_at", "bill_lines")
    inlines = [MailboxInline]

    @admin.display(description=_("Bill lines"))
    def bill_lines(self, obj: Contract) -> SafeString:
        url = reverse("admin:subscribers_billline_changelist") + f"?contract__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("The lines of this contract's bills"))

    def has_add_permission(self, request: object) -> bool:
        return False  # contracts come from the operator's subscriber file


@admin.register(BillCharge)
class BillChargeAdmin(admin.ModelAdmin[BillCharge]):
    list_display = ("charged_at", "contract", "merchant_name", "product", "amount", "refunded_amount")
    list_filter = ("period",)
    search_fields = ("payment_public_id", "contract__number", "merchant_name")
    readonly_fields = (
        "contract",
        "mailbox",
        "payment_public_id",
        "merchant_name",
        "product",
        "amount",
        "currency",
        "charged_at",
        "period",
        "refunded_amount",
        "refunded_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


_M = TypeVar("_M", BillLine, BillPeriodClose, OperatorApiKey)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """What the feed wrote or the CLI made: shown, never edited here."""

    class Media:
        css = {"all": ("backoffice/admin.css",)}  # breadcrumbs' links told apart by more than colour

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(BillLine)
class BillLineAdmin(ReadOnlyAdmin[BillLine]):
    """The billing feed (docs/operators.md): filter by bill and kind, or reach a contract's lines from
    the contract's page."""

    list_display = (
        "seq",
        "period",
        "contract",
        "kind",
        "at",
        "payment_public_id",
        "merchant_name",
        "product",
        "amount",
        "vat_amount",
    )
    list_filter = ("period", "kind")
    search_fields = ("contract__number", "payment_public_id", "merchant_name")
    list_select_related = ("contract",)
    ordering = ("-seq",)


@admin.register(BillPeriodClose)
class BillPeriodCloseAdmin(ReadOnlyAdmin[BillPeriodClose]):
    """Closed bills (`guichet billing close`)."""

    list_display = ("period", "closed_at", "last_seq")


@admin.register(OperatorApiKey)
class OperatorApiKeyAdmin(ReadOnlyAdmin[OperatorApiKey]):
    """The operator API's keys (`guichet billing key add|revoke`): prefixes only."""

    list_display = ("prefix", "name", "created_at", "revoked_at")
    fields = ("prefix", "name", "created_at", "revoked_at")
