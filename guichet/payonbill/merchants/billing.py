"""Who credits a refund: the `Biller` named by `settings.GUICHET_BILLER`.

A refund must reach whatever the payment was charged to (for internet+, the subscriber's bill).
The merchants app cannot know that system, so it calls a narrow interface chosen by configuration;
the default is the checkout's, which credits the bill line.
"""

from __future__ import annotations

import functools
from typing import Protocol, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from guichet.payonbill.merchants.models import Payment, Refund


class Biller(Protocol):
    def credit(self, *, payment: Payment, refund: Refund) -> None:
        """Credit `refund` of `payment`. Runs inside the refund's transaction: raising cancels the
        refund, so nothing is refunded that was not credited."""


class BillerConfigError(ImproperlyConfigured):
    """GUICHET_BILLER does not name a class with a credit() method."""


@functools.cache
def _loaded(path: str) -> Biller:
    try:
        found = import_string(path)
    except ImportError as exc:
        raise BillerConfigError(f"GUICHET_BILLER={path!r} cannot be imported: {exc}") from None
    biller = found() if isinstance(found, type) else found
    if not callable(getattr(biller, "credit", None)):
        raise BillerConfigError(f"GUICHET_BILLER={path!r} has no credit(*, payment, refund) method")
    return cast(Biller, biller)


def biller() -> Biller:
    """The configured Biller (loaded once per dotted path; tests override the setting)."""
    return _loaded(settings.GUICHET_BILLER)
