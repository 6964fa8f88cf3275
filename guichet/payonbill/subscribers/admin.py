"""Back-office views of contracts, mailboxes and bills. Password hashes and import digests are
never shown; credentials change only through the subscriber file or the subscriber."""

from __future__ import annotations

from django.contrib import admin

from guichet.payonbill.subscribers.models import BillCharge, Contract, Mailbox


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
    )
    readonly_fields = ("number", "pay_on_bill_changed_at", "created_at", "updated_at")
    inlines = [MailboxInline]

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
