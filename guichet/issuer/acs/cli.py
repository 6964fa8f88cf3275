"""`guichet 3ds ...`: the issuer's side of the ACS (registered by guichet/cli.py)."""

from __future__ import annotations

import argparse
import json
import re
import sys

VALID, INVALID, USAGE = 0, 1, 2


def cmd_verify(args: argparse.Namespace) -> int:
    """Check an authenticationValue; the PAN comes on standard input, out of the process list."""
    pan = sys.stdin.readline().strip()
    if not re.fullmatch(r"[0-9]{13,19}", pan):
        print("guichet: give the PAN (13 to 19 digits) on standard input", file=sys.stderr)
        return USAGE
    if not re.fullmatch(r"[0-9A-Z]{2}", args.eci):
        print("guichet: --eci must be 2 characters, e.g. 05", file=sys.stderr)
        return USAGE
    if not re.fullmatch(r"[0-9]{0,48}", args.amount) or not re.fullmatch(r"([0-9]{3})?", args.currency):
        print(
            "guichet: --amount is in minor units (digits), --currency ISO 4217 numeric (e.g. 978)",
            file=sys.stderr,
        )
        return USAGE

    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.issuer.acs.services import acs_av_verify

    decoded = acs_av_verify(
        pan=pan,
        value=args.value,
        eci=args.eci,
        amount=args.amount,
        currency=args.currency,
        scheme=args.scheme,
        ip="cli",
    )
    if args.json:
        answer: dict[str, object] = {"valid": decoded is not None}
        if decoded is not None:
            answer |= {
                "scheme": decoded.scheme,
                "transStatus": decoded.trans_status,
                "method": decoded.method,
                "keyIndicator": decoded.key_indicator,
            }
        print(json.dumps(answer))
    elif decoded is None:
        print("invalid: this value was not issued for these PAN, ECI, amount and currency")
    else:
        print(
            f"valid: {decoded.scheme}, transStatus {decoded.trans_status}, method {decoded.method}, "
            f"key indicator {decoded.key_indicator:02d}"
        )
    return VALID if decoded is not None else INVALID


def cmd_ranges(args: argparse.Namespace) -> int:
    from guichet.config.bootstrap import django_setup

    django_setup()
    from guichet.issuer.acs.services import acs_card_ranges

    print(json.dumps(acs_card_ranges(), indent=2))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's sub-commands to the `guichet` parser."""
    tds = sub.add_parser("3ds", help="3-D Secure ACS: verify an authentication value, card ranges")
    tds_sub = tds.add_subparsers(dest="tds_command", required=True)

    verify = tds_sub.add_parser(
        "verify",
        help="check an authenticationValue (PAN on standard input); exit 0 valid, 1 invalid, 2 bad usage",
    )
    verify.add_argument("--value", required=True, help="the 28-character authenticationValue")
    verify.add_argument("--eci", required=True, help="the ECI sent with it, e.g. 05")
    verify.add_argument("--amount", default="", help="purchaseAmount in minor units (none for non-payment)")
    verify.add_argument("--currency", default="", help="purchaseCurrency, ISO 4217 numeric, e.g. 978")
    verify.add_argument("--scheme", choices=("visa", "mastercard"), default="", help="default: from the PAN")
    verify.add_argument("--json", action="store_true", help="one JSON object on standard output")
    verify.set_defaults(func=cmd_verify)

    ranges = tds_sub.add_parser("ranges", help="the card ranges this ACS answers for, as JSON")
    ranges.set_defaults(func=cmd_ranges)
