"""`{{ value|one_line:128 }}`: text written by others (a merchant, an AReq), fit to show on a page."""

from __future__ import annotations

from django import template

from guichet.core.text import one_line as _one_line

register = template.Library()


@register.filter
def one_line(value: object, max_length: int) -> str:
    return _one_line(str(value) if value is not None else "", max_length=int(max_length))
