"""What the merchant API refuses, as exceptions the views turn into JSON errors."""

from __future__ import annotations


class MerchantError(Exception):
    """A request the domain refuses; `code` is the machine-readable error of the API."""

    def __init__(self, code: str, message: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class TooManyFailedAuthentications(MerchantError):
    """Too many wrong or revoked API keys from one client address in the current window."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "too_many_failed_authentications",
            "too many requests with a wrong or revoked API key from this address; retry later.",
            status=429,
        )
        self.retry_after_s = retry_after_s


class PaymentNotFound(MerchantError):
    def __init__(self) -> None:
        super().__init__("payment_not_found", "No such payment.", status=404)


class PaymentRefused(Exception):
    """Raised by a `charge` callback: the payment is refused for `reason` (a short code) and nothing
    the callback wrote is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
