"""`guichet merchants ...`: create merchants, add and revoke API keys, rotate the notification secret."""

from __future__ import annotations

import argparse
import json
import sys


def _fail(message: str) -> int:
    print(f"guichet: {message}", file=sys.stderr)
    return 1


def cmd_create(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.merchants.accounts import merchant_create

    try:
        created = merchant_create(
            name=args.name,
            notification_url=args.notification_url,
            return_hosts=args.return_host or [],
            logo_url=args.logo_url or "",
        )
    except ValueError as exc:
        return _fail(f"merchant not created: {exc}")
    merchant = created.merchant
    if args.json:
        print(
            json.dumps(
                {
                    "merchant_id": merchant.pk,
                    "name": merchant.name,
                    "api_key": created.api_key,
                    "notification_secret": created.notification_secret,
                }
            )
        )
    else:
        print(
            f"merchant {merchant.pk} ({merchant.name}) created\n"
            f"API key:             {created.api_key}\n"
            f"notification secret: {created.notification_secret}\n"
            "Keep both now: they are not shown again."
        )
    return 0


def _merchant(ident: str) -> object:
    from guichet.payonbill.merchants.models import Merchant

    if not ident.isdigit():
        return None
    return Merchant.objects.filter(pk=int(ident)).first()


def cmd_list(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.merchants.models import Merchant

    for merchant in Merchant.objects.prefetch_related("api_keys"):
        keys = ", ".join(f"{k.prefix}{'' if k.active else ' (revoked)'}" for k in merchant.api_keys.all())
        print(f"{merchant.pk}\t{merchant.name}\t{merchant.notification_url}\tkeys: {keys or '-'}")
    return 0


def cmd_key_add(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.merchants.accounts import merchant_key_add
    from guichet.payonbill.merchants.models import Merchant

    merchant = _merchant(args.merchant)
    if not isinstance(merchant, Merchant):
        return _fail(f"no merchant with id {args.merchant!r}")
    key, clear = merchant_key_add(merchant=merchant, label=args.label or "")
    if args.json:
        print(json.dumps({"merchant_id": merchant.pk, "prefix": key.prefix, "api_key": clear}))
    else:
        print(f"API key {key.prefix} added to {merchant.name}: {clear}\nKeep it now: it is not shown again.")
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.merchants.accounts import merchant_key_revoke
    from guichet.payonbill.merchants.models import ApiKey

    try:
        key = merchant_key_revoke(prefix=args.prefix)
    except ApiKey.DoesNotExist:
        return _fail(f"no API key with prefix {args.prefix!r}")
    print(f"API key {key.prefix} of {key.merchant.name} revoked")
    return 0


def cmd_secret_rotate(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.payonbill.merchants.accounts import merchant_secret_rotate
    from guichet.payonbill.merchants.models import Merchant

    merchant = _merchant(args.merchant)
    if not isinstance(merchant, Merchant):
        return _fail(f"no merchant with id {args.merchant!r}")
    secret = merchant_secret_rotate(merchant=merchant)
    if args.json:
        print(json.dumps({"merchant_id": merchant.pk, "notification_secret": secret}))
    else:
        print(f"new notification secret of {merchant.name}: {secret}\nKeep it now: it is not shown again.")
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add this area's sub-commands to the `guichet` parser; returns `guichet merchants`' commands,
    to which guichet/cli.py adds the checkout's `statement` (it reads the bill, which this area
    does not know)."""
    merchants = sub.add_parser("merchants", help="merchants of the pay-on-bill API")
    commands = merchants.add_subparsers(dest="merchants_command", required=True)

    create = commands.add_parser("create", help="create a merchant; prints its API key and secret once")
    create.add_argument("--name", required=True)
    create.add_argument("--notification-url", required=True, help="where events are posted")
    create.add_argument(
        "--return-host", action="append", help="host the customer may return to (repeat for several)"
    )
    create.add_argument("--logo-url", help="logo shown on the checkout page")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.set_defaults(func=cmd_create)

    listing = commands.add_parser("list", help="merchants and their key prefixes")
    listing.set_defaults(func=cmd_list)

    keys = commands.add_parser("keys", help="API keys: add one, revoke one (to rotate keys)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    add = keys_sub.add_parser("add", help="add an API key; prints it once")
    add.add_argument("merchant", help="merchant id")
    add.add_argument("--label")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_key_add)
    revoke = keys_sub.add_parser("revoke", help="revoke an API key by its prefix (gk_xxxxxxxx)")
    revoke.add_argument("prefix")
    revoke.set_defaults(func=cmd_key_revoke)

    secret = commands.add_parser("secret", help="notification secret")
    secret_sub = secret.add_subparsers(dest="secret_command", required=True)
    rotate = secret_sub.add_parser("rotate", help="replace the notification secret; prints it once")
    rotate.add_argument("merchant", help="merchant id")
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(func=cmd_secret_rotate)
    return commands
