"""`guichet subscribers ...` sub-commands, registered by guichet/cli.py (keep imports inside functions)."""

from __future__ import annotations

import argparse


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `guichet subscribers import FILE.csv`."""
    subscribers = sub.add_parser("subscribers", help="operator subscriber files")
    subscribers_sub = subscribers.add_subparsers(dest="subscribers_command", required=True)
    imp = subscribers_sub.add_parser(
        "import",
        help="import a subscriber CSV (all or nothing): contract,login,password,personalized[,name,line_ip]",
    )
    imp.add_argument("file")
    imp.set_defaults(func=cmd_subscribers_import)
