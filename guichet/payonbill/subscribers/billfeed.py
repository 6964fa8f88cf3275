"""The operator's billing feed: one `BillLine` per charge and per credit (refund), in one order.

Ordering. Each line gets the next number of a single-row counter (`BillFeedCounter`), incremented in
the transaction that inserts the line. The increment takes the counter's row lock (PostgreSQL; on
SQLite the IMMEDIATE transactions already serialise writers) and holds it until that transaction
commits, so number n+1 is handed out only after the line numbered n is committed (or rolled back,
taking its number with it). A reader that sees line n therefore sees every line before it: paging
with `seq > cursor` returns every line exactly once, without gaps, whatever is being written
meanwhile. We chose this over "return only ids older than the oldest in-flight transaction" because
that needs PostgreSQL's snapshot functions (and nothing of the kind on SQLite), and over sequences
or auto-increment ids, whose numbers commit out of order. The price: line inserts are serialised for
the rest of their transaction. The checkout takes the counter last (after the payment and contract
locks), so there is no lock cycle; a confirmation holds it for its last few statements.

Closing. `bill_period_close` marks a finished month closed under the same lock, so no line lands on a
bill after it is closed: a charge or credit whose bill is closed goes on the bill of the moment it
is written (for a refund, the bill after the closed one, in practice).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.payonbill.subscribers.models import BillCharge, BillFeedCounter, BillLine, BillPeriodClose

PERIOD_FORMAT = "%Y-%m"


class PeriodError(ValueError):
    """A period that is not YYYY-MM, or that cannot be closed yet."""


def period_parse(*, period: str) -> dt.date:
    """The first day of `period` ("YYYY-MM"); raises PeriodError."""
    try:
        first = dt.datetime.strptime(period, PERIOD_FORMAT).date()  # noqa: DTZ007 (a calendar month)
    except ValueError:
        raise PeriodError(f"the period must be a month written YYYY-MM, got {period!r}") from None
    if first.strftime(PERIOD_FORMAT) != period:  # strptime takes "2026-1"
        raise PeriodError(f"the period must be a month written YYYY-MM, got {period!r}")
    return first


def period_end(*, period: str) -> dt.datetime:
    """The first instant after `period`, in the billing time zone."""
    first = period_parse(period=period)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    zone = zoneinfo.ZoneInfo(settings.GUICHET.subscribers.billing_time_zone)
    return dt.datetime.combine(following, dt.time(), tzinfo=zone)


def vat_included(*, amount: int, rate_bp: int | None) -> int | None:
    """The VAT inside an amount given VAT included, rounded half away from zero to the minor unit."""
    if rate_bp is None:
        return None
    size = abs(amount)
    vat = (2 * size * rate_bp + 10_000 + rate_bp) // (2 * (10_000 + rate_bp))
    return vat if amount >= 0 else -vat


def _feed_locked() -> BillFeedCounter:
    """The counter row, locked until the end of the caller's transaction (created on first use)."""
    BillFeedCounter.objects.bulk_create([BillFeedCounter(pk=1)], ignore_conflicts=True)
    return BillFeedCounter.objects.select_for_update().get(pk=1)


def billing_period(at: dt.datetime) -> str:
    """The bill a moment belongs to: its calendar month ("YYYY-MM") in the billing time zone."""
    zone = zoneinfo.ZoneInfo(settings.GUICHET.subscribers.billing_time_zone)
    return at.astimezone(zone).strftime(PERIOD_FORMAT)


def _open_period(period: str) -> str:
    """`period` unless it is closed; then the current one (never closed: only a month that is over
    can be). Call it under the counter's lock."""
    if not BillPeriodClose.objects.filter(period=period).exists():
        return period
    return billing_period(clock.now())


def bill_line_add(*, charge: BillCharge, kind: BillLine.Kind, amount: int, at: dt.datetime) -> BillLine:
    """Write the feed's next line for `charge` (a charge: its amount; a credit: minus the refund)."""
    rate_bp = settings.GUICHET.subscribers.billing_vat_rate_bp
    with transaction.atomic():
        counter = _feed_locked()
        counter.last_seq += 1
        counter.save(update_fields=["last_seq"])
        return BillLine.objects.create(
            seq=counter.last_seq,
            kind=kind,
            contract_id=charge.contract_id,
            charge=charge,
            period=_open_period(charge.period),
            at=at,
            payment_public_id=charge.payment_public_id,
            merchant_id=charge.merchant_id,
            merchant_name=charge.merchant_name,
            product=charge.product,
            amount=amount,
            currency=charge.currency,
            vat_rate_bp=rate_bp,
            vat_amount=vat_included(amount=amount, rate_bp=rate_bp),
        )


def bill_lines_after(*, after: int, limit: int) -> list[BillLine]:
    """The feed's lines numbered above `after`, in order (the operator API's page)."""
    return list(BillLine.objects.filter(seq__gt=after).select_related("contract").order_by("seq")[:limit])


def bill_lines_of_period(*, period: str, merchant_id: int | None = None) -> list[BillLine]:
    """A bill's lines, by contract number then feed order (the export's and the statements' order)."""
    query = BillLine.objects.filter(period=period).select_related("contract")
    if merchant_id is not None:
        query = query.filter(merchant_id=merchant_id)
    return list(query.order_by("contract__number", "seq"))


@dataclass(frozen=True)
class PeriodClosed:
    close: BillPeriodClose
    created: bool  # False: it was closed already


def bill_period_close(*, period: str, actor: str = "cli") -> PeriodClosed:
    """Close a finished month: its lines stop changing; later refunds of its charges go on the
    current bill. Closing again changes nothing. Raises PeriodError for a month not over yet."""
    end = period_end(period=period)
    now = clock.now()
    if now < end:
        raise PeriodError(f"{period} is not over yet: it ends at {end.isoformat()}")
    with transaction.atomic():
        counter = _feed_locked()
        existing = BillPeriodClose.objects.filter(period=period).first()
        if existing is not None:
            return PeriodClosed(close=existing, created=False)
        close = BillPeriodClose.objects.create(period=period, closed_at=now, last_seq=counter.last_seq)
        audit_record(
            event=Event.SUBSCRIBERS_BILL_CLOSED,
            subject=f"period:{period}",
            by=actor,
            last_seq=counter.last_seq,
        )
    return PeriodClosed(close=close, created=True)
