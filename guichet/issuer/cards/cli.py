"""`guichet cards ...`: the issuer's card files (registered by guichet/cli.py; imports inside functions)."""

from __future__ import annotations

import argparse


def cmd_cards_import(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup, import_file

    django_setup()
    from guichet.issuer.cards.cardfile import ImportReport, cards_import

    def summary(report: ImportReport) -> str:
        return (
            f"cardholders: {report.cardholders_created} created, {report.cardholders_updated} updated; "
            f"cards: {report.cards_created} created, {report.cards_updated} updated, "
            f"{report.cards_unchanged} unchanged"
        )

    return import_file(args.file, lambda data, source: cards_import(data=data, source=source), summary)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `guichet cards import FILE.csv`."""
    cards = sub.add_parser("cards", help="issuer card files")
    cards_sub = cards.add_subparsers(dest="cards_command", required=True)
    imp = cards_sub.add_parser("import", help="import a card CSV (all or nothing)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_cards_import)
