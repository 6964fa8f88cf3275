"""The RReq the ACS sends to the DS's dsURL once a challenge has an outcome (docs/emv-3ds.md §4.2)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import StringConstraints, model_validator

from guichet.issuer.acs.messages.ares import (
    REASONS_ADDED_IN_220,
    AuthenticationType,
    AuthenticationValue,
    Eci,
    TransStatusReason,
)
from guichet.issuer.acs.messages.fields import DsOrEmvCode, MessageExtensions, MessageVersion, Uuid, WireModel

# 01-11 in 2.2.0, 80-99 DS use (docs/emv-3ds.md §2.4); sent by the ACS only, and only from 2.2.0 on.
AuthenticationMethod = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[01]|[89][0-9])$")]
InteractionCounter = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
# 2.2.0: 01, 03-08; 2.1.0: 01, 04-08; 80-99 DS use (docs/emv-3ds.md §4.2).
ChallengeCancel = Annotated[str, StringConstraints(pattern=r"^(0[1345678]|[89][0-9])$")]


class RReq(WireModel):
    messageType: Literal["RReq"] = "RReq"
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    dsTransID: Uuid
    messageCategory: Annotated[str, StringConstraints(pattern=r"^(0[1-2]|[89][0-9])$")]
    # C, D and I exist only in an ARes (docs/emv-3ds.md §2.2).
    transStatus: Literal["Y", "N", "U", "A", "R"]
    transStatusReason: TransStatusReason | None = None
    authenticationType: AuthenticationType | None = None
    authenticationMethod: AuthenticationMethod | None = None
    authenticationValue: AuthenticationValue | None = None
    eci: Eci | None = None
    interactionCounter: InteractionCounter
    challengeCancel: ChallengeCancel | None = None
    whiteListStatus: Literal["Y", "N", "E", "P", "R", "U"] | None = None
    whiteListStatusSource: DsOrEmvCode | None = None
    messageExtension: MessageExtensions | None = None

    @model_validator(mode="after")
    def _conditional_rules(self) -> Self:
        """Conditional inclusion (docs/emv-3ds.md §4.2, as a 3DS Server checks it)."""
        status, v210 = self.transStatus, self.messageVersion == "2.1.0"
        payment = self.messageCategory == "01"
        if payment and status in ("N", "U", "R") and self.transStatusReason is None:
            raise ValueError("transStatusReason is required when transStatus is N, U or R")
        if payment and status in ("Y", "A") and self.authenticationValue is None:
            raise ValueError("authenticationValue is required when transStatus is Y or A")
        if status in ("Y", "N") and self.authenticationType is None:
            raise ValueError("authenticationType is required when transStatus is Y or N")
        if self.transStatusReason == "14" and self.challengeCancel not in ("04", "05"):
            raise ValueError("a timeout (reason 14) needs challengeCancel 04 or 05")
        if v210:
            if self.transStatusReason in REASONS_ADDED_IN_220:
                raise ValueError("transStatusReason 22-26 does not exist in 2.1.0")
            if self.challengeCancel == "03":
                raise ValueError("challengeCancel 03 does not exist in 2.1.0")
            if self.authenticationMethod is not None or self.whiteListStatus is not None:
                raise ValueError("authenticationMethod and whiteListStatus do not exist in 2.1.0")
            if self.authenticationType == "04":
                raise ValueError("authenticationType 04 does not exist in 2.1.0")
        if (self.whiteListStatus is None) != (self.whiteListStatusSource is None):
            raise ValueError("whiteListStatus and whiteListStatusSource go together")
        return self
