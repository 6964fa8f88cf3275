"""Listing a merchant's payments (GET /api/v1/payments): filters by status, creation time and
reference, newest first, in pages joined by a cursor.

The cursor is the id of the last payment of the previous page (`after=pay_...`): the next page holds
the payments created before it, so a page never repeats or skips a payment, whatever is created
meanwhile (a newer payment is on no page of a walk already started: start again to see it). Every
parameter is checked before anything is read or changed (a payment past its time is expired as it
is listed), so a bad one is a 400 that changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Q

from guichet.core import clock
from guichet.payonbill.merchants import models as m
from guichet.payonbill.merchants.errors import MerchantError
from guichet.payonbill.merchants.models import Merchant, Payment
from guichet.payonbill.merchants.payments import expire_if_due

STATUSES = (m.PENDING, m.SUCCEEDED, m.CANCELLED, m.REFUSED, m.EXPIRED)
MAX_LIMIT = 100
PARAMETERS = ("status", "reference", "created_since", "created_before", "after", "limit")


@dataclass(frozen=True)
class PaymentQuery:
    status: str | None = None
    reference: str | None = None
    created_since: dt.datetime | None = None  # inclusive
    created_before: dt.datetime | None = None  # exclusive
    after: str | None = None  # the public id of the previous page's last payment
    limit: int = 50


@dataclass(frozen=True)
class PaymentPage:
    payments: list[Payment]
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        return self.payments[-1].public_id if self.has_more else None


def _invalid(field: str, message: str) -> MerchantError:
    return MerchantError("invalid_parameter", message, field=field, status=400)


def _moment(field: str, raw: str) -> dt.datetime:
    """An ISO 8601 date-time with its offset (`2026-11-01T00:00:00+01:00`, `...Z`) or a date (UTC)."""
    text = raw.strip()
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})", text):
            raise ValueError(text)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(
            field,
            f"{field} must be a date (2026-11-01) or a date-time with its offset (2026-11-01T00:00:00Z).",
        ) from None


def payment_query_parse(*, query: Mapping[str, str]) -> PaymentQuery:
    """The listing's query parameters, checked; raises MerchantError("invalid_parameter", field=...)."""
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise _invalid("status", f"status must be one of: {', '.join(STATUSES)}.")
    reference = query.get("reference")
    if reference is not None and not 1 <= len(reference) <= 64:
        raise _invalid("reference", "reference must have 1 to 64 characters.")
    since = _moment("created_since", query["created_since"]) if "created_since" in query else None
    before = _moment("created_before", query["created_before"]) if "created_before" in query else None
    if since is not None and before is not None and before <= since:
        raise _invalid("created_before", "created_before must be later than created_since.")
    after = query.get("after")
    if after is not None and not re.fullmatch(r"pay_[A-Za-z0-9]{1,36}", after):
        raise _invalid("after", "after must be the next_cursor of a previous page (a payment id).")
    raw_limit = query.get("limit", "50")
    # ASCII digits only: str.isdigit() also takes "³", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,3}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise _invalid("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return PaymentQuery(
        status=status,
        reference=reference,
        created_since=since,
        created_before=before,
        after=after,
        limit=int(raw_limit),
    )


def payment_list(*, merchant: Merchant, query: PaymentQuery) -> PaymentPage:
    """This merchant's payments matching `query`, newest first, one page."""
    payments = Payment.objects.filter(merchant=merchant)
    if query.after is not None:
        last = payments.filter(public_id=query.after).values_list("id", flat=True).first()
        if last is None:  # another merchant's or no payment: nothing said about which
            raise _invalid("after", "after must be the next_cursor of a previous page (a payment id).")
        payments = payments.filter(id__lt=last)
    if query.status is not None:
        # A pending payment past its time is expired as it is listed: filter as if already done.
        due = Q(status=m.PENDING, expires_at__lte=clock.now())
        if query.status == m.PENDING:
            payments = payments.filter(status=m.PENDING).exclude(due)
        elif query.status == m.EXPIRED:
            payments = payments.filter(Q(status=m.EXPIRED) | due)
        else:
            payments = payments.filter(status=query.status)
    if query.reference is not None:
        payments = payments.filter(reference=query.reference)
    if query.created_since is not None:
        payments = payments.filter(created_at__gte=query.created_since)
    if query.created_before is not None:
        payments = payments.filter(created_at__lt=query.created_before)
    found = list(payments.order_by("-id")[: query.limit + 1])
    page = [expire_if_due(p) for p in found[: query.limit]]
    return PaymentPage(payments=page, has_more=len(found) > query.limit)
