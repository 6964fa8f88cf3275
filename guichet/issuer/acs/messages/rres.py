"""The RRes the DS returns for our RReq (docs/emv-3ds.md §4.3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

from guichet.issuer.acs.messages.fields import MessageExtensions, MessageVersion, Uuid, WireModel

# 01 received, 02 CReq not sent, 03 ARes challenge data not delivered; 80-99 DS use.
ResultsStatus = Annotated[str, StringConstraints(pattern=r"^(0[1-3]|[89][0-9])$")]


class RRes(WireModel):
    # A DS may add elements of later versions: they are ignored, not a reason to resend.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    messageType: Literal["RRes"]
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    dsTransID: Uuid
    resultsStatus: ResultsStatus
    sdkTransID: Uuid | None = None
    messageExtension: MessageExtensions | None = None
