"""The Erro message (docs/emv-3ds.md §5)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from guichet.issuer.acs.messages.fields import Text2048, Uuid, WireModel

ErrorCode = Literal[
    "101", "102", "103", "201", "202", "203", "204", "205", "206", "207",
    "301", "302", "303", "304", "305", "306", "307", "402", "403", "404", "405",
]  # fmt: skip

# Protocol text of each code (docs/emv-3ds.md §5.2); carried in errorDescription, never shown to a cardholder.
ERROR_DESCRIPTIONS: dict[str, str] = {
    "101": "Message Received Invalid",
    "102": "Message Version Number Not Supported",
    "103": "Sent Messages Limit Exceeded",
    "201": "Required Data Element Missing",
    "202": "Critical Message Extension Not Recognised",
    "203": "Format of one or more Data Elements is Invalid according to the Specification",
    "204": "Duplicate Data Element",
    "205": "Overlap in the card ranges provided by the DS in the PRes message",
    "206": "Action is not possible for the card range",
    "207": "Data Element value is reserved and not recognised",
    "301": "Transaction ID Not Recognised",
    "302": "Data Decryption Failure",
    "303": "Access Denied, Invalid Endpoint",
    "304": "ISO Code Invalid",
    "305": "Transaction data not valid",
    "306": "Merchant Category Code (MCC) Not Valid for Payment System",
    "307": "Serial Number not Valid",
    "402": "Transaction Timed Out",
    "403": "Transient System Failure",
    "404": "Permanent System Failure",
    "405": "System Connection Failure",
}

MessageTypeName = Literal["AReq", "ARes", "CReq", "CRes", "PReq", "PRes", "RReq", "RRes", "Erro"]


class Erro(WireModel):
    messageType: Literal["Erro"] = "Erro"
    # The erroneous message's version if supported, else one the sender supports (docs/emv-3ds.md §5.1).
    messageVersion: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", max_length=8)]
    errorCode: ErrorCode
    errorComponent: Literal["C", "S", "D", "A"]
    errorDescription: Text2048
    errorDetail: Text2048
    errorMessageType: MessageTypeName | None = None
    threeDSServerTransID: Uuid | None = None
    acsTransID: Uuid | None = None
    dsTransID: Uuid | None = None
    sdkTransID: Uuid | None = None
