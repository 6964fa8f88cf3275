"""Back-office: merchants, their API keys (never shown after creation), payments, refunds, events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from guichet.payonbill.merchants import accounts
from guichet.payonbill.merchants.models import ApiKey, Merchant, Notification, Payment, Refund


class MerchantForm(forms.ModelForm[Merchant]):
    logo_url = forms.URLField(assume_scheme="https", required=False, max_length=500)
    notification_url = forms.URLField(assume_scheme="https", max_length=500)
    hosts = forms.CharField(
        label="Allowed return hosts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One host per line (shop.example or shop.example:8443).",
    )

    class Meta:
        model = Merchant
        fields = ("name", "logo_url", "notification_url", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hosts"].initial = "\n".join(self.instance.return_hosts or [])

    def clean_notification_url(self) -> str:
        try:
            return accounts.merchant_notification_url_check(url=self.cleaned_data["notification_url"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_hosts(self) -> list[str]:
        try:
            return sorted({accounts.normalise_host(h) for h in self.cleaned_data["hosts"].split() if h})
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class ApiKeyInline(admin.TabularInline[ApiKey, Merchant]):
    model = ApiKey
    fields = ("prefix", "label", "created_at", "revoked_at")
    readonly_fields = ("prefix", "label", "created_at", "revoked_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Merchant | None = None) -> bool:
        return False  # keys are added with "Add API key", which shows the new key once


def _shown_once(request: HttpRequest, title: str, secrets: list[tuple[str, str]], back: str) -> HttpResponse:
    """Secrets shown once on a page (a redirect with a message would keep them in a cookie)."""
    return TemplateResponse(
        request,
        "merchants/admin/shown_once.html",
        {**admin.site.each_context(request), "title": title, "secrets": secrets, "back": back},
    )


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin[Merchant]):
    form = MerchantForm
    list_display = ("name", "notification_url", "is_active", "created_at")
    search_fields = ("name",)
    inlines = [ApiKeyInline]

    def save_model(self, request: HttpRequest, obj: Merchant, form: Any, change: bool) -> None:
        hosts = form.cleaned_data["hosts"]
        if change:
            obj.return_hosts = hosts
            super().save_model(request, obj, form, change)
            return
        created = accounts.merchant_create(
            name=obj.name, notification_url=obj.notification_url, return_hosts=hosts, logo_url=obj.logo_url
        )
        obj.pk = created.merchant.pk
        obj.created_at = created.merchant.created_at
        obj.notification_secret_encrypted = created.merchant.notification_secret_encrypted
        obj.is_active = True
        request._merchant_created = created  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Merchant, post_url_continue: str | None = None) -> Any:
        created: accounts.MerchantCreated = request._merchant_created  # type: ignore[attr-defined]
        return _shown_once(
            request,
            _("Merchant %(name)s created") % {"name": obj.name},
            [(_("API key"), created.api_key), (_("Notification secret"), created.notification_secret)],
            back=f"../{obj.pk}/change/",
        )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ("prefix", "merchant", "label", "created_at", "revoked_at")
    list_filter = ("merchant",)
    search_fields = ("prefix", "merchant__name", "label")
    fields = ("merchant", "label")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("merchant", "prefix", "created_at", "revoked_at") if obj else ()

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("merchant", "prefix", "label", "created_at", "revoked_at") if obj else ("merchant", "label")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["label"])
            return
        key, clear = accounts.merchant_key_add(merchant=obj.merchant, label=obj.label)
        obj.pk = key.pk
        request._api_key_clear = clear  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> Any:
        clear: str = request._api_key_clear  # type: ignore[attr-defined]
        title = _("New API key for %(name)s") % {"name": obj.merchant.name}
        return _shown_once(request, title, [(_("API key"), clear)], back="../")

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            accounts.merchant_key_revoke(prefix=key.prefix)
        messages.success(request, f"{queryset.count()} key(s) revoked.")

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the audit trail keeps the prefix


class RefundInline(admin.TabularInline[Refund, Payment]):
    model = Refund
    fields = ("public_id", "amount", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin[Payment]):
    list_display = ("public_id", "merchant", "amount", "currency", "status", "reference", "created_at")
    list_filter = ("status", "merchant")
    search_fields = ("public_id", "reference")
    inlines = [RefundInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Payment | None = None) -> Any:
        return [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # payments are created through the API

    def has_delete_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("event_id", "type", "payment", "created_at", "delivered_at", "last_status")
    list_filter = ("type",)
    search_fields = ("event_id", "payment__public_id")

    def get_readonly_fields(self, request: HttpRequest, obj: Notification | None = None) -> Any:
        return [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
