"""The ARes message (docs/emv-3ds.md §2), with its per-transStatus and per-version conditional rules.

2.3.1 (docs/emv-3ds.md §2.7, after the 2.3.1 tables of docs.3dsecure.io, indicative): an
`authenticationMethod` array instead of `authenticationType`, trustListStatus instead of
whiteListStatus, https-only acsURL, cardholderInfo as an object, transStatusReason 27-30.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from guichet.issuer.acs.messages.fields import (
    HTTPS_PATTERN,
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

TransStatus = Literal["Y", "N", "U", "A", "C", "D", "R", "I", "S"]  # S (SPC) from 2.3.1, never sent here
# 2.1.0: 01-21, 2.2.0 adds 22-26, 2.3.1 27-30; 80-99 DS use (docs/emv-3ds.md §2.3).
TransStatusReason = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|[12][0-9]|30|[89][0-9])$")]
AuthenticationType = Annotated[str, StringConstraints(pattern=r"^(0[1-4]|[89][0-9])$")]
# 01-11 in 2.2.0 (the RReq's only), 2.3.1 adds 12-16; 80-99 DS use (docs/emv-3ds.md §2.4).
AuthenticationMethod = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-6]|[89][0-9])$")]
AuthenticationMethods = Annotated[list[AuthenticationMethod], Field(min_length=1, max_length=16)]
ListStatus = Literal["Y", "N", "E", "P", "R", "U"]
# The published pattern, and the length 3DS Servers check: 20 bytes in base64 (docs/emv-3ds.md §8.1).
AuthenticationValue = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z0-9+/]{26,28}={0,2}$", min_length=28, max_length=28)
]
Eci = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")]

REASONS_ADDED_IN_220 = frozenset({"22", "23", "24", "25", "26"})
REASONS_ADDED_IN_231 = frozenset({"27", "28", "29", "30"})


class CardholderInfo(WireModel):
    """2.3.1's cardholderInfo: the text, and optional images (docs/emv-3ds.md §2.6)."""

    text: Text128
    issuerImage: Annotated[str, StringConstraints(pattern=HTTPS_PATTERN, max_length=2048)] | None = None
    paymentSystemImage: Annotated[str, StringConstraints(pattern=HTTPS_PATTERN, max_length=2048)] | None = (
        None
    )


def version_rules(
    *,
    version: str,
    reason: str | None,
    authentication_type: str | None,
    methods: object,
    white_list: object,
    trust_list: object,
    cardholder_info: object,
) -> None:
    """What the ARes and the RReq share: elements and values that exist only in some versions."""
    v231 = version == "2.3.1"
    if version == "2.1.0" and reason in REASONS_ADDED_IN_220:
        raise ValueError("transStatusReason 22-26 does not exist in 2.1.0")
    if not v231 and reason in REASONS_ADDED_IN_231:
        raise ValueError("transStatusReason 27-30 exists from 2.3.1")
    if v231 and (authentication_type is not None or white_list is not None):
        raise ValueError("2.3.1 has authenticationMethod and trustListStatus instead")
    if not v231 and (isinstance(methods, list) or trust_list is not None):
        raise ValueError("an authenticationMethod array and trustListStatus exist from 2.3.1")
    if cardholder_info is not None and isinstance(cardholder_info, CardholderInfo) != v231:
        raise ValueError("cardholderInfo is an object in 2.3.1, a string before")


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
    authenticationType: AuthenticationType | None = None  # up to 2.2.0
    authenticationMethod: AuthenticationMethods | None = None  # 2.3.1
    acsDecConInd: YesNo | None = None
    authenticationValue: AuthenticationValue | None = None
    eci: Eci | None = None
    cardholderInfo: Text128 | CardholderInfo | None = None
    messageExtension: MessageExtensions | None = None
    whiteListStatus: ListStatus | None = None  # 2.2.0
    whiteListStatusSource: DsOrEmvCode | None = None
    trustListStatus: ListStatus | None = None  # 2.3.1
    trustListStatusSource: DsOrEmvCode | None = None
    broadInfo: JsonObject | None = None
    sdkTransID: Uuid | None = None  # app channel: echoed from the AReq

    @model_validator(mode="after")
    def _conditional_rules(self) -> Self:
        """Conditional inclusion per transStatus (docs/emv-3ds.md §2.1, as a 3DS Server checks it)."""
        status, v210, v231 = self.transStatus, self.messageVersion == "2.1.0", self.messageVersion == "2.3.1"
        if v210 and status in ("D", "I"):
            raise ValueError(f"transStatus {status} does not exist in 2.1.0")
        if status == "S" and not v231:
            raise ValueError("transStatus S exists from 2.3.1")
        version_rules(
            version=self.messageVersion, reason=self.transStatusReason,
            authentication_type=self.authenticationType, methods=self.authenticationMethod,
            white_list=self.whiteListStatus, trust_list=self.trustListStatus,
            cardholder_info=self.cardholderInfo,
        )  # fmt: skip
        if v231 and self.acsURL is not None and not self.acsURL.startswith("https://"):
            raise ValueError("acsURL must be https in 2.3.1")
        if v210 and (self.acsDecConInd is not None or self.whiteListStatus is not None):
            raise ValueError("acsDecConInd and whiteListStatus do not exist in 2.1.0")
        if status in ("N", "U", "R") and self.transStatusReason is None:
            raise ValueError("transStatusReason is required when transStatus is N, U or R")
        if status in ("Y", "A") and self.authenticationValue is None:
            raise ValueError("authenticationValue is required when transStatus is Y or A")
        if status == "C" and self.acsURL is None:
            raise ValueError("acsURL is required when transStatus is C (browser)")
        how = self.authenticationMethod if v231 else self.authenticationType
        if status in ("C", "D") and (self.acsChallengeMandated is None or how is None):
            raise ValueError(
                "acsChallengeMandated and authenticationType (2.3.1: authenticationMethod) are required"
                " when transStatus is C or D"
            )
        decoupled = "12" in (self.authenticationMethod or ()) if v231 else self.authenticationType == "04"
        if status == "D" and (self.acsDecConInd != "Y" or not decoupled):
            raise ValueError("transStatus D needs acsDecConInd Y and a decoupled authentication")
        if self.acsDecConInd == "Y" and self.cardholderInfo is None:
            raise ValueError("cardholderInfo is required when acsDecConInd is Y")
        if (self.whiteListStatus is None) != (self.whiteListStatusSource is None):
            raise ValueError("whiteListStatus and whiteListStatusSource go together")
        if (self.trustListStatus is None) != (self.trustListStatusSource is None):
            raise ValueError("trustListStatus and trustListStatusSource go together")
        return self
