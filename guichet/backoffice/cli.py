"""`guichet staff ...`: back-office staff and their TOTP authenticators (registered by guichet/cli.py;
imports inside functions)."""

from __future__ import annotations

import argparse
import json
import sys


def _password(args: argparse.Namespace) -> str:
    # Read from standard input so that it stays out of the process list and the shell's history.
    return sys.stdin.readline().rstrip("\n") if args.password_stdin else ""


def cmd_create(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.backoffice.services import staff_create

    try:
        created = staff_create(
            username=args.username, email=args.email or "", password=_password(args), area=args.area or ""
        )
    except ValueError as exc:
        print(f"guichet: staff user not created: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "username": created.username,
                    "password": created.password if not args.password_stdin else None,
                    "otpauth_uri": created.otpauth_uri,
                }
            )
        )
        return 0
    scope = f"the {args.area} staff group" if args.area else "every permission"
    print(f"staff user {created.username} created ({scope})")
    if not args.password_stdin:
        print(f"password:      {created.password}")
    print(f"authenticator: {created.otpauth_uri}")
    print("Add the authenticator to a TOTP app (or a QR code of it) now: neither is shown again.")
    return 0


def cmd_otp(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from django.contrib.auth import get_user_model

    from guichet.backoffice.services import staff_totp_issue

    user = get_user_model().objects.filter(username=args.username, is_staff=True).first()
    if user is None:
        print(f"guichet: no staff user named {args.username!r}", file=sys.stderr)
        return 1
    uri = staff_totp_issue(user=user)
    print(
        json.dumps({"username": user.get_username(), "otpauth_uri": uri})
        if args.json
        else f"authenticator: {uri}"
    )
    return 0


def cmd_groups(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.backoffice.groups import staff_groups_sync

    for group in staff_groups_sync():
        print(f"{group.name}: {group.permissions.count()} permissions")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `guichet staff create` and `guichet staff otp`."""
    staff = sub.add_parser("staff", help="back-office staff users and their TOTP authenticators")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    create = staff_sub.add_parser(
        "create",
        help="create a staff user (all permissions, or one --area); prints its password and otpauth URI once",
    )
    create.add_argument("--username", required=True)
    create.add_argument("--email", default="")
    create.add_argument(
        "--area",
        choices=("issuer", "operator"),
        help="only this product's back-office (its staff group) instead of every permission",
    )
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_create)
    groups = staff_sub.add_parser(
        "groups", help="create or update the issuer staff and operator staff groups' permissions"
    )
    groups.set_defaults(func=cmd_groups)
    otp = staff_sub.add_parser(
        "otp", help="give a staff user a new authenticator (the old one stops working)"
    )
    otp.add_argument("--username", required=True)
    otp.add_argument("--json", action="store_true")
    otp.set_defaults(func=cmd_otp)
