"""The progressive roll-out of the individual sign-in, and the legacy line path (who pays unsigned)."""

from __future__ import annotations

import ipaddress

from django.conf import settings

from guichet.core import clock, crypto
from guichet.payonbill.subscribers.models import Contract


def contract_individual_signin(*, contract: Contract) -> bool:
    """Whether the contract has the new individual sign-in (True) or the legacy line path (False).

    Contracts listed in GUICHET_SIGNIN_ROLLOUT_CONTRACTS always have it (pilots). The others have it
    from GUICHET_SIGNIN_ROLLOUT_START (none: already started) when their bucket, a keyed hash of
    the contract number taken modulo 100, is below GUICHET_SIGNIN_ROLLOUT_PERCENT: a stable choice
    that grows with the percentage and that nobody outside can predict.
    """
    config = settings.GUICHET.subscribers
    if contract.number in config.rollout_contracts:
        return True
    if config.rollout_start is not None and clock.now() < config.rollout_start:
        return False
    return rollout_bucket(contract.number) < config.rollout_percent


def rollout_bucket(number: str) -> int:
    """The contract's place, 0 to 99, in the roll-out order."""
    return int(crypto.keyed_hash("signin-rollout", number)[:12], 16) % 100


def line_contract(*, ip: str) -> Contract | None:
    """The contract whose internet line has this public address (`guichet.core.http.client_ip`).

    How the checkout decides who pays, for a customer who is not signed in:
    * a contract is recognised and `contract_individual_signin(contract=)` is False: the legacy
      path, the confirmation on the checkout page is enough and the contract pays (no mailbox);
    * otherwise (a rolled-out contract, or no line recognised, e.g. on a mobile network): send the
      customer to `subscribers_signin_url(next)`; the individual sign-in works from anywhere.
    """
    if not ip:
        return None
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return None
    # A dual-stack server sees an IPv4 client as ::ffff:a.b.c.d.
    mapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else None
    return Contract.objects.filter(line_ip=str(mapped or parsed)).first()


def contract_address(*, contract: Contract) -> str:
    """Where mail about the contract goes on the legacy path: its first personalised mailbox."""
    for mailbox in contract.mailboxes.order_by("pk"):
        if mailbox.address:
            return mailbox.address
    return ""
