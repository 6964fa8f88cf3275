"""`guichet subscribers ...` and `guichet billing ...` sub-commands, registered by guichet/cli.py (keep
imports inside functions)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_subscribers_import(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup, import_file

    django_setup()
    from guichet.payonbill.subscribers.importing import SubscribersImportReport, subscribers_import

    def summary(report: SubscribersImportReport) -> str:
        return (
            f"contracts: {report.contracts_created} created, {report.contracts_updated} updated; "
            f"mailboxes: {report.mailboxes_created} created, {report.mailboxes_updated} updated, "
            f"{report.mailboxes_unchanged} unchanged; passwords hashed: {report.passwords_hashed}"
        )

    return import_file(args.file, lambda data, source: subscribers_import(data=data, source=source), summary)


def _fail(message: str) -> int:
    print(f"guichet: {message}", file=sys.stderr)
    return 1


def cmd_billing_export(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.subscribers.billexport import bill_export
    from guichet.payonbill.subscribers.billfeed import PeriodError

    try:
        data = bill_export(period=args.period, export_format=args.format)
    except PeriodError as exc:
        return _fail(str(exc))
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_billing_close(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.subscribers.billfeed import PeriodError, bill_period_close

    try:
        closed = bill_period_close(period=args.period)
    except PeriodError as exc:
        return _fail(str(exc))
    state = "closed" if closed.created else "was already closed"
    print(f"{args.period} {state} (last line {closed.close.last_seq})")
    return 0


def cmd_billing_key_add(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.subscribers.operator_keys import operator_key_add

    try:
        key, clear = operator_key_add(name=args.name)
    except ValueError as exc:
        return _fail(f"key not created: {exc}")
    if args.json:
        print(json.dumps({"name": key.name, "prefix": key.prefix, "api_key": clear}))
    else:
        print(f"operator API key {key.prefix} ({key.name}): {clear}\nKeep it now: it is not shown again.")
    return 0


def cmd_billing_key_revoke(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.subscribers.models import OperatorApiKey
    from guichet.payonbill.subscribers.operator_keys import operator_key_revoke

    try:
        key = operator_key_revoke(prefix=args.prefix)
    except OperatorApiKey.DoesNotExist:
        return _fail(f"no operator API key with prefix {args.prefix!r}")
    print(f"operator API key {key.prefix} ({key.name}) revoked")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `guichet subscribers import FILE.csv` and `guichet billing export|close|key`."""
    subscribers = sub.add_parser("subscribers", help="operator subscriber files")
    subscribers_sub = subscribers.add_subparsers(dest="subscribers_command", required=True)
    imp = subscribers_sub.add_parser(
        "import",
        help="import a subscriber CSV (all or nothing): contract,login,password,personalized[,name,line_ip]",
    )
    imp.add_argument("file")
    imp.set_defaults(func=cmd_subscribers_import)

    billing = sub.add_parser("billing", help="the operator's billing feed: export, close, API keys")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True)
    export = billing_sub.add_parser("export", help="every bill line of a month, per contract, with totals")
    export.add_argument("--period", required=True, help="the month, YYYY-MM")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", help="write to this file (default: standard output)")
    export.set_defaults(func=cmd_billing_export)
    close = billing_sub.add_parser("close", help="close a finished month: its bill lines stop changing")
    close.add_argument("--period", required=True, help="the month, YYYY-MM")
    close.set_defaults(func=cmd_billing_close)
    key = billing_sub.add_parser("key", help="API keys of the operator's billing system")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    add = key_sub.add_parser("add", help="add a key; prints it once")
    add.add_argument("--name", required=True, help="what uses it, e.g. the billing system's name")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_billing_key_add)
    revoke = key_sub.add_parser("revoke", help="revoke a key by its prefix (ok_xxxxxxxx)")
    revoke.add_argument("prefix")
    revoke.set_defaults(func=cmd_billing_key_revoke)
