"""Back-office: merchants' settlement statements, downloaded as the CSV `guichet merchants statement`
writes (docs/merchants.md). Operator staff see them; issuer staff do not (backoffice/groups.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guichet.core import clock
from guichet.payonbill.checkout.models import MerchantStatement
from guichet.payonbill.checkout.statements import merchant_statement_csv
from guichet.payonbill.subscribers.billfeed import PeriodError, billing_period


class StatementActionForm(ActionForm):
    period = forms.CharField(
        label=gettext_lazy("Month (YYYY-MM)"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM", "size": 8}),
    )


@admin.register(MerchantStatement)
class MerchantStatementAdmin(admin.ModelAdmin[MerchantStatement]):
    class Media:
        css = {"all": ("backoffice/admin.css",)}  # breadcrumbs' links told apart by more than colour

    list_display = ("name", "id", "is_active")
    search_fields = ("name",)
    action_form = StatementActionForm
    actions = ["download_statement"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MerchantStatement | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: MerchantStatement | None = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Download the statement (CSV) of the month"), permissions=["view"])
    def download_statement(
        self, request: HttpRequest, queryset: QuerySet[MerchantStatement]
    ) -> HttpResponse | None:
        period = request.POST.get("period", "").strip() or billing_period(clock.now())
        if queryset.count() != 1:
            messages.error(request, _("Select one merchant: a statement is one merchant's."))
            return None
        merchant = queryset.get()
        try:
            data = merchant_statement_csv(merchant=merchant, period=period, actor=f"staff:{request.user.pk}")
        except PeriodError as exc:
            messages.error(request, str(exc))
            return None
        response = HttpResponse(data, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="statement-{merchant.pk}-{period}.csv"'
        return response
