from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from guichet.core import clock
from guichet.delivery.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    """Operators see what is stuck and why; never the content (it may hold a code)."""

    list_display = (
        "seq",
        "channel",
        "recipient",
        "template",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "channel", "template")
    search_fields = ("recipient", "message_id")
    fields = (
        "message_id",
        "channel",
        "recipient",
        "template",
        "language",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "give_up_at",
        "sent_at",
        "last_error",
    )
    readonly_fields = fields
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = queryset.filter(status=OutboxMessage.Status.PENDING).update(next_attempt_at=clock.now())
        self.message_user(request, f"{count} message(s) will be retried now.", messages.SUCCESS)
