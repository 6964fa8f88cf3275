from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import pgettext_lazy

from guichet.issuer.cards.services import luhn_ok

COLOR_DEPTHS = {"1", "4", "8", "15", "16", "24", "32", "48"}


class CardForm(forms.Form):
    pan = forms.CharField(
        label=pgettext_lazy("demoshop", "Card number"),
        max_length=23,
        error_messages={
            "required": pgettext_lazy("demoshop", "Please enter the card number."),
            "max_length": pgettext_lazy("demoshop", "Too long."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "autofocus": True}
        ),
    )
    expiry = forms.CharField(
        label=pgettext_lazy("demoshop", "Expiry date (MM/YY)"),
        max_length=7,
        error_messages={
            "required": pgettext_lazy("demoshop", "Please enter the expiry date."),
            "max_length": pgettext_lazy("demoshop", "Too long."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/AA"}),
    )
    name = forms.CharField(
        label=pgettext_lazy("demoshop", "Name on the card"),
        required=False,
        min_length=2,
        max_length=45,
        error_messages={
            "min_length": pgettext_lazy("demoshop", "Too short."),
            "max_length": pgettext_lazy("demoshop", "Too long."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    # Filled by the page's script (3DS browser elements); absent when JavaScript is off.
    js = forms.CharField(required=False, widget=forms.HiddenInput)
    color_depth = forms.CharField(required=False, widget=forms.HiddenInput)
    screen_height = forms.CharField(required=False, widget=forms.HiddenInput)
    screen_width = forms.CharField(required=False, widget=forms.HiddenInput)
    tz = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_pan(self) -> str:
        pan = re.sub(r"[\s-]", "", self.cleaned_data["pan"])
        if not re.fullmatch(r"[0-9]{13,19}", pan) or not luhn_ok(pan):
            raise forms.ValidationError(pgettext_lazy("demoshop", "This card number is not valid."))
        return pan

    def clean_expiry(self) -> str:
        """MM/YY as typed, YYMM as the AReq wants it."""
        match = re.fullmatch(r"\s*(0[1-9]|1[0-2])\s*/?\s*([0-9]{2})\s*", self.cleaned_data["expiry"])
        if match is None:
            raise forms.ValidationError(pgettext_lazy("demoshop", "Please write the expiry date as MM/YY."))
        return match.group(2) + match.group(1)

    def browser_fields(self) -> dict[str, Any]:
        """The script's measures when all of them are well-formed, else "JavaScript disabled"."""
        data = self.cleaned_data
        fields = {
            "color_depth": data.get("color_depth", ""),
            "screen_height": data.get("screen_height", ""),
            "screen_width": data.get("screen_width", ""),
            "tz": data.get("tz", ""),
        }
        ok = (
            data.get("js") == "1"
            and fields["color_depth"] in COLOR_DEPTHS
            and re.fullmatch(r"[0-9]{1,6}", fields["screen_height"]) is not None
            and re.fullmatch(r"[0-9]{1,6}", fields["screen_width"]) is not None
            and re.fullmatch(r"[+-]?[0-9]{1,4}", fields["tz"]) is not None
        )
        return {"javascript": ok, **(fields if ok else {})}
