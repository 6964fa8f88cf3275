"""Wire-level field types shared by the EMV 3DS message models (formats: docs/emv-3ds.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SUPPORTED_VERSIONS: tuple[str, ...] = ("2.1.0", "2.2.0", "2.3.1")
MessageVersion = Literal["2.1.0", "2.2.0", "2.3.1"]
# The version the card ranges report as the ACS's end protocol version (docs/emv-3ds.md §7.2).
LATEST_VERSION = SUPPORTED_VERSIONS[-1]

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# http(s) URL without whitespace; 2.1.0/2.2.0 do not require https (2.3.1 does, checked per version).
URL_PATTERN = r"^https?://[^\s/?#]+\S*$"
HTTPS_PATTERN = r"^https://[^\s/?#]+\S*$"

Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
# Empty strings are never valid on the wire: an absent element is omitted.
Text3 = Annotated[str, StringConstraints(min_length=1, max_length=3)]
Text11 = Annotated[str, StringConstraints(min_length=1, max_length=11)]
Text16 = Annotated[str, StringConstraints(min_length=1, max_length=16)]
Text32 = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Text35 = Annotated[str, StringConstraints(min_length=1, max_length=35)]
Text40 = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Text50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Text2048 = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Url256 = Annotated[str, StringConstraints(pattern=URL_PATTERN, max_length=256)]
Url2048 = Annotated[str, StringConstraints(pattern=URL_PATTERN, max_length=2048)]
YesNo = Literal["Y", "N"]
Digits3 = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
DsOrEmvCode = Annotated[str, StringConstraints(pattern=r"^(0[1-3]|[89][0-9])$")]
JsonObject = dict[str, Any]


class WireModel(BaseModel):
    """Strict: "01" stays a string, a JSON number is not accepted where the spec wants a string."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class MessageExtension(WireModel):
    """One messageExtension entry (docs/emv-3ds.md §1.2, messageExtension): all four members required,
    `data` a JSON object of at most 8,059 characters (checked by the message's validation)."""

    name: Text64
    id: Text64
    criticalityIndicator: bool
    data: JsonObject


# At most 10 entries in 2.1.0 and 2.2.0, 15 in 2.3.1 (the per-version limit is checked by validation).
MessageExtensions = Annotated[list[MessageExtension], Field(max_length=15)]
MAX_EXTENSIONS = {"2.1.0": 10, "2.2.0": 10, "2.3.1": 15}
