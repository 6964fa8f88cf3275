"""The RReq the ACS sends to the DS's dsURL once a challenge has an outcome (docs/emv-3ds.md §4.2).

2.3.1 (docs/emv-3ds.md §4.2, indicative): an `authenticationMethod` array instead of
`authenticationType`, challengeCancel 09 and 10 (with challengeErrorReporting), trustListStatus.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import StringConstraints, model_validator

from guichet.issuer.acs.messages.ares import (
    AuthenticationMethod,
    AuthenticationMethods,
    AuthenticationType,
    AuthenticationValue,
    CardholderInfo,
    Eci,
    ListStatus,
    TransStatusReason,
    version_rules,
)
from guichet.issuer.acs.messages.fields import (
    DsOrEmvCode,
    MessageExtensions,
    MessageVersion,
    Text2048,
    Uuid,
    WireModel,
)

InteractionCounter = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
# 2.2.0: 01, 03-08; 2.1.0: 01, 04-08; 2.3.1 adds 09 and 10; 80-99 DS use (docs/emv-3ds.md §4.2).
ChallengeCancel = Annotated[str, StringConstraints(pattern=r"^(0[1345678]|09|10|[89][0-9])$")]


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
    authenticationType: AuthenticationType | None = None  # up to 2.2.0
    # One code in 2.2.0 (sent by the ACS only), an array in 2.3.1.
    authenticationMethod: AuthenticationMethod | AuthenticationMethods | None = None
    authenticationValue: AuthenticationValue | None = None
    eci: Eci | None = None
    interactionCounter: InteractionCounter
    challengeCancel: ChallengeCancel | None = None
    challengeErrorReporting: Text2048 | None = None  # 2.3.1, with challengeCancel 09 or 10
    cardholderInfo: CardholderInfo | None = None  # 2.3.1
    whiteListStatus: ListStatus | None = None
    whiteListStatusSource: DsOrEmvCode | None = None
    trustListStatus: ListStatus | None = None
    trustListStatusSource: DsOrEmvCode | None = None
    messageExtension: MessageExtensions | None = None

    @model_validator(mode="after")
    def _conditional_rules(self) -> Self:
        """Conditional inclusion (docs/emv-3ds.md §4.2, as a 3DS Server checks it)."""
        status, v210, v231 = self.transStatus, self.messageVersion == "2.1.0", self.messageVersion == "2.3.1"
        payment = self.messageCategory == "01"
        version_rules(
            version=self.messageVersion, reason=self.transStatusReason,
            authentication_type=self.authenticationType, methods=self.authenticationMethod,
            white_list=self.whiteListStatus, trust_list=self.trustListStatus,
            cardholder_info=self.cardholderInfo,
        )  # fmt: skip
        if payment and status in ("N", "U", "R") and self.transStatusReason is None:
            raise ValueError("transStatusReason is required when transStatus is N, U or R")
        if payment and status in ("Y", "A") and self.authenticationValue is None:
            raise ValueError("authenticationValue is required when transStatus is Y or A")
        if status in ("Y", "N") and (self.authenticationMethod if v231 else self.authenticationType) is None:
            raise ValueError(
                "authenticationType (2.3.1: authenticationMethod) is required when transStatus is Y or N"
            )
        if v231 and isinstance(self.authenticationMethod, str):
            raise ValueError("authenticationMethod is an array in 2.3.1")
        if (self.challengeCancel in ("09", "10")) != (self.challengeErrorReporting is not None) or (
            self.challengeCancel in ("09", "10") and not v231
        ):
            raise ValueError("challengeCancel 09 and 10 (2.3.1) go with challengeErrorReporting")
        if self.transStatusReason == "14" and self.challengeCancel not in ("04", "05"):
            raise ValueError("a timeout (reason 14) needs challengeCancel 04 or 05")
        if v210:
            if self.challengeCancel == "03":
                raise ValueError("challengeCancel 03 does not exist in 2.1.0")
            if self.authenticationMethod is not None or self.whiteListStatus is not None:
                raise ValueError("authenticationMethod and whiteListStatus do not exist in 2.1.0")
            if self.authenticationType == "04":
                raise ValueError("authenticationType 04 does not exist in 2.1.0")
        if (self.whiteListStatus is None) != (self.whiteListStatusSource is None):
            raise ValueError("whiteListStatus and whiteListStatusSource go together")
        if (self.trustListStatus is None) != (self.trustListStatusSource is None):
            raise ValueError("trustListStatus and trustListStatusSource go together")
        return self
