"""How the ACS decides the transStatus of an AReq: a chain of small rules.

A rule looks at the AReq and the card's context and returns a `Decision`, or None to pass to the next
rule. The chain is: the fixed gates (channel, card found, card blocked, ePin blocked, no ePin), then the
issuer's rules from GUICHET_ACS_RULES in the order given, then the default: challenge every payment.

A 3RI AReq (deviceChannel 03: the requestor, without the cardholder) is never challenged. Its chain
is: the channel, card and ePin-block gates, then `prior_authentication` (Y when the AReq points at an
earlier authentication of the same card that this ACS answered Y), then the issuer's rules (a C they
answer is passed over), then the 3RI default: U / 26 (2.1.0, which has no 26: U / 21).
An app AReq (01) is answered U / 03 until the app challenge exists.

GUICHET_ACS_RULES names built-in rules with their arguments, or an issuer's own class by dotted path
(instantiated with the arguments as strings), e.g.
``low_value(3000, 978), challenge_indicator, mybank.acs_rules.BlockNightPayments(23, 6)``.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Sequence

from guichet.issuer.acs.cardholder_info import (
    enrollment_info,
    language_of,
    sms_hold_info,
)
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.acs.rule_types import (  # re-exported: an issuer's rules import them from here
    APP as APP,
)
from guichet.issuer.acs.rule_types import (
    BROWSER as BROWSER,
)
from guichet.issuer.acs.rule_types import (
    FINAL_STATUSES as FINAL_STATUSES,
)
from guichet.issuer.acs.rule_types import (
    REASON_REQUIRED as REASON_REQUIRED,
)
from guichet.issuer.acs.rule_types import (
    REASONS as REASONS,
)
from guichet.issuer.acs.rule_types import (
    THREE_RI as THREE_RI,
)
from guichet.issuer.acs.rule_types import (
    Decision as Decision,
)
from guichet.issuer.acs.rule_types import (
    Rule as Rule,
)
from guichet.issuer.acs.rule_types import (
    RuleContext as RuleContext,
)
from guichet.issuer.acs.rule_types import (
    valid_decision,
)
from guichet.issuer.cards.models import Card

# transStatus an ARes may carry per version (docs/emv-3ds.md §2.2); C and D start a challenge, D not offered.
# --- the fixed gates ----------------------------------------------------------------------------


class ChannelSupported:
    """Browser (02) and 3RI (03) AReqs go on; app AReqs (01) get U / 03 until the app challenge exists,
    DS channels (80-99) U / 03, DS categories (80-99) U / 07 (docs/emv-3ds.md §1.5, §2.3)."""

    name = "channel"

    def decide(self, context: RuleContext) -> Decision | None:
        channel, category = context.areq.deviceChannel, context.areq.messageCategory
        if channel not in (BROWSER, THREE_RI):
            return Decision("U", "03")  # unsupported device
        if category not in ("01", "02"):
            return Decision("U", "07")  # DS-specific category (80-99): invalid transaction here
        return None


class CardFound:
    """The PAN must be one of the issuer's imported cards, inside the configured card ranges."""

    name = "card_not_found"

    def decide(self, context: RuleContext) -> Decision | None:
        return Decision("U", "08") if context.card is None else None  # no card record


# transStatusReason of a blocked card, by the reason the issuer gave (docs/emv-3ds.md §2.3): 10 stolen
# card, 11 suspected fraud, else 12 transaction not permitted to cardholder (lost, other, none).
BLOCK_REASONS: dict[str, str] = {Card.BlockReason.STOLEN: "10", Card.BlockReason.FRAUD: "11"}


class CardActive:
    """A card the issuer blocked (the issuer API, the back-office) is refused at once: N."""

    name = "card_blocked"

    def decide(self, context: RuleContext) -> Decision | None:
        if context.card is not None and context.card.status != Card.Status.ACTIVE:
            return Decision("N", BLOCK_REASONS.get(context.card.block_reason, "12"))
        return None


def sms_hold_applied(context: RuleContext, decision: Decision) -> Decision | None:
    """A challenge (SMS code) for a cardholder whose new phone is on hold: N / 12 instead, with
    cardholderInfo, so that no SMS goes to a phone that may have been swapped."""
    holder = context.cardholder
    if decision.trans_status != "C" or holder is None or not holder.sms_held(context.now):
        return None
    assert holder.sms_hold_until is not None
    info = sms_hold_info(until=holder.sms_hold_until, language=language_of(context.areq.language))
    return Decision("N", "12", cardholder_info=info)  # transaction not permitted to cardholder


class EpinNotBlocked:
    """Five consecutive failed ePins block the cardholder (the core's throttle): no challenge meanwhile."""

    name = "epin_blocked"

    def decide(self, context: RuleContext) -> Decision | None:
        if context.epin_blocked_until is not None:
            return Decision("N", "19")  # exceeds ACS maximum challenges
        return None


class EpinEnrolled:
    """A cardholder without an ePin: refused with the portal's address, or challenged by SMS alone."""

    name = "no_epin"

    def decide(self, context: RuleContext) -> Decision | None:
        holder = context.cardholder
        if holder is None or holder.has_epin or context.no_epin_policy == "sms_only":
            return None
        info = enrollment_info(public_url=context.public_url, language=language_of(context.areq.language))
        return Decision("N", "13", cardholder_info=info)  # cardholder not enrolled in service


UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class PriorAuthentication:
    """3RI: Y when threeDSRequestorPriorAuthenticationInfo.threeDSReqPriorRef is the acsTransID of an
    earlier authentication of the same card that this ACS answered Y (frictionless or challenged)."""

    name = "prior_authentication"

    def decide(self, context: RuleContext) -> Decision | None:
        prior = context.areq.threeDSRequestorPriorAuthenticationInfo
        reference = prior.threeDSReqPriorRef if prior is not None else None
        if context.card is None or reference is None or not UUID.fullmatch(reference):
            return None
        earlier = AcsTransaction.objects.filter(
            acs_trans_id=reference.lower(), card_id=context.card.pk, trans_status="Y"
        )
        return Decision("Y") if earlier.exists() else None


GATES: tuple[Rule, ...] = (ChannelSupported(), CardFound(), CardActive(), EpinNotBlocked(), EpinEnrolled())
THREE_RI_GATES: tuple[Rule, ...] = (
    ChannelSupported(), CardFound(), CardActive(), EpinNotBlocked(), PriorAuthentication(),
)  # fmt: skip


# --- the default --------------------------------------------------------------------------------


class ChallengeEveryTransaction:
    """The default policy: every payment (and non-payment) is challenged with the ePin and the SMS code.

    The one exception is the protocol's: a requestor asking for data only (challenge indicator 06,
    2.2.0) must not get C, so it gets I (informational).
    """

    name = "challenge"

    def decide(self, context: RuleContext) -> Decision | None:
        if context.areq.messageVersion != "2.1.0" and "06" in context.areq.challenge_indicators:
            return Decision("I")
        return Decision("C", challenge_mandated=context.areq.messageCategory == "01")


class ThreeRiDefault:
    """A 3RI nothing else decided: the cardholder is not there to authenticate. U / 26 ("authentication
    attempted but not performed by the cardholder"), or U / 21 in 2.1.0, which has no 26."""

    name = "3ri_default"

    def decide(self, context: RuleContext) -> Decision | None:
        return Decision("U", "21" if context.areq.messageVersion == "2.1.0" else "26")


DEFAULT_RULE: Rule = ChallengeEveryTransaction()
THREE_RI_DEFAULT: Rule = ThreeRiDefault()


# --- built-in issuer rules (GUICHET_ACS_RULES) ---------------------------------------------------


def _amount_arg(rule: str, value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{rule}: {value!r} is not an amount in minor units")
    return int(value)


def _currency_arg(rule: str, value: str) -> str:
    if not (len(value) == 3 and value.isdigit()):
        raise ValueError(f"{rule}: {value!r} is not an ISO 4217 numeric currency code (e.g. 978)")
    return value


class FrictionlessBelow:
    """`frictionless_below(AMOUNT, CURRENCY)`: payments under AMOUNT (minor units) authenticated without
    challenge (Y)."""

    name = "frictionless_below"

    def __init__(self, amount: str, currency: str) -> None:
        self.limit = _amount_arg(self.name, amount)
        self.currency = _currency_arg(self.name, currency)

    def decide(self, context: RuleContext) -> Decision | None:
        amount = context.amount
        if context.areq.messageCategory != "01" or context.areq.purchaseCurrency != self.currency:
            return None
        if amount is not None and amount < self.limit:
            return Decision("Y")
        return None


class LowValueExemption:
    """`low_value(AMOUNT=3000, CURRENCY=978, COUNT=5, TOTAL=10000)`: PSD2 RTS art. 16 low-value exemption.

    A payment of at most AMOUNT is authenticated without challenge (Y) while, since the card's last
    challenge, fewer than COUNT payments were exempted and their total with this one stays within TOTAL.
    """

    name = "low_value"

    def __init__(
        self, amount: str = "3000", currency: str = "978", count: str = "5", total: str = "10000"
    ) -> None:
        self.limit = _amount_arg(self.name, amount)
        self.currency = _currency_arg(self.name, currency)
        self.count = _amount_arg(self.name, count)
        self.total = _amount_arg(self.name, total)

    def decide(self, context: RuleContext) -> Decision | None:
        amount = context.amount
        areq = context.areq
        if areq.messageCategory != "01" or areq.purchaseCurrency != self.currency or context.card is None:
            return None
        if amount is None or amount > self.limit:
            return None
        card_rows = AcsTransaction.objects.filter(card=context.card)
        last_challenge = (
            card_rows.filter(trans_status="Y")
            .exclude(authentication_method="")
            .order_by("-created_at")
            .first()
        )
        exempted = card_rows.filter(decided_by=self.name, trans_status="Y", purchase_currency=self.currency)
        if last_challenge is not None:
            exempted = exempted.filter(created_at__gt=last_challenge.created_at)
        amounts = [int(a) for a in exempted.values_list("purchase_amount", flat=True)]
        if len(amounts) >= self.count or sum(amounts) + amount > self.total:
            return None
        return Decision("Y")


class RecognisedDevice:
    """`recognised_device(CEILING, CURRENCY)`: a payment under CEILING (minor units) from a device the
    3DS Method recognises, one on which this card's cardholder already passed a challenge, is
    authenticated without challenge (Y). A requestor mandating a challenge (indicator 04) still gets
    one; no device (threeDSCompInd N or U, nothing collected) passes to the next rule."""

    name = "recognised_device"

    def __init__(self, ceiling: str, currency: str) -> None:
        self.ceiling = _amount_arg(self.name, ceiling)
        self.currency = _currency_arg(self.name, currency)

    def decide(self, context: RuleContext) -> Decision | None:
        areq, amount = context.areq, context.amount
        if not context.device_recognised or "04" in areq.challenge_indicators:
            return None
        if areq.messageCategory != "01" or areq.purchaseCurrency != self.currency:
            return None
        if amount is not None and amount < self.ceiling:
            return Decision("Y")
        return None


class ChallengeIndicator:
    """`challenge_indicator`: honour the requestor's threeDSRequestorChallengeInd (docs/emv-3ds.md §1.4).

    04 (mandate) challenges with acsChallengeMandated Y; 02 and 08 (no challenge requested) are
    authenticated without challenge (Y); in 2.2.0, 05 and 07 (TRA or SCA already performed) and 06
    (data only) are acknowledged (I). Any other value passes.
    """

    name = "challenge_indicator"

    def decide(self, context: RuleContext) -> Decision | None:
        indicators = set(context.areq.challenge_indicators)  # one, or in 2.3.1 several
        v210 = context.areq.messageVersion == "2.1.0"
        if "04" in indicators:
            return Decision("C", challenge_mandated=True)
        if indicators & {"02", "08"}:
            return Decision("Y")
        if indicators & {"05", "06", "07"} and not v210:
            return Decision("I")
        return None


BUILTIN: dict[str, Callable[..., Rule]] = {
    FrictionlessBelow.name: FrictionlessBelow,
    LowValueExemption.name: LowValueExemption,
    ChallengeIndicator.name: ChallengeIndicator,
    RecognisedDevice.name: RecognisedDevice,
}
# The built-in rules that read only their context, which the fast path may run on its event loop.
# low_value counts the card's earlier exemptions through the ORM: Django refuses that on an event
# loop (SynchronousOnlyOperation), so a chain naming it is decided in a thread, as an issuer's is.
LOOP_SAFE = frozenset({FrictionlessBelow.name, ChallengeIndicator.name, RecognisedDevice.name})


class RuleConfigError(ValueError):
    """GUICHET_ACS_RULES names something that cannot be used as a rule."""


def _load_one(name: str, args: tuple[str, ...]) -> Rule:
    if name in BUILTIN:
        factory = BUILTIN[name]
    else:
        module_name, _, attr = name.rpartition(".")
        if not module_name:
            raise RuleConfigError(f"unknown rule {name!r} (built-in: {', '.join(sorted(BUILTIN))})")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RuleConfigError(f"rule {name!r} cannot be imported: {exc}") from exc
    try:
        rule = factory(*args)
    except (TypeError, ValueError) as exc:
        raise RuleConfigError(f"rule {name}({', '.join(args)}): {exc}") from exc
    if not callable(getattr(rule, "decide", None)):
        raise RuleConfigError(f"rule {name!r} has no decide(context) method")
    if not getattr(rule, "name", ""):
        rule.name = name  # an issuer's class may leave it out
    return rule


@functools.cache
def rules_load(configured: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[Rule, ...]:
    """The issuer's rules of GUICHET_ACS_RULES (raises RuleConfigError)."""
    return tuple(_load_one(name, args) for name, args in configured)


SMS_HOLD = "sms_hold"


def decide(*, context: RuleContext, issuer_rules: Sequence[Rule]) -> tuple[str, Decision, list[str]]:
    """Run the chain; the answering rule's name, its decision, and the issuer rules that failed. A
    challenge while the cardholder's new phone is on hold becomes N (`sms_hold_applied`)."""
    name, decision, broken = _chain(context=context, issuer_rules=issuer_rules)
    held = sms_hold_applied(context, decision)
    return (SMS_HOLD, held, broken) if held is not None else (name, decision, broken)


def _chain(*, context: RuleContext, issuer_rules: Sequence[Rule]) -> tuple[str, Decision, list[str]]:
    three_ri = context.areq.deviceChannel == THREE_RI
    for gate in THREE_RI_GATES if three_ri else GATES:
        decision = gate.decide(context)
        if decision is not None:
            return gate.name, decision, []
    broken: list[str] = []
    for rule in issuer_rules:
        try:
            decision = rule.decide(context)
        except Exception:  # noqa: BLE001 (an issuer's rule must not turn an AReq into an error: skip it)
            broken.append(rule.name)
            continue
        if decision is None or (three_ri and getattr(decision, "trans_status", None) == "C"):
            continue  # a rule written for browsers may challenge: a 3RI cannot be, the next rule decides
        if valid_decision(decision, version=context.areq.messageVersion, areq=context.areq):
            return rule.name, decision, broken
        broken.append(rule.name)
    default = THREE_RI_DEFAULT if three_ri else DEFAULT_RULE
    return default.name, default.decide(context) or Decision("C"), broken
