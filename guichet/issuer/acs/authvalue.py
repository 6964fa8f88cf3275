"""The authentication value (CAVV / AAV) and the ECI, per card scheme.

A 20-byte value, base64 (28 characters), sent in the ARes (frictionless) or the RReq (challenge) and
checked by the issuer's authorisation system. The real scheme algorithms (Visa CAVV v7, Mastercard
SPA2) are proprietary and run in an HSM with scheme keys; these are Guichet's own layouts in the
same spirit (docs/emv-3ds.md §8), MAC-ed with HMAC-SHA256 under a key derived from GUICHET_HMAC_KEY with a
label per scheme and key indicator. An issuer replaces one by registering its own `AvAlgorithm`.

Both layouts carry, in clear, what the verifier must know to recompute the MAC (result code, how the
cardholder was authenticated, key indicator, a transaction number); the MAC also covers the PAN, the
ECI, the purchase amount and currency, which the authorisation message carries itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from typing import ClassVar, Protocol

from guichet.core import crypto

LENGTH = 20


class Method:
    """How the cardholder was authenticated (the second-factor code of the Visa layout)."""

    STATIC = "01"  # the ePin alone
    SMS_OTP = "02"  # the SMS code (alone, or after the ePin)
    ATTEMPTS = "98"  # attempts processing: no authentication performed
    FRICTIONLESS = "99"  # risk-based, no challenge


@dataclass(frozen=True)
class AvInputs:
    """What the value is computed over. `amount` in minor units and `currency` ISO 4217 numeric
    ("" for a non-payment authentication without purchase)."""

    pan: str
    trans_status: str  # Y, A or I
    method: str  # a Method code
    acs_trans_id: str
    eci: str
    amount: str = ""
    currency: str = ""
    message_version: str = "2.2.0"
    merchant_name: str = ""


@dataclass(frozen=True)
class Decoded:
    """What a valid value says about the authentication."""

    scheme: str
    trans_status: str
    method: str
    key_indicator: int
    transaction_number: str  # hex


class AvAlgorithm(Protocol):
    scheme: str

    def eci(self, trans_status: str, *, message_category: str = "01") -> str:
        """The ECI for a transStatus ("" when the scheme sends none: N, U, R, C)."""

    def compute(self, inputs: AvInputs) -> str:
        """The 28-character base64 value for a Y, A or I outcome."""

    def verify(self, value: str, *, pan: str, eci: str, amount: str, currency: str) -> Decoded | None:
        """The decoded value when its MAC is right for these fields, else None (never raises)."""


def _mac(
    scheme: str, key_indicator: int, header: bytes, *, pan: str, eci: str, amount: str, currency: str
) -> bytes:
    # keyed_hash derives its key from GUICHET_HMAC_KEY with HKDF, label "guichet/acs-av/<scheme>/k<NN>".
    digest = crypto.keyed_hash(
        f"acs-av/{scheme}/k{key_indicator:02d}", header.hex(), pan, eci, amount, currency
    )
    return bytes.fromhex(digest)


def _decode(value: str) -> bytes | None:
    if not isinstance(value, str) or len(value) != 28:
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(raw) != LENGTH or base64.b64encode(raw).decode() != value:
        return None  # one canonical spelling only
    return raw


def _bcd(digits: str) -> bytes:
    return bytes.fromhex(digits)


def _protocol_nibble(version: str) -> int:
    return {"2.1.0": 1, "2.2.0": 2, "2.3.1": 3}.get(version, 0)


def _transaction_number(acs_trans_id: str, digits: int) -> str:
    return str(uuid.UUID(acs_trans_id).int % 10**digits).zfill(digits)


class VisaStyleCavv:
    """Visa-style CAVV layout (own design after the public CAVV usage-3 table, docs/emv-3ds.md §8.2).

    | bytes | content |
    | 0 | authentication results code: 0 Y, 7 A, 2/3/4 I (TRA performed / data only / SCA performed) |
    | 1 | second-factor code (`Method`): 01 ePin, 02 SMS code, 98 attempts, 99 frictionless |
    | 2 | key indicator (01) |
    | 3-10 | transaction number, 16 BCD digits (from acsTransID) |
    | 11 | high nibble layout version (1), low nibble 3DS version (1 2.1.0, 2 2.2.0, 3 2.3.1) |
    | 12-19 | MAC: HMAC-SHA256(key, bytes 0-11, PAN, ECI, amount, currency), first 8 bytes |
    """

    scheme = "visa"
    KEY_INDICATOR: ClassVar[int] = 1
    RESULTS: ClassVar[dict[str, int]] = {"Y": 0x00, "A": 0x07, "I": 0x03}
    ECI: ClassVar[dict[str, str]] = {"Y": "05", "A": "06", "I": "07"}

    def eci(self, trans_status: str, *, message_category: str = "01") -> str:  # noqa: ARG002 (other schemes use it)
        return self.ECI.get(trans_status, "")

    def compute(self, inputs: AvInputs) -> str:
        header = (
            bytes([self.RESULTS[inputs.trans_status], int(inputs.method), self.KEY_INDICATOR])
            + _bcd(_transaction_number(inputs.acs_trans_id, 16))
            + bytes([0x10 | _protocol_nibble(inputs.message_version)])
        )
        mac = _mac(
            self.scheme, self.KEY_INDICATOR, header,
            pan=inputs.pan, eci=inputs.eci, amount=inputs.amount, currency=inputs.currency,
        )  # fmt: skip
        return base64.b64encode(header + mac[:8]).decode()

    def verify(self, value: str, *, pan: str, eci: str, amount: str, currency: str) -> Decoded | None:
        raw = _decode(value)
        if raw is None:
            return None
        header, mac = raw[:12], raw[12:]
        statuses = {code: status for status, code in self.RESULTS.items()}
        if raw[0] not in statuses or raw[2] == 0 or raw[11] >> 4 != 1:
            return None
        expected = _mac(self.scheme, raw[2], header, pan=pan, eci=eci, amount=amount, currency=currency)
        if not crypto.equals(mac.hex(), expected[:8].hex()):
            return None
        return Decoded(
            scheme=self.scheme,
            trans_status=statuses[raw[0]],
            method=f"{raw[1]:02d}",
            key_indicator=raw[2],
            transaction_number=header[3:11].hex(),
        )


class MastercardStyleAav:
    """Mastercard-style AAV layout (own design after the public SPA AAV table, docs/emv-3ds.md §8.3).

    | bytes | content |
    | 0 | control byte: 0x8C authenticated (Y), 0x86 attempts (A), 0x8E informational (I) |
    | 1-4 | first 4 bytes of SHA-256 of the merchant name (binds the merchant) |
    | 5 | high nibble key indicator (1), low nibble method: 0 none, 1 ePin, 2 SMS code |
    | 6-9 | transaction sequence number (from acsTransID) |
    | 10 | high nibble layout version (1), low nibble 3DS version |
    | 11-19 | MAC: HMAC-SHA256(key, bytes 0-10, PAN, ECI, amount, currency), first 9 bytes |
    """

    scheme = "mastercard"
    KEY_INDICATOR: ClassVar[int] = 1
    CONTROL: ClassVar[dict[str, int]] = {"Y": 0x8C, "A": 0x86, "I": 0x8E}
    ECI: ClassVar[dict[str, str]] = {"Y": "02", "A": "01", "I": "06"}
    METHODS: ClassVar[dict[str, int]] = {Method.STATIC: 1, Method.SMS_OTP: 2}

    def eci(self, trans_status: str, *, message_category: str = "01") -> str:
        if message_category == "02" and trans_status == "Y":
            return "N2"  # non-payment authenticated (docs/emv-3ds.md §2.5)
        return self.ECI.get(trans_status, "")

    def compute(self, inputs: AvInputs) -> str:
        merchant = hashlib.sha256(inputs.merchant_name.encode()).digest()[:4]
        sequence = int(_transaction_number(inputs.acs_trans_id, 9)).to_bytes(4, "big")
        header = (
            bytes([self.CONTROL[inputs.trans_status]])
            + merchant
            + bytes([self.KEY_INDICATOR << 4 | self.METHODS.get(inputs.method, 0)])
            + sequence
            + bytes([0x10 | _protocol_nibble(inputs.message_version)])
        )
        mac = _mac(
            self.scheme, self.KEY_INDICATOR, header,
            pan=inputs.pan, eci=inputs.eci, amount=inputs.amount, currency=inputs.currency,
        )  # fmt: skip
        return base64.b64encode(header + mac[:9]).decode()

    def verify(self, value: str, *, pan: str, eci: str, amount: str, currency: str) -> Decoded | None:
        raw = _decode(value)
        if raw is None:
            return None
        header, mac = raw[:11], raw[11:]
        statuses = {code: status for status, code in self.CONTROL.items()}
        key_indicator, method = raw[5] >> 4, raw[5] & 0x0F
        methods = {code: name for name, code in self.METHODS.items()} | {0: Method.FRICTIONLESS}
        if raw[0] not in statuses or key_indicator == 0 or method not in methods or raw[10] >> 4 != 1:
            return None
        expected = _mac(
            self.scheme, key_indicator, header, pan=pan, eci=eci, amount=amount, currency=currency
        )
        if not crypto.equals(mac.hex(), expected[:9].hex()):
            return None
        return Decoded(
            scheme=self.scheme,
            trans_status=statuses[raw[0]],
            method=methods[method],
            key_indicator=key_indicator,
            transaction_number=header[6:10].hex(),
        )


ALGORITHMS: dict[str, AvAlgorithm] = {"visa": VisaStyleCavv(), "mastercard": MastercardStyleAav()}


def scheme_of(pan: str) -> str:
    """Mastercard for 51-55 and 2221-2720, Visa-style (ECI 05/06/07) for every other PAN."""
    if pan[:2] in ("51", "52", "53", "54", "55") or "2221" <= pan[:4] <= "2720":
        return "mastercard"
    return "visa"


def algorithm_for(scheme: str) -> AvAlgorithm:
    return ALGORITHMS[scheme]
