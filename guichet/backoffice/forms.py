from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guichet.backoffice.services import StaffSigninRefused, staff_signin
from guichet.core.http import client_ip

MESSAGES = {
    "invalid": _("Wrong user name, password or authentication code."),
    "blocked": _("Too many failed attempts for this user: try again later."),
    "rate_limited": _("Too many sign-in attempts from your address: try again later."),
}


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's sign-in form, checked by `staff_signin` (throttle, audit, second factor)."""

    otp_token = forms.CharField(
        label=_("Authentication app code"),
        required=False,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.otp_required = settings.GUICHET.staff.otp_required
        if self.otp_required:
            self.fields["otp_token"].required = True

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data  # the fields' own errors
        try:
            self.user_cache = staff_signin(  # type: ignore[assignment]  # the user model is auth's User
                request=self.request,
                username=username,
                password=password,
                token=self.cleaned_data.get("otp_token") or "",
                ip=client_ip(self.request) if self.request else "",
            )
        except StaffSigninRefused as refused:
            raise ValidationError(MESSAGES[refused.reason], code=refused.reason) from None
        return self.cleaned_data
