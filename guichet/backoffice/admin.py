from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from guichet.backoffice.models import StaffTotp


@admin.register(StaffTotp)
class StaffTotpAdmin(admin.ModelAdmin[StaffTotp]):
    """Who has an authenticator; never its seed. `guichet staff create|otp` issues them; deleting one
    here stops it working (that person then needs `guichet staff otp`)."""

    list_display = ("user", "name", "confirmed", "created_at")
    fields = ("user", "name", "confirmed", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StaffTotp | None = None) -> bool:
        return False
