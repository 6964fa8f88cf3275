from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

TOO_LONG = _("This field is too long.")
PASSWORD_REQUIRED = _("Please enter your password.")


def _password(
    label: StrOrPromise, autocomplete: str, required: StrOrPromise = PASSWORD_REQUIRED
) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=256,
        strip=False,
        error_messages={"required": required, "max_length": TOO_LONG},
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def address_example() -> str:
    """The original page's "prenom.nom@orange.fr", at the operator's mail domain."""
    domain = settings.GUICHET.subscribers.operator_mail_domain
    local = gettext("firstname.lastname")
    return f"{local}@{domain}" if domain else ""


class _AddressExample(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].widget.attrs["placeholder"] = address_example()


class SigninForm(_AddressExample):
    login = forms.CharField(
        max_length=254,
        error_messages={"required": _("Please enter your email address."), "max_length": TOO_LONG},
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = _password(_("password"), "current-password")
    remember_email = forms.BooleanField(required=False)
    stay = forms.BooleanField(required=False)


class PersonaliseForm(_AddressExample):
    login = forms.CharField(
        max_length=254,
        error_messages={"required": _("Please choose your email address."), "max_length": TOO_LONG},
        widget=forms.EmailInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = _password(_("new password"), "new-password", _("Please choose a password."))
    confirmation = _password(
        _("confirm the new password"), "new-password", _("Please type the new password again.")
    )


class ForgotForm(_AddressExample):
    login = forms.CharField(
        max_length=254,
        error_messages={"required": _("Please enter your email address."), "max_length": TOO_LONG},
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )


class ResetForm(forms.Form):
    code = forms.CharField(
        max_length=16,
        error_messages={"required": _("Please enter the code you received."), "max_length": TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )
    password = _password(_("new password"), "new-password", _("Please choose a password."))
    confirmation = _password(
        _("confirm the new password"), "new-password", _("Please type the new password again.")
    )

    def clean_code(self) -> str:
        return "".join(str(self.cleaned_data["code"]).split())


class PasswordChangeForm(forms.Form):
    current = _password(_("current password"), "current-password", _("Please enter your current password."))
    password = _password(_("new password"), "new-password", _("Please choose a password."))
    confirmation = _password(
        _("confirm the new password"), "new-password", _("Please type the new password again.")
    )
