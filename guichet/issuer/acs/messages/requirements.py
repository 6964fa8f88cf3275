"""What an AReq must carry, and what differs by version, per channel (docs/emv-3ds.md §1.2, §1.3, §1.7).

Channels: 01 app (the 3DS SDK's elements), 02 browser (the browser's elements, the 3DS Method's
indicator and the notificationURL), 03 3RI (requestor-initiated, no cardholder: threeRIInd instead of
the authentication indicator). Elements required in every channel are the model's own required fields.
"""

from __future__ import annotations

from typing import Any

from guichet.issuer.acs.messages.areq import AReq

APP, BROWSER, THREE_RI = "01", "02", "03"

ALWAYS_REQUIRED = tuple(name for name, field in AReq.model_fields.items() if field.is_required())
BROWSER_210 = (
    "browserAcceptHeader", "browserUserAgent", "browserLanguage", "browserJavaEnabled",
    "browserColorDepth", "browserScreenHeight", "browserScreenWidth", "browserTZ",
)  # fmt: skip
BROWSER_220 = ("browserAcceptHeader", "browserUserAgent", "browserLanguage", "browserJavascriptEnabled")
BROWSER_220_WITH_JS = (
    "browserJavaEnabled", "browserColorDepth", "browserScreenHeight", "browserScreenWidth", "browserTZ",
)  # fmt: skip
# 2.3.1: browserLanguage too is required only when JavaScript runs.
BROWSER_231 = ("browserAcceptHeader", "browserUserAgent", "browserJavascriptEnabled")
BROWSER_231_WITH_JS = (*BROWSER_220_WITH_JS, "browserLanguage")
APP_ELEMENTS = (
    "sdkAppID", "sdkTransID", "sdkReferenceNumber", "sdkMaxTimeout", "sdkEphemPubKey", "deviceRenderOptions",
)  # fmt: skip
# Required for the app and browser channels; a 3RI AReq has no cardholder to have authenticated.
WITH_CARDHOLDER = ("threeDSRequestorAuthenticationInd",)
BROWSER_ONLY = ("threeDSCompInd", "notificationURL")
PAYMENT = (
    "acquirerBIN", "acquirerMerchantID", "mcc", "merchantCountryCode", "merchantName",
    "purchaseAmount", "purchaseCurrency", "purchaseExponent", "purchaseDate",
)  # fmt: skip
PURCHASE = ("purchaseAmount", "purchaseCurrency", "purchaseExponent", "purchaseDate")
THREE_RI_WITH_PURCHASE = frozenset({"01", "02", "06", "07", "08", "09", "11", "15"})
RECURRING_AUTH = frozenset({"02", "03"})  # recurring, instalment
RECURRING_3RI = frozenset({"01", "02"})

# Elements 2.3.1 adds: in an earlier version's AReq they are unknown elements, ignored like any other.
ADDED_IN_231 = frozenset(
    {
        "acceptLanguage", "acquirerCountryCode", "acquirerCountryCodeSource", "threeDSMethodId",
        "payeeOrigin", "recurringAmount", "recurringCurrency", "recurringDate", "recurringExponent",
        "recurringInd", "cardSecurityCode", "cardSecurityCodeStatus", "cardSecurityCodeStatusSource",
        "deviceBindingStatus", "deviceBindingStatusSource", "deviceId", "taxId", "userId",
        "trustListStatus", "trustListStatusSource", "threeDSRequestorSpcSupport", "spcIncompInd",
        "sellerInfo", "broadInfo", "multiTransaction", "payTokenInfo",
    }
)  # fmt: skip
REMOVED_IN_231 = frozenset({"whiteListStatus", "whiteListStatusSource"})  # renamed trustList*


def _codes(*ranges: range) -> frozenset[str]:
    return frozenset(f"{n:02d}" for r in ranges for n in r)


DS_USE = range(80, 100)
# Per-version enumerations of top-level elements (docs/emv-3ds.md §1.4).
VERSION_CODES: dict[str, dict[str, frozenset[str]]] = {
    "threeDSRequestorAuthenticationInd": {
        "2.1.0": _codes(range(1, 7), DS_USE),
        "2.2.0": _codes(range(1, 7), DS_USE),
        "2.3.1": _codes(range(1, 11), DS_USE),
    },
    "threeDSRequestorChallengeInd": {
        "2.1.0": _codes(range(1, 5), DS_USE),
        "2.2.0": _codes(range(1, 10), DS_USE),
        "2.3.1": _codes(range(1, 15), DS_USE),
    },
    "threeRIInd": {
        "2.1.0": _codes(range(1, 6), DS_USE),
        "2.2.0": _codes(range(1, 12), DS_USE),
        "2.3.1": _codes(range(1, 20), DS_USE),
    },
}
HTTPS_IN_231 = ("notificationURL", "threeDSRequestorURL")


def unknown_in_version(data: dict[str, Any], version: str) -> list[str]:
    """The top-level keys this version does not define, to drop before validation."""
    if version == "2.3.1":
        return [key for key in REMOVED_IN_231 if key in data]
    return [key for key in ADDED_IN_231 if key in data]


def _text(data: dict[str, Any], key: str) -> str | None:
    """A string element's value, None for any other JSON: the conditions below test membership in
    sets, and a list or an object in the AReq must fail validation later, not here."""
    value = data.get(key)
    return value if isinstance(value, str) else None


def required(data: dict[str, Any], version: str) -> list[str]:
    """The elements this AReq must carry, in no set order (docs/emv-3ds.md §1.2, §1.3 conditions)."""
    names: list[str] = list(ALWAYS_REQUIRED)
    channel = _text(data, "deviceChannel")
    v210, v231 = version == "2.1.0", version == "2.3.1"
    if channel in (APP, BROWSER) or not v210:  # 2.1.0 leaves it out for 3RI only
        names.append("threeDSServerURL")
    if channel in (APP, BROWSER):
        names += WITH_CARDHOLDER
    if channel == BROWSER:
        names += BROWSER_ONLY
        javascript = data.get("browserJavascriptEnabled") is True
        if v210:
            names += BROWSER_210
        elif v231:
            names += BROWSER_231 + (BROWSER_231_WITH_JS if javascript else ())
        else:
            names += BROWSER_220 + (BROWSER_220_WITH_JS if javascript else ())
    elif channel == APP:
        names += APP_ELEMENTS
    elif channel == THREE_RI:
        names.append("threeRIInd")
    auth_ind = _text(data, "threeDSRequestorAuthenticationInd")
    three_ri = _text(data, "threeRIInd") if channel == THREE_RI else None
    category = _text(data, "messageCategory")
    purchase_auth = RECURRING_AUTH | ({"07", "08", "09"} if v231 else set())
    if category == "01":
        names += PAYMENT
    elif category == "02" and (auth_ind in purchase_auth or three_ri in THREE_RI_WITH_PURCHASE):
        names += PURCHASE
    if auth_ind == "03" or (not v210 and three_ri == "02"):
        names.append("purchaseInstalData")
    recurring = auth_ind in RECURRING_AUTH or (not v210 and three_ri in RECURRING_3RI)
    if v231:
        names += _recurring_231(data, recurring=recurring)
    elif recurring:
        names += ("recurringExpiry", "recurringFrequency")
    if "shipAddrState" in data:
        names.append("shipAddrCountry")
    if not v210:
        if _text(data, "threeDSRequestorDecReqInd") == "Y":
            names.append("threeDSRequestorDecMaxTime")
        if data.get("payTokenInd") is True:
            names.append("payTokenSource")
    for status, source in _STATUS_SOURCES[version]:
        if status in data:
            names.append(source)
    if v231 and data.get("threeDSRequestorSpcSupport") == "Y":
        names.append("payeeOrigin")
    return names


_STATUS_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "2.1.0": (),
    "2.2.0": (("whiteListStatus", "whiteListStatusSource"),),
    "2.3.1": (
        ("trustListStatus", "trustListStatusSource"),
        ("cardSecurityCodeStatus", "cardSecurityCodeStatusSource"),
        ("deviceBindingStatus", "deviceBindingStatusSource"),
    ),
}


def _recurring_231(data: dict[str, Any], *, recurring: bool) -> list[str]:
    names: list[str] = []
    indicator = data.get("recurringInd")
    amount_ind = indicator.get("amountInd") if isinstance(indicator, dict) else None
    frequency_ind = indicator.get("frequencyInd") if isinstance(indicator, dict) else None
    if recurring:
        names.append("recurringInd")
    if recurring and amount_ind == "01":
        names.append("recurringAmount")
    if "recurringAmount" in data:
        names += ("recurringCurrency", "recurringExponent")
    if frequency_ind == "01":
        names += ("recurringDate", "recurringFrequency")
    return names


def version_errors(areq: AReq) -> list[str]:
    """Elements whose value is valid in some version but not in this AReq's (docs/emv-3ds.md §1.4)."""
    version = areq.messageVersion
    bad: list[str] = []
    for name, allowed in VERSION_CODES.items():
        value = getattr(areq, name)
        if value is None:
            continue
        if name == "threeDSRequestorChallengeInd" and isinstance(value, list) != (version == "2.3.1"):
            bad.append(name)  # a string up to 2.2.0, an array in 2.3.1
            continue
        values = value if isinstance(value, list) else [value]
        bad += [name for item in values if item not in allowed[version]][:1]
    if version == "2.3.1":
        for name in HTTPS_IN_231:
            url = getattr(areq, name)
            if url is not None and not url.startswith("https://"):
                bad.append(name)
    elif areq.threeDSRequestorDecReqInd in ("F", "B"):
        bad.append("threeDSRequestorDecReqInd")
    return bad
