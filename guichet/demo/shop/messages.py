"""The messages the 3DS Server and DS simulators read and write (docs/emv-3ds.md §3.3, §3.5, §4.2, §4.3).

They are the counterpart of the ACS: the DS simulator checks every RReq it receives against these
schemas on its own, so a mistake in the ACS shows up in the demo instead of being mirrored.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal, Self

from pydantic import StringConstraints, ValidationError, model_validator

from guichet.issuer.acs.messages.fields import MessageExtensions, Uuid, WireModel

# The demo's 3DS Server speaks 2.1.0 and 2.2.0 (the ACS also answers 2.3.1): a 2.3.1 RReq gets 102.
DEMO_VERSIONS: tuple[str, ...] = ("2.1.0", "2.2.0")
MessageVersion = Literal["2.1.0", "2.2.0"]

Two = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
Reason = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-9]|2[0-6]|[89][0-9])$")]
AuthType = Annotated[str, StringConstraints(pattern=r"^(0[1-4]|[89][0-9])$")]
AuthMethod = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[01]|[89][0-9])$")]
AuthValue = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z0-9+/]{26,28}={0,2}$", min_length=28, max_length=28)
]
Eci = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")]
WindowSize = Literal["01", "02", "03", "04", "05"]
# 2.1.0: 01, 04-08; 2.2.0: 01, 03-08; 80-99 DS use (docs/emv-3ds.md §4.2).
CANCEL_CODES = {
    "2.1.0": {"01", "04", "05", "06", "07", "08"},
    "2.2.0": {"01", "03", "04", "05", "06", "07", "08"},
}


class CReq(WireModel):
    messageType: Literal["CReq"] = "CReq"
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    challengeWindowSize: WindowSize
    messageExtension: MessageExtensions | None = None


class CRes(WireModel):
    """The final CRes of the browser channel: Y or N only (docs/emv-3ds.md §2.2, §3.5)."""

    messageType: Literal["CRes"]
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    transStatus: Literal["Y", "N"]
    challengeCompletionInd: Literal["Y"] | None = None
    messageExtension: MessageExtensions | None = None


class RReq(WireModel):
    messageType: Literal["RReq"]
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    dsTransID: Uuid
    messageCategory: Annotated[str, StringConstraints(pattern=r"^(0[1-2]|[89][0-9])$")]
    transStatus: Literal["Y", "N", "U", "A", "R"] | None = None
    transStatusReason: Reason | None = None
    authenticationType: AuthType | None = None
    authenticationMethod: AuthMethod | None = None
    authenticationValue: AuthValue | None = None
    eci: Eci | None = None
    interactionCounter: Two | None = None
    challengeCancel: Two | None = None
    acsDecConInd: Literal["Y", "N"] | None = None
    whiteListStatus: Literal["Y", "N", "E", "P", "R", "U"] | None = None
    whiteListStatusSource: Annotated[str, StringConstraints(pattern=r"^(0[1-3]|[89][0-9])$")] | None = None
    messageExtension: MessageExtensions | None = None

    @model_validator(mode="after")
    def _conditional_rules(self) -> Self:
        """Conditional inclusion (docs/emv-3ds.md §4.2); each failure names the element for errorDetail."""
        payment = self.messageCategory == "01"
        status, v210 = self.transStatus, self.messageVersion == "2.1.0"
        if payment and status is None:
            raise _Missing("transStatus")
        if payment and status in ("N", "U", "R") and self.transStatusReason is None:
            raise _Missing("transStatusReason")
        if payment and status in ("Y", "A") and self.authenticationValue is None:
            raise _Missing("authenticationValue")
        if status in ("Y", "N") and self.authenticationType is None:
            raise _Missing("authenticationType")
        if self.interactionCounter is None and (v210 or self.acsDecConInd != "Y"):
            raise _Missing("interactionCounter")
        if v210 and (self.authenticationMethod is not None or self.acsDecConInd is not None):
            raise _Format("authenticationMethod" if self.authenticationMethod else "acsDecConInd")
        if self.challengeCancel is not None and not (
            self.challengeCancel in CANCEL_CODES[self.messageVersion] or self.challengeCancel >= "80"
        ):
            raise _Format("challengeCancel")
        if self.transStatusReason == "14" and self.challengeCancel not in ("04", "05"):
            raise _Format("challengeCancel")
        if (self.whiteListStatus is None) != (self.whiteListStatusSource is None):
            raise _Missing("whiteListStatusSource" if self.whiteListStatus else "whiteListStatus")
        return self


class RRes(WireModel):
    messageType: Literal["RRes"] = "RRes"
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    dsTransID: Uuid
    resultsStatus: Literal["01", "02", "03"]


class _Missing(ValueError):
    def __init__(self, element: str) -> None:
        super().__init__(f"missing:{element}")


class _Format(ValueError):
    def __init__(self, element: str) -> None:
        super().__init__(f"format:{element}")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as CReq and CRes travel (docs/emv-3ds.md §3.2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Padded or not: receivers must take both (docs/emv-3ds.md §3.2). Raises ValueError on anything else."""
    cleaned = text.strip()
    if not cleaned or any(c not in _B64URL for c in cleaned.rstrip("=")):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(cleaned.rstrip("=") + "=" * (-len(cleaned.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def error_elements(exc: ValidationError) -> tuple[str, str]:
    """(errorCode, errorDetail) for a failed model: 201 for a missing element, else 203."""
    missing: list[str] = []
    bad: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error.get("ctx", {}).get("error", ""))
        if error["type"] == "missing":
            missing.append(".".join(str(p) for p in error["loc"]))
        elif message.startswith("missing:"):
            missing.append(message.removeprefix("missing:"))
        elif message.startswith("format:"):
            bad.append(message.removeprefix("format:"))
        elif error["loc"]:
            bad.append(".".join(str(p) for p in error["loc"]))
        else:  # a rule across elements: its own words name them
            bad.append(str(error["msg"]).removeprefix("Value error, "))
    if missing:
        return "201", ",".join(dict.fromkeys(missing))
    return "203", ",".join(dict.fromkeys(bad))


def load_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object, or ValueError (not JSON, duplicate element, not an object)."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                duplicates.append(key)
            obj[key] = value
        return obj

    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
    except (ValueError, RecursionError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if duplicates:
        raise DuplicateElement(",".join(dict.fromkeys(duplicates)))
    return data


class DuplicateElement(ValueError):
    pass
