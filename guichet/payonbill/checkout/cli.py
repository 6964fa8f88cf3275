"""`guichet merchants statement`: the checkout's command, added to `guichet merchants` by guichet/cli.py
(imports inside the command)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_statement(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.checkout.statements import merchant_statement_csv
    from guichet.payonbill.merchants.models import Merchant
    from guichet.payonbill.subscribers.billfeed import PeriodError

    merchant = Merchant.objects.filter(pk=int(args.merchant)).first() if args.merchant.isdigit() else None
    if merchant is None:
        print(f"guichet: no merchant with id {args.merchant!r}", file=sys.stderr)
        return 1
    try:
        data = merchant_statement_csv(merchant=merchant, period=args.period)
    except PeriodError as exc:
        print(f"guichet: {exc}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def register_statement(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `statement` to `guichet merchants`."""
    statement = commands.add_parser(
        "statement", help="a merchant's settlement statement of a month (CSV): payments, refunds, totals"
    )
    statement.add_argument("--merchant", required=True, help="merchant id")
    statement.add_argument("--period", required=True, help="the month, YYYY-MM")
    statement.add_argument("--output", help="write to this file (default: standard output)")
    statement.set_defaults(func=cmd_statement)
