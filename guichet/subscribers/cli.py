"""`guichet subscribers ...` sub-commands, registered by guichet/cli.py (keep imports inside functions)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_subscribers_import(args: argparse.Namespace) -> int:
    from guichet.cli import _setup

    _setup()
    from guichet.subscribers.services import subscribers_import

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"guichet: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    report = subscribers_import(data=data, source=path.name)
    if not report.ok:
        for line, reason in report.errors:
            print(f"{path.name}:{line}: {reason}", file=sys.stderr)
        print(f"guichet: {len(report.errors)} error(s); nothing was imported", file=sys.stderr)
        return 1
    print(
        f"contracts: {report.contracts_created} created, {report.contracts_updated} updated; "
        f"mailboxes: {report.mailboxes_created} created, {report.mailboxes_updated} updated, "
        f"{report.mailboxes_unchanged} unchanged; passwords hashed: {report.passwords_hashed}"
    )
    return 0


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
