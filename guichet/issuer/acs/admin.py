"""Back-office: 3-D Secure transactions and their messages, read-only, PAN masked."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from guichet.issuer.acs.models import AcsMessage, AcsTransaction


class AcsMessageInline(admin.TabularInline[AcsMessage, AcsTransaction]):
    model = AcsMessage
    fields = ("created_at", "kind", "direction", "pretty_body")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description="message (PAN masked)")
    def pretty_body(self, obj: AcsMessage) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.body, indent=2, ensure_ascii=False))

    def has_add_permission(self, request: HttpRequest, obj: AcsTransaction | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AcsTransaction)
class AcsTransactionAdmin(admin.ModelAdmin[AcsTransaction]):
    list_display = (
        "created_at", "acs_trans_id", "masked_pan", "merchant_name", "purchase_amount",
        "purchase_currency", "trans_status", "trans_status_reason", "state", "decided_by",
    )  # fmt: skip
    list_filter = ("state", "trans_status", "scheme", "message_version", "decided_by")
    search_fields = ("=acs_trans_id", "=ds_trans_id", "=three_ds_server_trans_id", "merchant_name")
    date_hierarchy = "created_at"
    # Everything but the authentication value: it is sent to the merchant, not shown to operators.
    fields = (
        "acs_trans_id", "message_version", "message_category", "device_channel",
        "three_ds_server_trans_id", "ds_trans_id", "ds_reference_number", "ds_url", "notification_url",
        "browser_language", "challenge_ind", "scheme", "masked_pan", "cardholder", "merchant_name",
        "purchase_amount", "purchase_currency", "purchase_exponent", "purchase_date", "state",
        "decided_by", "sms_only", "trans_status", "trans_status_reason", "authentication_type",
        "authentication_method", "challenge_cancel", "interaction_counter", "eci", "created_at",
        "ares_sent_at", "creq_received_at", "finished_at", "updated_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [AcsMessageInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AcsTransaction | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AcsTransaction | None = None) -> bool:
        return False
