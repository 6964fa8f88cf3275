"""AReq parsing and validation: raw bytes in, an ``AReq`` or the ``Erro`` to answer with out.

Error codes follow docs/emv-3ds.md §1.5 and §5.2: 101 not JSON / not an AReq, 102 unsupported version,
201 required element missing, 202 critical extension not recognised, 203 bad format, 204 duplicate
element, 304 ISO code invalid. ``errorDetail`` names the offending element(s), comma-delimited.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from guichet.core.text import json_bad_path, json_scrubbed, json_text_may_be_bad, text_bad, text_clean
from guichet.issuer.acs.messages.areq import AReq
from guichet.issuer.acs.messages.erro import ERROR_DESCRIPTIONS, Erro
from guichet.issuer.acs.messages.fields import MAX_EXTENSIONS, SUPPORTED_VERSIONS, UUID_PATTERN
from guichet.issuer.acs.messages.nested import calendar_datetime
from guichet.issuer.acs.messages.nested import version_errors as nested_version_errors
from guichet.issuer.acs.messages.requirements import required, unknown_in_version, version_errors

# Real AReqs are a few kilobytes; an open ACS caps message extensions at 81,920 bytes (docs/emv-3ds.md §1.2).
MAX_AREQ_BYTES = 128 * 1024
FALLBACK_VERSION = "2.2.0"  # Erro version when the AReq's own is unusable (docs/emv-3ds.md §5.1)
MAX_DETAIL = 2048

# ISO codes the spec excludes for country and currency elements (docs/emv-3ds.md §1.2).
EXCLUDED_ISO_CODES = frozenset({*(str(n) for n in range(955, 965)), "999", "901"})
ISO_ELEMENTS = (
    "merchantCountryCode", "purchaseCurrency", "billAddrCountry", "shipAddrCountry",
    "recurringCurrency", "acquirerCountryCode",
)  # fmt: skip

FIELD_ORDER = {name: i for i, name in enumerate(AReq.model_fields)}


class Refused(Exception):
    """A message refused with an Erro: its errorCode, errorDetail and the parsed message if any."""

    def __init__(self, code: str, detail: str, data: Any = None) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.data = data  # the parsed message when there is one, to echo its ids in the Erro


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_load(raw: bytes, *, not_json: str) -> tuple[Any, list[str]]:
    """A message's JSON and the names of the keys it repeats (the DS's and the browser's messages
    must not). Raises Refused: 101 with `not_json` as detail, or 203 for elements holding U+0000, a lone
    surrogate or a non-character (guichet.core.text)."""
    duplicates: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)  # in C; the keys are only looked at again when some repeat
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen and key not in duplicates:
                    duplicates.append(key)
                seen.add(key)
        return obj

    try:
        text = raw.decode("utf-8")
        data = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise Refused("101", not_json) from exc
    bad = bad_elements(text, data)
    if bad:
        raise Refused("203", _names(bad), json_scrubbed(data))
    return data, duplicates


def _load(raw: bytes) -> tuple[Any, list[str]]:
    if len(raw) > MAX_AREQ_BYTES:
        raise Refused("101", f"message exceeds {MAX_AREQ_BYTES} bytes")
    return json_load(raw, not_json="message is not valid JSON")


def bad_elements(text: str, data: Any) -> list[str]:
    """Top-level elements holding a bad character anywhere (guichet.core.text): no field allows one,
    PostgreSQL's jsonb cannot store U+0000 nor UTF-8 a lone surrogate, so the message is refused (203)
    before anything is written, rather than failing at the INSERT as a false "database unavailable"."""
    if not isinstance(data, dict) or not json_text_may_be_bad(text):
        return []
    return [
        text_clean(k) or "(unnamed)" for k, v in data.items() if text_bad(k) or json_bad_path(v) is not None
    ]


def _names(names: Iterable[str]) -> str:
    unique = list(dict.fromkeys(names))
    return ",".join(unique)


def _in_model_order(names: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(names), key=lambda name: FIELD_ORDER.get(name, len(FIELD_ORDER)))


# pydantic names the member of a union it tried ("str", "list[constrained-str]", ...) in an error's
# location: not an element of the message, so not in errorDetail.
_UNION_TAG = re.compile(r"[\[\](), -]|^(str|bool|int|float|dict|list)$")


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if isinstance(part, int) or not _UNION_TAG.search(part))


def _null_paths(value: Any, prefix: str) -> list[str]:
    """Paths of the nulls in a message: at the top level, and inside its objects and arrays."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[str] = []
    for key, item in items:
        if item is None:
            found.append(f"{prefix}{key}")
        elif isinstance(item, dict | list):
            found += _null_paths(item, f"{prefix}{key}.")
    return found


def _valid_date(value: str) -> bool:
    return calendar_datetime(value) is not None


def _format_errors(areq: AReq) -> list[str]:
    """Rules a field type cannot say: calendar dates, ranges, IP syntax, values that differ by version."""
    bad: list[str] = []
    bad += version_errors(areq) + nested_version_errors(areq)
    if areq.purchaseDate is not None and not _valid_date(areq.purchaseDate):
        bad.append("purchaseDate")
    for name in ("recurringExpiry", "recurringDate"):
        value = getattr(areq, name)
        if value is not None and not _valid_date(value):
            bad.append(name)
    if areq.purchaseInstalData is not None and not 2 <= int(areq.purchaseInstalData) <= 999:
        bad.append("purchaseInstalData")
    if areq.threeDSRequestorDecMaxTime is not None and not 1 <= int(areq.threeDSRequestorDecMaxTime) <= 10080:
        bad.append("threeDSRequestorDecMaxTime")
    if areq.browserIP is not None:
        try:
            ipaddress.ip_address(areq.browserIP)
        except ValueError:
            bad.append("browserIP")
    extensions = areq.messageExtension or ()
    if len(extensions) > MAX_EXTENSIONS[areq.messageVersion]:
        bad.append("messageExtension")
    for index, extension in enumerate(extensions):
        if len(json.dumps(extension.data)) > 8059:
            bad.append(f"messageExtension.{index}.data")
    return sorted(bad, key=lambda name: FIELD_ORDER.get(name.split(".")[0], 0))


def _validate(data: Any, duplicates: list[str], *, may_hold_null: bool = True) -> AReq:
    if not isinstance(data, dict):
        raise Refused("101", "message is not a JSON object")
    if data.get("messageType") != "AReq":
        raise Refused("101", "messageType")
    if "messageVersion" not in data:
        raise Refused("201", "messageVersion")
    if "messageVersion" in duplicates:  # which of the two is meant cannot be known: not a 102
        raise Refused("204", "messageVersion")
    version = data["messageVersion"]
    if not isinstance(version, str):
        raise Refused("203", "messageVersion")
    if version not in SUPPORTED_VERSIONS:
        raise Refused("102", "messageVersion")
    if duplicates:
        raise Refused("204", _names(duplicates))
    # Walking every nested member costs about 60 µs; a text without the token `null` has none.
    nulls = _null_paths(data, "") if may_hold_null else []
    if nulls:  # an element is either omitted or carries a value, at every level
        raise Refused("203", _names(nulls))
    for key in unknown_in_version(data, version):
        del data[key]  # another version's element: unknown here, ignored like any other
    missing = [name for name in required(data, version) if name not in data]
    if missing:
        raise Refused("201", _names(_in_model_order(missing)))
    try:
        areq = AReq.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        nested_missing = [_loc(e["loc"]) for e in errors if e["type"] == "missing"]
        if nested_missing:
            raise Refused("201", _names(nested_missing)) from exc
        raise Refused("203", _names(_loc(e["loc"]) for e in errors)) from exc
    bad = _format_errors(areq)
    if bad:
        raise Refused("203", _names(bad))
    iso = [name for name in ISO_ELEMENTS if getattr(areq, name) in EXCLUDED_ISO_CODES]
    risk = areq.merchantRiskIndicator
    if risk is not None and risk.giftCardCurr in EXCLUDED_ISO_CODES:
        iso.append("merchantRiskIndicator.giftCardCurr")
    if iso:
        raise Refused("304", _names(iso))
    critical = [ext.id for ext in areq.messageExtension or () if ext.criticalityIndicator]
    if critical:  # this ACS recognises no message extension
        raise Refused("202", _names(critical))
    return areq


def _uuid_or_none(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, str) and re.fullmatch(UUID_PATTERN, value):
        return value
    return None


def areq_erro(
    *, code: str, detail: str, data: Any = None, acs_trans_id: str | None = None, message_type: str = "AReq"
) -> Erro:
    """The Erro the ACS answers with, echoing the AReq's identifiers and version when they are usable."""
    version = data.get("messageVersion") if isinstance(data, dict) else None
    return Erro.model_validate(
        {
            "messageType": "Erro",
            "messageVersion": version if version in SUPPORTED_VERSIONS else FALLBACK_VERSION,
            "errorCode": code,
            "errorComponent": "A",
            "errorDescription": ERROR_DESCRIPTIONS[code],
            "errorDetail": detail[:MAX_DETAIL] or "(unnamed element)",
            "errorMessageType": message_type,
            "threeDSServerTransID": _uuid_or_none(data, "threeDSServerTransID"),
            "acsTransID": acs_trans_id,
            "dsTransID": _uuid_or_none(data, "dsTransID"),
        }
    )


def parse_areq(raw: bytes, *, acs_trans_id: str | None = None) -> AReq | Erro:
    """Parse a DS's AReq; never raises: any input gives either a valid ``AReq`` or the ``Erro`` to send."""
    data: Any = None
    try:
        data, duplicates = _load(raw)
        return _validate(data, duplicates, may_hold_null=b"null" in raw)
    except Refused as refused:
        data = data if data is not None else refused.data
        return areq_erro(code=refused.code, detail=refused.detail, data=data, acs_trans_id=acs_trans_id)
    except Exception:  # noqa: BLE001 (a bug here must still answer the DS with an Erro, not a 5xx)
        return areq_erro(code="404", detail="AReq validation failure", data=data, acs_trans_id=acs_trans_id)
