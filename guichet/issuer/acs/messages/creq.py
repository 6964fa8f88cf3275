"""The browser CReq (docs/emv-3ds.md §3.3) and its parsing from the `creq` form field (§3.2).

The field carries base64url(JSON), padded or not. Parsing never raises: any input gives a ``CReq``
or the ``Erro`` to answer with: 101 not decodable / not JSON / not a CReq, 102 unsupported version,
201 required element missing, 202 critical extension, 203 bad format, 204 duplicate element.
Whether the CReq matches a live transaction is the challenge service's business.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import ConfigDict, ValidationError

from guichet.issuer.acs.messages.erro import Erro
from guichet.issuer.acs.messages.fields import (
    SUPPORTED_VERSIONS,
    MessageExtensions,
    MessageVersion,
    Uuid,
    WireModel,
)
from guichet.issuer.acs.messages.validation import Refused, areq_erro, json_load

# A browser CReq is about 200 bytes; anything far larger is not one.
MAX_CREQ_CHARS = 16 * 1024
ChallengeWindowSize = Literal["01", "02", "03", "04", "05"]
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class CReq(WireModel):
    # App-channel elements (sdkTransID, challengeDataEntry, …) mean nothing in a browser CReq: ignored.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    messageType: Literal["CReq"]
    messageVersion: MessageVersion
    threeDSServerTransID: Uuid
    acsTransID: Uuid
    challengeWindowSize: ChallengeWindowSize
    messageExtension: MessageExtensions | None = None


def b64url_decode(text: str) -> bytes:
    """Base64url with or without its '=' padding (docs/emv-3ds.md §3.2: receivers accept both)."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as the CRes must be sent (docs/emv-3ds.md §3.2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _load(field: str) -> tuple[Any, list[str]]:
    if len(field) > MAX_CREQ_CHARS:
        raise Refused("101", f"creq exceeds {MAX_CREQ_CHARS} characters")
    try:
        raw = b64url_decode(field.strip())
    except (ValueError, binascii.Error) as exc:
        raise Refused("101", "creq is not base64url") from exc
    return json_load(raw, not_json="creq is not JSON")


def _validate(data: Any, duplicates: list[str]) -> CReq:
    if not isinstance(data, dict):
        raise Refused("101", "creq is not a JSON object")
    if data.get("messageType") != "CReq":
        raise Refused("101", "messageType")
    if "messageVersion" not in data:
        raise Refused("201", "messageVersion")
    if "messageVersion" in duplicates:  # which of the two is meant cannot be known: not a 102
        raise Refused("204", "messageVersion")
    if not isinstance(data["messageVersion"], str):
        raise Refused("203", "messageVersion")
    if data["messageVersion"] not in SUPPORTED_VERSIONS:
        raise Refused("102", "messageVersion")
    if duplicates:
        raise Refused("204", ",".join(duplicates))
    nulls = [key for key, value in data.items() if value is None]
    if nulls:
        raise Refused("203", ",".join(nulls))
    required = [name for name, field in CReq.model_fields.items() if field.is_required()]
    missing = [name for name in required if name not in data]
    if missing:
        raise Refused("201", ",".join(missing))
    try:
        creq = CReq.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        names = dict.fromkeys(".".join(str(p) for p in e["loc"]) for e in errors)
        code = "201" if any(e["type"] == "missing" for e in errors) else "203"
        raise Refused(code, ",".join(names)) from exc
    critical = [ext.id for ext in creq.messageExtension or () if ext.criticalityIndicator]
    if critical:  # no message extension is recognised by this ACS
        raise Refused("202", ",".join(critical))
    return creq


def creq_erro(*, code: str, detail: str, data: Any = None) -> Erro:
    """The Erro answering a CReq (errorMessageType CReq), echoing its usable identifiers."""
    acs_trans_id = data.get("acsTransID") if isinstance(data, dict) else None
    usable = isinstance(acs_trans_id, str) and re.fullmatch(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", acs_trans_id
    )
    return areq_erro(
        code=code,
        detail=detail,
        data=data,
        acs_trans_id=acs_trans_id if usable else None,
        message_type="CReq",
    )


def parse_creq(field: str) -> tuple[CReq | Erro, Any]:
    """The `creq` form field → (CReq or Erro, the decoded JSON when there was one). Never raises."""
    data: Any = None
    try:
        data, duplicates = _load(field)
        return _validate(data, duplicates), data
    except Refused as refused:
        data = data if data is not None else refused.data
        return creq_erro(code=refused.code, detail=refused.detail, data=data), data
    except Exception:  # noqa: BLE001 (a bug here must still give the requestor an Erro, not a 5xx)
        return creq_erro(code="404", detail="CReq validation failure", data=data), data
