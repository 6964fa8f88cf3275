"""`guichet cards ...`: the issuer's card files and issuer API keys (registered by guichet/cli.py;
imports inside functions)."""

from __future__ import annotations

import argparse
import json
import sys


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


def cmd_key_add(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.issuer.cards.api.keys import issuer_key_add

    try:
        key, clear = issuer_key_add(name=args.name)
    except ValueError as exc:
        print(f"guichet: key not created: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"prefix": key.prefix, "name": key.name, "api_key": clear}))
    else:
        print(
            f"issuer API key {key.prefix} ({key.name}) created\n"
            f"API key: {clear}\nKeep it now: it is not shown again."
        )
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.issuer.cards.api.keys import issuer_key_revoke
    from guichet.issuer.cards.models import IssuerApiKey

    try:
        key = issuer_key_revoke(prefix=args.prefix)
    except IssuerApiKey.DoesNotExist:
        print(f"guichet: no issuer API key {args.prefix}", file=sys.stderr)
        return 1
    print(f"issuer API key {key.prefix} ({key.name}) revoked")
    return 0


def cmd_key_list(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.issuer.cards.models import IssuerApiKey

    for key in IssuerApiKey.objects.all():
        state = "revoked" if key.revoked_at else "active"
        print(f"{key.prefix}\t{key.name}\t{state}\t{key.created_at:%Y-%m-%d}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `guichet cards import FILE.csv` and `guichet cards key add|revoke|list`."""
    cards = sub.add_parser("cards", help="issuer card files")
    cards_sub = cards.add_subparsers(dest="cards_command", required=True)
    imp = cards_sub.add_parser("import", help="import a card CSV (all or nothing)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_cards_import)
    key = cards_sub.add_parser("key", help="issuer API keys (/api/issuer/v1/)")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    add = key_sub.add_parser("add", help="create a key, printed once")
    add.add_argument("--name", required=True, help="what the key is for, e.g. the issuer's system")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_key_add)
    revoke = key_sub.add_parser("revoke", help="revoke a key by its prefix (gi_…)")
    revoke.add_argument("prefix")
    revoke.set_defaults(func=cmd_key_revoke)
    listing = key_sub.add_parser("list", help="the keys: prefix, name, state, creation date")
    listing.set_defaults(func=cmd_key_list)
