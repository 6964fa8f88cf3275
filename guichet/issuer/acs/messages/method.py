"""The 3DS Method's `threeDSMethodData` form field (docs/emv-3ds.md §7.1) and its parsing.

The requestor posts base64url(JSON `{"threeDSServerTransID", "threeDSMethodNotificationURL"}`) to the
threeDSMethodURL; the ACS posts base64url(JSON `{"threeDSServerTransID"}`) back to the notification
URL. Published examples come padded and unpadded, one in the standard base64 alphabet: all are read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated

from pydantic import ConfigDict, StringConstraints, ValidationError

from guichet.issuer.acs.messages.fields import URL_PATTERN, Uuid, WireModel

# About 200 characters in practice (a UUID and a URL of at most 256 characters, base64-encoded).
MAX_METHOD_DATA_CHARS = 2048
_BASE64 = re.compile(r"[A-Za-z0-9_+/-]*={0,2}")


class MethodDataError(ValueError):
    """threeDSMethodData that cannot be used; the text says which part is wrong (never its content)."""


class MethodData(WireModel):
    # A requestor may add its own members: they are not ours to refuse.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    threeDSServerTransID: Uuid
    threeDSMethodNotificationURL: Annotated[str, StringConstraints(pattern=URL_PATTERN, max_length=256)]


def method_data_decode(field: str) -> MethodData:
    """The form field → MethodData; raises MethodDataError (bad base64, not JSON, a member missing or
    malformed). The notification URL's egress check is the service's (guichet.issuer.acs.method)."""
    text = field.strip()
    if not text:
        raise MethodDataError("threeDSMethodData is missing")
    if len(text) > MAX_METHOD_DATA_CHARS or not _BASE64.fullmatch(text):
        raise MethodDataError("threeDSMethodData is not base64url")
    stripped = text.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MethodDataError("threeDSMethodData is not base64url JSON") from exc
    if not isinstance(data, dict):
        raise MethodDataError("threeDSMethodData is not a JSON object")
    try:
        return MethodData.model_validate(data)
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        missing = any(e["type"] == "missing" for e in exc.errors())
        raise MethodDataError(
            f"threeDSMethodData: {'missing' if missing else 'invalid'} {', '.join(names)}"
        ) from None


def method_data_encode(*, three_ds_server_trans_id: str) -> str:
    """What the ACS posts back to the notification URL: base64url JSON without padding."""
    body = json.dumps({"threeDSServerTransID": three_ds_server_trans_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode("ascii")
