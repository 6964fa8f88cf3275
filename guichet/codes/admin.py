from __future__ import annotations

from django.contrib import admin

from guichet.codes.models import CredentialThrottle


@admin.register(CredentialThrottle)
class CredentialThrottleAdmin(admin.ModelAdmin[CredentialThrottle]):
    list_display = ("key", "failures", "block_count", "blocked_until", "updated_at")
    search_fields = ("key",)
    readonly_fields = ("key", "failures", "block_count", "updated_at")
    fields = ("key", "failures", "block_count", "blocked_until", "updated_at")
