"""The ARes message (docs/emv-3ds.md §2), browser channel, with its per-transStatus conditional rules."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import StringConstraints, model_validator

from guichet.issuer.acs.messages.fields import (
    DsOrEmvCode,
    JsonObject,
    MessageExtensions,
    MessageVersion,
    Text32,
    Text128,
    Url2048,
    Uuid,
    WireModel,
    YesNo,
)

TransStatus = Literal["Y", "N", "U", "A", "C", "D", "R", "I"]
# 2.1.0: 01-21, 2.2.0 adds 22-26; 80-99 DS use (docs/emv-3ds.md §2.3).
TransStatusReason = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-9]|2[0-6]|[89][0-9])$")]
AuthenticationType = Annotated[str, StringConstraints(pattern=r"^(0[1-4]|[89][0-9])$")]
# The published pattern, and the length 3DS Servers check: 20 bytes in base64 (docs/emv-3ds.md §8.1).
AuthenticationValue = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z0-9+/]{26,28}={0,2}$", min_length=28, max_length=28)
]
Eci = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")]

REASONS_ADDED_IN_220 = frozenset({"22", "23", "24", "25", "26"})


class ARes(WireModel):
    messageType: Literal["ARes"] = "ARes"
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    dsTransID: Uuid
    dsReferenceNumber: Text32
    acsTransID: Uuid
    acsReferenceNumber: Text32
    acsOperatorID: Text32 | None = None
    transStatus: TransStatus
    transStatusReason: TransStatusReason | None = None
    acsURL: Url2048 | None = None
    acsChallengeMandated: YesNo | None = None
    authenticationType: AuthenticationType | None = None
    acsDecConInd: YesNo | None = None
    authenticationValue: AuthenticationValue | None = None
    eci: Eci | None = None
    cardholderInfo: Text128 | None = None
    messageExtension: MessageExtensions | None = None
    whiteListStatus: Literal["Y", "N", "E", "P", "R", "U"] | None = None
    whiteListStatusSource: DsOrEmvCode | None = None
    broadInfo: JsonObject | None = None
    sdkTransID: Uuid | None = None  # app channel: echoed from the AReq

    @model_validator(mode="after")
    def _conditional_rules(self) -> Self:
        """Conditional inclusion per transStatus (docs/emv-3ds.md §2.1, as a 3DS Server checks it)."""
        status, v210 = self.transStatus, self.messageVersion == "2.1.0"
        if v210 and status in ("D", "I"):
            raise ValueError(f"transStatus {status} does not exist in 2.1.0")
        if v210 and self.transStatusReason in REASONS_ADDED_IN_220:
            raise ValueError("transStatusReason 22-26 does not exist in 2.1.0")
        if v210 and (self.acsDecConInd is not None or self.whiteListStatus is not None):
            raise ValueError("acsDecConInd and whiteListStatus do not exist in 2.1.0")
        if status in ("N", "U", "R") and self.transStatusReason is None:
            raise ValueError("transStatusReason is required when transStatus is N, U or R")
        if status in ("Y", "A") and self.authenticationValue is None:
            raise ValueError("authenticationValue is required when transStatus is Y or A")
        if status == "C" and self.acsURL is None:
            raise ValueError("acsURL is required when transStatus is C (browser)")
        if status in ("C", "D") and (self.acsChallengeMandated is None or self.authenticationType is None):
            raise ValueError(
                "acsChallengeMandated and authenticationType are required when transStatus is C or D"
            )
        if status == "D" and (self.acsDecConInd != "Y" or self.authenticationType != "04"):
            raise ValueError("transStatus D needs acsDecConInd Y and authenticationType 04")
        if self.acsDecConInd == "Y" and self.cardholderInfo is None:
            raise ValueError("cardholderInfo is required when acsDecConInd is Y")
        if (self.whiteListStatus is None) != (self.whiteListStatusSource is None):
            raise ValueError("whiteListStatus and whiteListStatusSource go together")
        return self
