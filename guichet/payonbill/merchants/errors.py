"""What the merchant API refuses, as exceptions the views turn into JSON errors."""

from __future__ import annotations

from guichet.webapi.errors import ApiError


class MerchantError(ApiError):
    """A request the domain refuses; `code` is the machine-readable error of the API."""


class PaymentNotFound(MerchantError):
    def __init__(self) -> None:
        super().__init__("payment_not_found", "No such payment.", status=404)


class PaymentRefused(Exception):
    """Raised by a `charge` callback: the payment is refused for `reason` (a short code) and nothing
    the callback wrote is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
