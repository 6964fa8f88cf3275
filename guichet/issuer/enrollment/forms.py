from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

TOO_LONG = _("This field is too long.")


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages={
            "required": _("Please enter your email address."),
            "invalid": _("Please enter a valid email address."),
            "max_length": TOO_LONG,
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class CodesForm(forms.Form):
    sms_code = forms.CharField(
        label=_("Code received by SMS"),
        max_length=16,
        validators=[RegexValidator(r"^[0-9]{8}\Z", _("The SMS code has 8 digits."))],
        error_messages={"required": _("Please enter both codes."), "max_length": TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    email_code = forms.CharField(
        label=_("Code received by email"),
        max_length=16,
        validators=[RegexValidator(r"^[0-9A-Za-z]{5}\Z", _("The email code has 5 letters or digits."))],
        error_messages={"required": _("Please enter both codes."), "max_length": TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_sms_code(self) -> str:
        return "".join(str(self.cleaned_data["sms_code"]).split())

    def clean_email_code(self) -> str:
        return "".join(str(self.cleaned_data["email_code"]).split())


EPIN_RULE = _("The password is exactly 4 digits.")


class EpinForm(forms.Form):
    epin = forms.CharField(
        label=_("Password"),
        max_length=8,
        strip=False,
        error_messages={"required": EPIN_RULE, "max_length": EPIN_RULE},
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
    )
    confirmation = forms.CharField(
        label=_("Password confirmation"),
        max_length=8,
        strip=False,
        error_messages={
            "required": _("Please confirm the password by typing it again."),
            "max_length": EPIN_RULE,
        },
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
    )
