"""The cards in the back-office: what staff look up on a call (a card's state and enrollment, masked)
and the actions they take (block, unblock, the phone), all through lifecycle.py, so each is audited
with `actor` `backoffice:<user name>` as the issuer API's are. Nothing here writes a card directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from guichet.core import clock
from guichet.core.http import client_ip
from guichet.issuer.cards.lifecycle import (
    MAX_HOLD_HOURS,
    LifecycleError,
    card_block,
    card_unblock,
    cardholder_phone_change,
)
from guichet.issuer.cards.models import Card, Cardholder, IssuerApiKey
from guichet.issuer.cards.services import phone_problem


def _actor(request: HttpRequest) -> str:
    return f"backoffice:{request.user.get_username()}"


class CardInline(admin.TabularInline[Card, Cardholder]):
    model = Card
    fields = ("reference", "masked_pan", "expiry", "status", "block_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CardholderForm(forms.ModelForm[Cardholder]):
    hold_hours = forms.IntegerField(
        label="SMS hold (hours)",
        required=False,
        min_value=1,
        max_value=MAX_HOLD_HOURS,
        help_text="With a new phone: no challenge SMS to it for this many hours (SIM-swap guard).",
    )

    class Meta:
        model = Cardholder
        fields = ("phone",)

    def clean_phone(self) -> str:
        phone = str(self.cleaned_data["phone"]).strip()
        problem = phone_problem(phone)
        if problem:
            raise forms.ValidationError(f"The phone {problem}.")
        return phone


@admin.register(Cardholder)
class CardholderAdmin(admin.ModelAdmin[Cardholder]):
    """Only the phone is changed here (audited, alert email, optional hold); name and email come from
    the issuer's systems (card file, issuer API)."""

    form = CardholderForm
    list_display = ("email", "reference", "name", "masked_phone", "has_epin", "epin_set_at")
    search_fields = ("email", "name", "reference")
    fields = (
        "email", "reference", "name", "phone", "hold_hours", "has_epin", "epin_set_at", "phone_changed_at",
        "sms_hold_until", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = (
        "email", "reference", "name", "has_epin", "epin_set_at", "phone_changed_at", "sms_hold_until",
        "created_at", "updated_at",
    )  # fmt: skip
    inlines = [CardInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Cardholder | None = None) -> bool:
        # A deletion would bypass the lifecycle services and their audit, and unlink the cardholder's
        # authentications: a cardholder leaves through the issuer's systems, a card by being blocked.
        return False

    @admin.display(boolean=True, description="ePin")
    def has_epin(self, obj: Cardholder) -> bool:
        return obj.has_epin

    def save_model(self, request: HttpRequest, obj: Cardholder, form: Any, change: bool) -> None:
        # The phone through the service, never the form's save: the change is audited and alerted.
        if "phone" not in form.changed_data:
            return
        phone = obj.phone
        obj.phone = form.initial["phone"]
        try:
            cardholder_phone_change(
                cardholder=obj, phone=phone, hold_hours=form.cleaned_data.get("hold_hours"),
                actor=_actor(request), ip=client_ip(request),
            )  # fmt: skip
        except LifecycleError as exc:
            self.message_user(request, f"Phone not changed: {exc.message}", messages.ERROR)


def _block_action(reason: str) -> Callable[[Any, HttpRequest, QuerySet[Card]], None]:
    def block(modeladmin: CardAdmin, request: HttpRequest, queryset: QuerySet[Card]) -> None:
        changed = sum(
            card_block(card=card, reason=reason, actor=_actor(request), ip=client_ip(request))
            for card in queryset
        )
        modeladmin.message_user(request, f"{changed} card(s) blocked ({reason}).", messages.SUCCESS)

    block.__name__ = f"block_{reason}"
    return admin.action(description=f"Block the selected cards: {reason}", permissions=["change"])(block)


@admin.register(Card)
class CardAdmin(admin.ModelAdmin[Card]):
    list_display = ("masked_pan", "reference", "cardholder", "expiry", "status", "block_reason", "enrolled")
    list_filter = ("status", "block_reason")
    search_fields = ("cardholder__email", "last4", "reference")
    fields = (
        "reference", "masked_pan", "cardholder", "expiry", "status", "block_reason", "blocked_at", "enrolled",
        "epin_set_at", "masked_phone", "sms_hold_until", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = fields
    actions = [*(_block_action(reason) for reason in Card.BlockReason.values), "unblock"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Card]:
        return super().get_queryset(request).select_related("cardholder")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Card | None = None) -> bool:
        return False  # blocked instead (audited), as for a cardholder above

    @admin.display(boolean=True, description="enrolled (ePin)")
    def enrolled(self, obj: Card) -> bool:
        return obj.cardholder.has_epin

    @admin.display(description="ePin set at")
    def epin_set_at(self, obj: Card) -> object:
        return obj.cardholder.epin_set_at

    @admin.display(description="phone")
    def masked_phone(self, obj: Card) -> str:
        return obj.cardholder.masked_phone

    @admin.display(description="SMS hold until")
    def sms_hold_until(self, obj: Card) -> object:
        holder = obj.cardholder
        return holder.sms_hold_until if holder.sms_held(clock.now()) else None

    @admin.action(description="Unblock the selected cards", permissions=["change"])
    def unblock(self, request: HttpRequest, queryset: QuerySet[Card]) -> None:
        changed = sum(
            card_unblock(card=card, actor=_actor(request), ip=client_ip(request)) for card in queryset
        )
        self.message_user(request, f"{changed} card(s) unblocked.", messages.SUCCESS)


@admin.register(IssuerApiKey)
class IssuerApiKeyAdmin(admin.ModelAdmin[IssuerApiKey]):
    """The issuer API's keys, read-only: `guichet cards key add|revoke` issues and revokes them."""

    list_display = ("prefix", "name", "created_at", "revoked_at")
    fields = ("prefix", "name", "created_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IssuerApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IssuerApiKey | None = None) -> bool:
        return False
