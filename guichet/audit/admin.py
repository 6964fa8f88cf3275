from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from guichet.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("at", "event", "subject", "ip", "outcome")
    list_filter = ("outcome", "event")
    search_fields = ("event", "subject", "ip")
    date_hierarchy = "at"
    readonly_fields = ("at", "event", "subject", "ip", "outcome", "detail")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
