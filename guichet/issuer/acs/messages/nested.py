"""The AReq's nested objects and arrays, each against its table (docs/emv-3ds.md §1.6).

Types carry what is the same in every version; what differs by version (an enumeration that grows, a
member that is a string in one version and a JSON value in the next) is in `VERSION_CODES` and
checked by validation.py, which names the element by its path (``acctInfo.chAccAgeInd``).
Members a version does not define are ignored, as at the top level: a later version's additions
must not make an AReq fail.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from guichet.issuer.acs.messages.fields import JsonObject


def _p(regex: str) -> StringConstraints:
    return StringConstraints(pattern=regex)


@functools.lru_cache(maxsize=4096)  # an AReq carries up to ten dates, most of them repeated across AReqs
def calendar_datetime(digits: str) -> dt.datetime | None:
    """YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS as a naive datetime; None if no such date or time.
    Slicing: `strptime` costs several times as much on the AReq's hot path."""
    if len(digits) not in (8, 12, 14) or not digits.isdigit():
        return None
    try:
        return dt.datetime(  # noqa: DTZ001 (the message names no zone)
            int(digits[0:4]), int(digits[4:6]), int(digits[6:8]),
            int(digits[8:10] or 0), int(digits[10:12] or 0), int(digits[12:14] or 0),
        )  # fmt: skip
    except ValueError:
        return None


def _on_calendar(value: str) -> str:
    if calendar_datetime(value) is None:
        raise ValueError("no such date")
    return value


Date = Annotated[str, _p(r"^[0-9]{8}$"), AfterValidator(_on_calendar)]
Timestamp = Annotated[str, _p(r"^[0-9]{12}$"), AfterValidator(_on_calendar)]  # YYYYMMDDHHMM, UTC
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
Digits3 = Annotated[str, _p(r"^[0-9]{3}$")]


# Two-digit enumerations 01..N.
Codes2 = Literal["01", "02"]
Codes3 = Literal["01", "02", "03"]
Codes4 = Literal["01", "02", "03", "04"]
Codes5 = Literal["01", "02", "03", "04", "05"]
Codes7 = Literal["01", "02", "03", "04", "05", "06", "07"]


class Nested(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AcctInfo(Nested):
    """Cardholder Account Information: what the requestor knows of the cardholder's account."""

    chAccAgeInd: Codes5 | None = None
    chAccChange: Date | None = None
    chAccChangeInd: Codes4 | None = None
    chAccDate: Date | None = None
    chAccPwChange: Date | None = None
    chAccPwChangeInd: Codes5 | None = None
    nbPurchaseAccount: Annotated[str, _p(r"^[0-9]{1,4}$")] | None = None
    provisionAttemptsDay: Annotated[str, _p(r"^[0-9]{1,3}$")] | None = None
    txnActivityDay: Annotated[str, _p(r"^[0-9]{1,3}$")] | None = None
    txnActivityYear: Annotated[str, _p(r"^[0-9]{1,3}$")] | None = None
    paymentAccAge: Date | None = None
    paymentAccInd: Codes5 | None = None
    shipAddressUsage: Date | None = None
    shipAddressUsageInd: Codes4 | None = None
    shipNameIndicator: Codes2 | None = None
    suspiciousAccActivity: Codes2 | None = None


class MerchantRiskIndicator(Nested):
    deliveryEmailAddress: Email | None = None
    deliveryTimeframe: Codes4 | None = None
    giftCardAmount: Annotated[str, _p(r"^[0-9]{1,15}$")] | None = None  # major units
    giftCardCount: Annotated[str, _p(r"^[0-9]{2}$")] | None = None
    giftCardCurr: Digits3 | None = None
    preOrderDate: Date | None = None
    preOrderPurchaseInd: Codes2 | None = None
    reorderItemsInd: Codes2 | None = None
    shipIndicator: Codes7 | None = None


DsOrEmv2 = Annotated[str, _p(r"^[0-9]{2}$")]  # the per-version range is in VERSION_CODES
AuthData = Annotated[str, StringConstraints(min_length=1, max_length=20000)]


class RequestorAuthenticationInfo(Nested):
    """How the cardholder signed in at the requestor. Every member is optional: the Visa test suite
    sends an empty object (docs/emv-3ds.md §9.1a), and the public tables mark each one optional."""

    threeDSReqAuthMethod: DsOrEmv2 | None = None
    threeDSReqAuthTimestamp: Timestamp | None = None
    # A string up to 2.2.0, a JSON value in 2.3.1 (version_errors); at most 20,000 characters.
    threeDSReqAuthData: AuthData | JsonObject | None = None


class PriorAuthenticationInfo(Nested):
    """A previous 3-D Secure authentication of the same cardholder; threeDSReqPriorRef is that
    transaction's acsTransID, which a 3RI AReq uses to point at it (docs/emv-3ds.md §1.6). Every
    member is optional, as for RequestorAuthenticationInfo."""

    threeDSReqPriorAuthMethod: DsOrEmv2 | None = None
    threeDSReqPriorAuthTimestamp: Timestamp | None = None
    threeDSReqPriorRef: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    threeDSReqPriorAuthData: AuthData | None = None


class DeviceRenderOptions(Nested):
    """App channel: what the 3DS SDK can display."""

    sdkInterface: Codes3
    sdkUiType: Annotated[list[DsOrEmv2], Field(min_length=1, max_length=7)]


class EphemeralKey(Nested):
    """App channel: the SDK's ephemeral public key, a JWK on P-256 (docs/emv-3ds.md §7.3)."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: Annotated[str, _p(r"^[A-Za-z0-9_-]{43}$")]
    y: Annotated[str, _p(r"^[A-Za-z0-9_-]{43}$")]


class RecurringInd(Nested):
    """2.3.1: whether the recurring amount and frequency are fixed (01) or vary (02)."""

    amountInd: Codes2
    frequencyInd: Codes2 | None = None


# (object, member) -> version -> the two-digit codes allowed (80-99 is DS use everywhere).
_DS = tuple(range(80, 100))
VERSION_CODES: dict[tuple[str, str], dict[str, frozenset[str]]] = {
    ("threeDSRequestorAuthenticationInfo", "threeDSReqAuthMethod"): {
        "2.1.0": frozenset(f"{n:02d}" for n in (*range(1, 7), *_DS)),
        "2.2.0": frozenset(f"{n:02d}" for n in (*range(1, 9), *_DS)),
        "2.3.1": frozenset(f"{n:02d}" for n in (*range(1, 11), *_DS)),
    },
    ("threeDSRequestorPriorAuthenticationInfo", "threeDSReqPriorAuthMethod"): {
        "2.1.0": frozenset(f"{n:02d}" for n in (*range(1, 5), *_DS)),
        "2.2.0": frozenset(f"{n:02d}" for n in (*range(1, 5), *_DS)),
        "2.3.1": frozenset(f"{n:02d}" for n in (*range(1, 6), *_DS)),
    },
    ("deviceRenderOptions", "sdkUiType"): {
        "2.1.0": frozenset(f"{n:02d}" for n in range(1, 6)),
        "2.2.0": frozenset(f"{n:02d}" for n in range(1, 6)),
        "2.3.1": frozenset(f"{n:02d}" for n in range(1, 8)),
    },
}


def version_errors(areq: Any) -> list[str]:
    """The nested members whose value this AReq's version does not define, as element paths."""
    version = areq.messageVersion
    bad: list[str] = []
    for (parent, member), allowed in VERSION_CODES.items():
        obj = getattr(areq, parent, None)
        value = getattr(obj, member, None) if obj is not None else None
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if item not in allowed[version]:
                path = f"{parent}.{member}" + (f".{index}" if isinstance(value, list) else "")
                bad.append(path)
    auth = areq.threeDSRequestorAuthenticationInfo
    if auth is not None and isinstance(auth.threeDSReqAuthData, dict) and version != "2.3.1":
        bad.append("threeDSRequestorAuthenticationInfo.threeDSReqAuthData")  # a JSON value from 2.3.1
    return bad
