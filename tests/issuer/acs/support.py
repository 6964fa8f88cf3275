"""Helpers of the ACS tests: public AReq vectors as the DS forwards them, posting to the endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import Client

from guichet.issuer.cards.models import Cardholder
from guichet.issuer.cards.services import epin_set
from tests.support.factories import make_cardholder, make_pan

VECTORS = Path(__file__).parent / "vectors"
ACS_TRANS_ID = "0b3e5a8e-4f7c-4a55-9d0e-2f1c3b6a7d88"
# The DS adds these three elements to the 3DS Server's AReq before forwarding it (docs/emv-3ds.md §1.1).
DS_FIELDS = {
    "dsTransID": "d3e8aae9-b188-4305-9f4b-4db0baae1a00",
    "dsReferenceNumber": "DSServerRef123456",
    "dsURL": "https://ds.example.test/rreq",
}
VISA_PAN = "4970100000000006"  # Luhn-valid, Visa range
MASTERCARD_PAN = "5137000000000005"  # Luhn-valid, Mastercard range


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{name}.json").read_text())


def areq_220(**changes: Any) -> dict[str, Any]:
    """The Visa 2.2.0 browser AReq (docs/emv-3ds.md §9.1a) with the DS's elements; `...` drops an element."""
    message = vector("visa-220-107-areq") | DS_FIELDS | changes
    return {key: value for key, value in message.items() if value is not ...}


def areq_210(**changes: Any) -> dict[str, Any]:
    """The Mir 2.1.0 browser AReq (docs/emv-3ds.md §9.3a) with the DS's elements."""
    message = vector("mir-1-6-areq") | DS_FIELDS | changes
    return {key: value for key, value in message.items() if value is not ...}


def areq_app(**changes: Any) -> dict[str, Any]:
    """The UL test platform's app AReq, 2.1.0 non-payment (docs/emv-3ds.md §9.8), with the DS's elements."""
    message = vector("ul-210-app-areq") | DS_FIELDS | changes
    return {key: value for key, value in message.items() if value is not ...}


BROWSER_ONLY = (
    "browserAcceptHeader", "browserUserAgent", "browserLanguage", "browserJavascriptEnabled",
    "browserJavaEnabled", "browserColorDepth", "browserScreenHeight", "browserScreenWidth", "browserTZ",
    "browserIP", "threeDSCompInd", "notificationURL", "threeDSRequestorAuthenticationInd",
    "threeDSRequestorChallengeInd",
)  # fmt: skip


def areq_3ri(**changes: Any) -> dict[str, Any]:
    """The Visa 2.2.0 AReq (docs/emv-3ds.md §9.1a) as a 3RI recurring payment: no browser elements,
    threeRIInd 01 (its recurringExpiry and recurringFrequency are already there)."""
    browser_free = dict.fromkeys(BROWSER_ONLY, ...)
    return areq_220(**(browser_free | {"deviceChannel": "03", "threeRIInd": "01"} | changes))


def areq_231(**changes: Any) -> dict[str, Any]:
    """The Visa 2.2.0 browser AReq carried over to 2.3.1: the challenge indicator becomes an array."""
    return areq_220(**({"messageVersion": "2.3.1", "threeDSRequestorChallengeInd": ["04"]} | changes))


def post_areq(client: Client, message: dict[str, Any] | bytes) -> dict[str, Any]:
    """POST an AReq as the DS does; the answer must be 200 JSON."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    response = client.post("/3ds/areq", data=body, content_type="application/json")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/json"
    answer: dict[str, Any] = json.loads(response.content)
    return answer


def enrolled_holder(pan: str | None = None, *, epin: str | None = "1234") -> tuple[Cardholder, str]:
    """A cardholder with one card (and an ePin unless `epin=None`); returns it and the PAN."""
    pan = pan or make_pan()
    holder = make_cardholder(pans=[pan])
    if epin is not None:
        epin_set(cardholder=holder, epin=epin, confirmation=epin, ip="127.0.0.1")
    return holder, pan
