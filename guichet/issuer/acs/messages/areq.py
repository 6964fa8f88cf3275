"""The AReq message (docs/emv-3ds.md §1), as the DS forwards it to the ACS.

Field types carry the format of each element; which elements are required depends on the version,
the channel and other elements, and is checked by ``guichet.issuer.acs.messages.validation``. Elements this
model does not know (app-channel or 2.3.1 elements) are ignored rather than refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from guichet.issuer.acs.messages.fields import (
    Digits3,
    DsOrEmvCode,
    JsonObject,
    MessageExtensions,
    MessageVersion,
    Text3,
    Text11,
    Text16,
    Text32,
    Text35,
    Text40,
    Text50,
    Text64,
    Text2048,
    Url256,
    Url2048,
    Uuid,
    WireModel,
    YesNo,
)


def _p(regex: str) -> StringConstraints:
    return StringConstraints(pattern=regex)


AcctNumber = Annotated[str, _p(r"^[0-9]{13,19}$")]
ColorDepth = Literal["1", "4", "8", "15", "16", "24", "32", "48"]
ScreenSize = Annotated[str, _p(r"^[0-9]{1,6}$")]
BrowserTZ = Annotated[str, _p(r"^[+-]?[0-9]{1,4}$")]
BrowserLanguage = Annotated[str, StringConstraints(min_length=1, max_length=8)]
BrowserIP = Annotated[str, StringConstraints(min_length=1, max_length=45)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
CardholderName = Annotated[str, StringConstraints(min_length=2, max_length=45)]
DeviceChannel = Annotated[str, _p(r"^(0[1-3]|[89][0-9])$")]
MessageCategory = Annotated[str, _p(r"^(0[1-2]|[89][0-9])$")]
Mcc = Annotated[str, _p(r"^[0-9]{4}$")]
Amount = Annotated[str, _p(r"^[0-9]{1,48}$")]
Exponent = Annotated[str, _p(r"^[0-9]$")]
Yymm = Annotated[str, _p(r"^[0-9]{2}(0[1-9]|1[0-2])$")]
Yyyymmdd = Annotated[str, _p(r"^[0-9]{8}$")]
Yyyymmddhhmmss = Annotated[str, _p(r"^[0-9]{14}$")]
TwoDigits = Annotated[str, _p(r"^[0-9]{2}$")]
InstalData = Annotated[str, _p(r"^[0-9]{1,3}$")]
Frequency = Annotated[str, _p(r"^[0-9]{1,4}$")]
DecMaxTime = Annotated[str, _p(r"^[0-9]{5}$")]
ChallengeInd = Annotated[str, _p(r"^(0[1-9]|[89][0-9])$")]
AuthenticationInd = Annotated[str, _p(r"^(0[1-6]|[89][0-9])$")]
PhoneCc = Annotated[str, _p(r"^[0-9]{1,3}$")]
PhoneSubscriber = Annotated[str, _p(r"^[0-9]{1,15}$")]


class Phone(WireModel):
    cc: PhoneCc
    subscriber: PhoneSubscriber


class AReq(WireModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    # Always required for the browser channel in 2.1.0 and 2.2.0 (docs/emv-3ds.md §1.2, §1.3).
    messageType: Literal["AReq"]
    messageVersion: MessageVersion
    messageCategory: MessageCategory
    deviceChannel: DeviceChannel
    threeDSServerTransID: Uuid
    threeDSServerRefNumber: Text32
    threeDSServerURL: Url2048
    threeDSRequestorID: Text35
    threeDSRequestorName: Text40
    threeDSRequestorURL: Url2048
    threeDSRequestorAuthenticationInd: AuthenticationInd
    threeDSCompInd: Literal["Y", "N", "U"]
    acctNumber: AcctNumber
    notificationURL: Url256
    dsTransID: Uuid
    dsReferenceNumber: Text32
    dsURL: Url2048

    # Browser elements: required per version / browserJavascriptEnabled (validation.py).
    browserAcceptHeader: Text2048 | None = None
    browserUserAgent: Text2048 | None = None
    browserLanguage: BrowserLanguage | None = None
    browserJavascriptEnabled: bool | None = None
    browserJavaEnabled: bool | None = None
    browserColorDepth: ColorDepth | None = None
    browserScreenHeight: ScreenSize | None = None
    browserScreenWidth: ScreenSize | None = None
    browserTZ: BrowserTZ | None = None
    browserIP: BrowserIP | None = None

    # Payment elements: required when messageCategory is 01 (and some 02 cases).
    acquirerBIN: Text11 | None = None
    acquirerMerchantID: Text35 | None = None
    mcc: Mcc | None = None
    merchantCountryCode: Digits3 | None = None
    merchantName: Text40 | None = None
    purchaseAmount: Amount | None = None
    purchaseCurrency: Digits3 | None = None
    purchaseExponent: Exponent | None = None
    purchaseDate: Yyyymmddhhmmss | None = None
    purchaseInstalData: InstalData | None = None
    recurringExpiry: Yyyymmdd | None = None
    recurringFrequency: Frequency | None = None
    transType: Literal["01", "03", "10", "11", "28"] | None = None

    # App channel (01), answered U / 03: kept only to echo it in the ARes.
    sdkTransID: Uuid | None = None

    # Optional elements.
    threeDSServerOperatorID: Text32 | None = None
    threeDSRequestorChallengeInd: ChallengeInd | None = None
    threeDSRequestorAuthenticationInfo: JsonObject | None = None
    threeDSRequestorPriorAuthenticationInfo: JsonObject | None = None
    threeDSReqAuthMethodInd: DsOrEmvCode | None = None
    threeDSRequestorDecReqInd: YesNo | None = None
    threeDSRequestorDecMaxTime: DecMaxTime | None = None
    threeRIInd: TwoDigits | None = None
    acctID: Text64 | None = None
    acctInfo: JsonObject | None = None
    acctType: DsOrEmvCode | None = None
    addrMatch: YesNo | None = None
    billAddrCity: Text50 | None = None
    billAddrCountry: Digits3 | None = None
    billAddrLine1: Text50 | None = None
    billAddrLine2: Text50 | None = None
    billAddrLine3: Text50 | None = None
    billAddrPostCode: Text16 | None = None
    billAddrState: Text3 | None = None
    shipAddrCity: Text50 | None = None
    shipAddrCountry: Digits3 | None = None
    shipAddrLine1: Text50 | None = None
    shipAddrLine2: Text50 | None = None
    shipAddrLine3: Text50 | None = None
    shipAddrPostCode: Text16 | None = None
    shipAddrState: Text3 | None = None
    cardExpiryDate: Yymm | None = None
    cardholderName: CardholderName | None = None
    email: Email | None = None
    homePhone: Phone | None = None
    mobilePhone: Phone | None = None
    workPhone: Phone | None = None
    merchantRiskIndicator: JsonObject | None = None
    messageExtension: MessageExtensions | None = None
    payTokenInd: Literal[True] | None = None
    payTokenSource: MessageCategory | None = None
    whiteListStatus: Literal["Y", "N", "E", "P", "R", "U"] | None = None
    whiteListStatusSource: DsOrEmvCode | None = None
