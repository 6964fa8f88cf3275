"""What a JSON API refuses, as exceptions its views turn into `{"error": {"code", "message", "field"}}`.

Each API's own refusals subclass ApiError (the merchant API's MerchantError, the issuer's
LifecycleError); what this package raises itself (a bad body, a reused Idempotency-Key) is a plain
ApiError, which every API view answers the same way."""

from __future__ import annotations


class ApiError(Exception):
    """A request refused; `code` is the machine-readable error, `field` names the input at fault."""

    def __init__(self, code: str, message: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class TooManyFailedAuthentications(ApiError):
    """Too many wrong or revoked API keys from one client address in the current window."""

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(
            "too_many_failed_authentications",
            "too many requests with a wrong or revoked API key from this address; retry later.",
            status=429,
        )
        self.retry_after_s = retry_after_s
