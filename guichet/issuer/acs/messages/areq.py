"""The AReq message (docs/emv-3ds.md §1), as the DS forwards it to the ACS, in 2.1.0, 2.2.0 and 2.3.1.

Field types carry the format of each element, and the nested objects their tables (nested.py); which
elements are required depends on the version, the channel and other elements, and what differs by
version is checked by ``requirements.py``. Elements this model does not know are ignored rather than
refused, and so are the 2.3.1 elements in an earlier version's AReq (requirements.ADDED_IN_231).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

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
from guichet.issuer.acs.messages.nested import (
    AcctInfo,
    DeviceRenderOptions,
    EphemeralKey,
    MerchantRiskIndicator,
    PriorAuthenticationInfo,
    RecurringInd,
    RequestorAuthenticationInfo,
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
# Each version's range is narrower (requirements.py); these are the union of 2.1.0 to 2.3.1.
ChallengeInd = Annotated[str, _p(r"^(0[1-9]|1[0-4]|[89][0-9])$")]
AuthenticationInd = Annotated[str, _p(r"^(0[1-9]|10|[89][0-9])$")]
ListStatus = Literal["Y", "N", "E", "P", "R", "U"]
Text45 = Annotated[str, StringConstraints(min_length=1, max_length=45)]
Https2048 = Annotated[str, StringConstraints(pattern=r"^https://[^\s/?#]+\S*$", max_length=2048)]
LanguageTag = Annotated[str, StringConstraints(min_length=1, max_length=35)]
PhoneCc = Annotated[str, _p(r"^[0-9]{1,3}$")]
PhoneSubscriber = Annotated[str, _p(r"^[0-9]{1,15}$")]


class Phone(WireModel):
    cc: PhoneCc
    subscriber: PhoneSubscriber


class AReq(WireModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    # Required in every version and channel (docs/emv-3ds.md §1.2, §1.3).
    messageType: Literal["AReq"]
    messageVersion: MessageVersion
    messageCategory: MessageCategory
    deviceChannel: DeviceChannel
    threeDSServerTransID: Uuid
    threeDSServerRefNumber: Text32
    threeDSRequestorID: Text35
    threeDSRequestorName: Text40
    threeDSRequestorURL: Url2048
    acctNumber: AcctNumber
    dsTransID: Uuid
    dsReferenceNumber: Text32
    dsURL: Url2048

    # Required in some channels (requirements.py): the browser's, the app's and 3RI's own.
    threeDSServerURL: Url2048 | None = None
    threeDSRequestorAuthenticationInd: AuthenticationInd | None = None
    threeDSCompInd: Literal["Y", "N", "U"] | None = None
    notificationURL: Url256 | None = None

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

    # App channel (01): required there (requirements.py); sdkTransID is echoed in the ARes.
    sdkAppID: Uuid | None = None
    sdkTransID: Uuid | None = None
    sdkReferenceNumber: Text32 | None = None
    sdkMaxTimeout: Annotated[str, _p(r"^(0[5-9]|[1-9][0-9])$")] | None = None  # minutes, at least 05
    sdkEphemPubKey: EphemeralKey | None = None
    sdkEncData: Annotated[str, StringConstraints(min_length=1, max_length=64000)] | None = None
    deviceInfo: Annotated[str, StringConstraints(min_length=1, max_length=64000)] | None = None
    deviceRenderOptions: DeviceRenderOptions | None = None

    # Optional elements.
    threeDSServerOperatorID: Text32 | None = None
    # A string up to 2.2.0, an array of them in 2.3.1 (requirements.py); read it as `challenge_indicators`.
    threeDSRequestorChallengeInd: (
        ChallengeInd | Annotated[list[ChallengeInd], Field(min_length=1, max_length=14)] | None
    ) = None
    threeDSRequestorAuthenticationInfo: RequestorAuthenticationInfo | None = None
    threeDSRequestorPriorAuthenticationInfo: PriorAuthenticationInfo | None = None
    threeDSReqAuthMethodInd: DsOrEmvCode | None = None
    threeDSRequestorDecReqInd: Literal["Y", "N", "F", "B"] | None = None  # F and B from 2.3.1
    threeDSRequestorDecMaxTime: DecMaxTime | None = None
    threeRIInd: TwoDigits | None = None
    acctID: Text64 | None = None
    acctInfo: AcctInfo | None = None
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
    merchantRiskIndicator: MerchantRiskIndicator | None = None
    messageExtension: MessageExtensions | None = None
    payTokenInd: Literal[True] | None = None
    payTokenSource: MessageCategory | None = None
    whiteListStatus: ListStatus | None = None  # 2.2.0 only: 2.3.1 renames it trustListStatus
    whiteListStatusSource: DsOrEmvCode | None = None

    # 2.3.1 elements (docs/emv-3ds.md §1.2; their inclusion there is indicative, see §1.7).
    acceptLanguage: Annotated[list[LanguageTag], Field(min_length=1, max_length=99)] | None = None
    acquirerCountryCode: Digits3 | None = None
    acquirerCountryCodeSource: TwoDigits | None = None
    threeDSMethodId: Uuid | None = None
    payeeOrigin: Https2048 | None = None
    recurringAmount: Amount | None = None
    recurringCurrency: Digits3 | None = None
    recurringDate: Yyyymmdd | None = None
    recurringExponent: Exponent | None = None
    recurringInd: RecurringInd | None = None
    # A card security code is a secret: checked, never dumped, so never stored nor logged.
    cardSecurityCode: Annotated[str, _p(r"^[0-9]{3,4}$")] | None = Field(
        default=None, exclude=True, repr=False
    )
    cardSecurityCodeStatus: Literal["Y", "N", "U"] | None = None
    cardSecurityCodeStatusSource: Literal["01", "02"] | None = None
    deviceBindingStatus: TwoDigits | None = None
    deviceBindingStatusSource: DsOrEmvCode | None = None
    deviceId: Text64 | None = None
    taxId: Text45 | None = None
    userId: Text64 | None = None
    trustListStatus: ListStatus | None = None
    trustListStatusSource: DsOrEmvCode | None = None
    threeDSRequestorSpcSupport: Literal["Y"] | None = None
    spcIncompInd: TwoDigits | None = None
    sellerInfo: Annotated[list[JsonObject], Field(min_length=1, max_length=50)] | None = None
    broadInfo: JsonObject | None = None
    multiTransaction: JsonObject | None = None
    payTokenInfo: JsonObject | None = None

    @property
    def challenge_indicators(self) -> tuple[str, ...]:
        """threeDSRequestorChallengeInd whatever the version: () when absent."""
        value = self.threeDSRequestorChallengeInd
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    @property
    def language(self) -> str:
        """The cardholder's language as the browser gives it: browserLanguage, else (2.3.1, when
        browserLanguage is absent) the first acceptLanguage; "" when neither is there."""
        if self.browserLanguage:
            return self.browserLanguage
        return self.acceptLanguage[0] if self.acceptLanguage else ""
