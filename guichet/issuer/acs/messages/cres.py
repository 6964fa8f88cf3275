"""The final browser CRes (docs/emv-3ds.md §3.5), posted via the cardholder's browser to notificationURL."""

from __future__ import annotations

from typing import Literal

from guichet.issuer.acs.messages.fields import MessageExtensions, MessageVersion, Uuid, WireModel


class CRes(WireModel):
    messageType: Literal["CRes"] = "CRes"
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    # "The Final CRes message can contain only a value of Y or N" (docs/emv-3ds.md §2.2).
    transStatus: Literal["Y", "N"]
    # Tagged app-only in one table, yet every browser example carries it (docs/emv-3ds.md §3.5).
    challengeCompletionInd: Literal["Y"] = "Y"
    messageExtension: MessageExtensions | None = None
