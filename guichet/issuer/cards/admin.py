from __future__ import annotations

from django.contrib import admin

from guichet.issuer.cards.models import Card, Cardholder


class CardInline(admin.TabularInline[Card, Cardholder]):
    model = Card
    fields = ("masked_pan", "expiry", "status")
    readonly_fields = ("masked_pan", "expiry")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Cardholder)
class CardholderAdmin(admin.ModelAdmin[Cardholder]):
    list_display = ("email", "name", "masked_phone", "has_epin", "epin_set_at")
    search_fields = ("email", "name")
    fields = ("email", "name", "phone", "epin_set_at", "created_at", "updated_at")
    readonly_fields = ("epin_set_at", "created_at", "updated_at")
    inlines = [CardInline]

    @admin.display(boolean=True, description="ePin")
    def has_epin(self, obj: Cardholder) -> bool:
        return obj.has_epin


@admin.register(Card)
class CardAdmin(admin.ModelAdmin[Card]):
    list_display = ("masked_pan", "cardholder", "expiry", "status")
    list_filter = ("status",)
    search_fields = ("cardholder__email", "last4")
    fields = ("masked_pan", "cardholder", "expiry", "status", "created_at", "updated_at")
    readonly_fields = ("masked_pan", "cardholder", "expiry", "created_at", "updated_at")

    def has_add_permission(self, request: object) -> bool:
        return False
