"""What a rule of the ACS's decision chain sees and answers: `RuleContext` in, `Decision` out.

An issuer's own rule (GUICHET_ACS_RULES, docs/issuers.md) imports these two from
`guichet.issuer.acs.rules`, which re-exports them; the chain itself is in rules.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from guichet.issuer.acs.authvalue import Method
from guichet.issuer.acs.cardholder_info import CARDHOLDER_INFO_MAX
from guichet.issuer.acs.messages import AReq
from guichet.issuer.cards.models import Card, Cardholder

FINAL_STATUSES = {"2.1.0": frozenset("YNUAR"), "2.2.0": frozenset("YNUARI"), "2.3.1": frozenset("YNUARI")}
REASON_REQUIRED = frozenset("NUR")
# transStatusReason per version (docs/emv-3ds.md §2.3): 2.1.0 01-21, 2.2.0 01-26, 2.3.1 01-30, 80-99 DS use.
REASONS = {
    "2.1.0": frozenset(f"{n:02d}" for n in [*range(1, 22), *range(80, 100)]),
    "2.2.0": frozenset(f"{n:02d}" for n in [*range(1, 27), *range(80, 100)]),
    "2.3.1": frozenset(f"{n:02d}" for n in [*range(1, 31), *range(80, 100)]),
}
APP, BROWSER, THREE_RI = "01", "02", "03"


@dataclass(frozen=True)
class Decision:
    trans_status: str  # Y N U A R I, or C to challenge
    reason: str = ""  # transStatusReason, required for N U R
    challenge_mandated: bool = False  # acsChallengeMandated, for C
    cardholder_info: str = ""  # cardholderInfo (at most 128 characters)
    method: str = Method.FRICTIONLESS  # how the cardholder was authenticated, for the authentication value


@dataclass(frozen=True)
class RuleContext:
    areq: AReq
    card: Card | None
    cardholder: Cardholder | None
    epin_blocked_until: dt.datetime | None
    now: dt.datetime
    scheme: str
    public_url: str
    no_epin_policy: str  # "refuse" or "sms_only"
    # The 3DS Method's device joined to this AReq (threeDSCompInd Y): its keyed hash ("" when there
    # is none) and whether that device was on an earlier authentication of this card that ended Y
    # after a challenge (method.py, device_store.py).
    device_hash: str = ""
    device_recognised: bool = False

    @property
    def amount(self) -> int | None:
        """purchaseAmount in minor units, when the AReq has one."""
        return int(self.areq.purchaseAmount) if self.areq.purchaseAmount else None


class Rule(Protocol):
    name: str

    def decide(self, context: RuleContext) -> Decision | None:
        """A decision for this AReq, or None to let the next rule decide."""


def valid_decision(decision: object, *, version: str, areq: AReq) -> bool:
    """Whether a rule's answer can be sent as this version's ARes (an issuer's rule may be wrong)."""
    if not isinstance(decision, Decision):
        return False
    status = decision.trans_status
    if status != "C" and status not in FINAL_STATUSES.get(version, frozenset()):
        return False
    if status in REASON_REQUIRED and decision.reason not in REASONS.get(version, frozenset()):
        return False
    indicators = areq.challenge_indicators
    if status == "C" and (areq.deviceChannel == THREE_RI or (version != "2.1.0" and "06" in indicators)):
        return False
    if status == "I" and not {"05", "06", "07"} & set(indicators):
        return False
    return len(decision.cardholder_info) <= CARDHOLDER_INFO_MAX
