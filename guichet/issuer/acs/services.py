"""The ACS's transactions as the challenge and the issuer see them: message log, outcome, verification.

The AReq itself is answered by answering.py (its steps) and store.py (its rows).

For the browser challenge (guichet.issuer.acs.challenge) and its RReq:
- `acs_transaction_get(*, acs_trans_id, for_update=False) -> AcsTransaction | None`
- `acs_message_log(*, transaction, kind, direction, body) -> AcsMessage` (masks the PAN)
- `acs_outcome(*, transaction, trans_status, method) -> AuthenticationProof` (eci + authenticationValue)
- `acs_challenge_contact(*, transaction) -> ChallengeContact` (cardholder, phone, ePin or SMS alone)
For the issuer's authorisation system: `acs_av_verify(*, pan, value, eci, amount, currency, ip)`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.core import clock
from guichet.core.masking import mask_pan
from guichet.issuer.acs.authvalue import AvInputs, Decoded, Method, algorithm_for, scheme_of
from guichet.issuer.acs.cardholder_info import language_of
from guichet.issuer.acs.messages.fields import LATEST_VERSION
from guichet.issuer.acs.method import method_for_range, method_url
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import card_pan

logger = logging.getLogger(__name__)

CHALLENGE_PATH = "/3ds/challenge"
AUTHENTICATION_TYPE_DYNAMIC = "02"  # the SMS code is a dynamic factor (docs/emv-3ds.md §2.4)
STATIC_PASSCODE, SMS_OTP = "01", "02"  # authenticationMethod codes (docs/emv-3ds.md §2.4)


def challenge_methods(*, sms_only: bool) -> list[str]:
    """2.3.1's authenticationMethod array for this ACS's challenge: the ePin (a static passcode) and
    the SMS code, or the SMS code alone for a cardholder without an ePin."""
    return [SMS_OTP] if sms_only else [STATIC_PASSCODE, SMS_OTP]


AV_STATUSES = frozenset("YAI")  # outcomes that carry an eci and an authenticationValue
SECRET_ELEMENTS = frozenset({"cardSecurityCode"})  # 2.3.1; never logged, not even masked
# The demo's DS simulator, under this server's URL (guichet/server/urls.py mounts the demo under /demo/).
DEMO_DS_PATH = "/demo/ds/"


# --- for the challenge ---------------------------------------------------------------------------


def acs_transaction_get(*, acs_trans_id: str | uuid.UUID, for_update: bool = False) -> AcsTransaction | None:
    """The transaction of an acsTransID (None when unknown or not a UUID).

    `for_update=True` locks the row for the rest of the current `transaction.atomic()` block: use it
    for every state change, so two requests (or a request and a timeout) cannot both move it.
    """
    try:
        key = acs_trans_id if isinstance(acs_trans_id, uuid.UUID) else uuid.UUID(str(acs_trans_id))
    except ValueError:
        return None
    rows = AcsTransaction.objects.select_related("card", "cardholder")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    return rows.filter(pk=key).first()


_CONTAINERS = (dict, list)


def masked(body: Any) -> Any:
    """A copy of a message with every acctNumber masked (first 6 and last 4) and secrets left out.

    Written for the AReq's hot path: a C-level copy of each object, then Python only for the few
    keys that need it (the DS's AReq has some forty elements, a handful of them nested).
    """
    if isinstance(body, dict):
        out = dict(body)
        for key in SECRET_ELEMENTS.intersection(out):
            del out[key]
        pan = out.get("acctNumber")
        if isinstance(pan, str):
            out["acctNumber"] = mask_pan(pan[:6], pan[-4:], len(pan))
        for key in [key for key, value in out.items() if isinstance(value, _CONTAINERS)]:
            out[key] = masked(out[key])
        return out
    if isinstance(body, list):
        return [masked(item) if isinstance(item, _CONTAINERS) else item for item in body]
    return body


def _message(transaction_: AcsTransaction, kind: str, direction: str, body: dict[str, Any]) -> AcsMessage:
    return AcsMessage(
        transaction=transaction_, kind=kind, direction=direction, body=masked(body), created_at=clock.now()
    )


def acs_message_log(
    *, transaction: AcsTransaction, kind: str, direction: str, body: dict[str, Any]
) -> AcsMessage:
    """Record a message received (`direction="in"`) or sent (`"out"`) for a transaction.

    `kind` is one of AcsMessage.Kind (AReq ARes CReq CRes RReq RRes Erro); `body` is the message as
    JSON (a dict); any acctNumber in it is masked before it is stored.
    """
    if kind not in AcsMessage.Kind.values or direction not in AcsMessage.Direction.values:
        raise ValueError(f"unknown message kind {kind!r} or direction {direction!r}")
    message = _message(transaction, kind, direction, body)
    message.save(force_insert=True)
    return message


@dataclass(frozen=True)
class AuthenticationProof:
    """What the ARes or RReq carries to show the cardholder was authenticated."""

    eci: str  # "" when the scheme sends none (N, U, R)
    authentication_value: str  # 28 characters for Y and A, "" otherwise


def acs_outcome(
    *, transaction: AcsTransaction, trans_status: str, method: str = Method.SMS_OTP
) -> AuthenticationProof:
    """The eci and authenticationValue of a transaction's final transStatus, for the RReq.

    `trans_status` is the RReq's (Y N U A R); `method` is how the cardholder was authenticated
    (`authvalue.Method`: SMS_OTP after ePin + SMS or SMS alone, STATIC for the ePin alone). For Y and
    A the value is computed with the card's scheme algorithm (needs the card); for N, U and R both are
    empty. Nothing is saved: store `eci` and `authentication_value` on the transaction with the RReq.
    """
    if trans_status not in AV_STATUSES:
        return AuthenticationProof(eci="", authentication_value="")
    if transaction.card is None:
        raise ValueError("the transaction has no card: no authentication value can be computed")
    return outcome_for(
        scheme=transaction.scheme,
        pan=card_pan(transaction.card),
        trans_status=trans_status,
        method=method,
        acs_trans_id=str(transaction.acs_trans_id),
        message_category=transaction.message_category,
        message_version=transaction.message_version,
        amount=transaction.purchase_amount,
        currency=transaction.purchase_currency,
        merchant_name=transaction.merchant_name,
    )


def outcome_for(
    *,
    scheme: str,
    pan: str,
    trans_status: str,
    method: str,
    acs_trans_id: str,
    message_category: str,
    message_version: str,
    amount: str,
    currency: str,
    merchant_name: str,
) -> AuthenticationProof:
    algorithm = algorithm_for(scheme)
    eci = algorithm.eci(trans_status, message_category=message_category)
    value = algorithm.compute(
        AvInputs(
            pan=pan,
            trans_status=trans_status,
            method=method,
            acs_trans_id=acs_trans_id,
            eci=eci,
            amount=amount,
            currency=currency,
            message_version=message_version,
            merchant_name=merchant_name,
        )
    )
    return AuthenticationProof(eci=eci, authentication_value=value)


@dataclass(frozen=True)
class ChallengeContact:
    cardholder: Cardholder
    phone: str  # E.164, where the SMS code goes
    masked_phone: str  # as the pages show it
    has_epin: bool
    sms_only: bool  # True: skip the ePin step (configured policy for cardholders without an ePin)
    language: str  # "fr" or "en", from the AReq's browserLanguage


def acs_challenge_contact(*, transaction: AcsTransaction) -> ChallengeContact:
    """Who is challenged and how. Raises ValueError when the transaction has no cardholder."""
    holder = transaction.cardholder
    if holder is None:
        raise ValueError("the transaction has no cardholder")
    return ChallengeContact(
        cardholder=holder,
        phone=holder.phone,
        masked_phone=holder.masked_phone,
        has_epin=holder.has_epin,
        sms_only=transaction.sms_only,
        language=language_of(transaction.browser_language),
    )


# --- AReq -> ARes ---------------------------------------------------------------------------------


# --- verification for the issuer --------------------------------------------------------------


def acs_av_verify(
    *, pan: str, value: str, eci: str, amount: str = "", currency: str = "", scheme: str = "", ip: str = ""
) -> Decoded | None:
    """Check an authenticationValue as the issuer's authorisation system receives it.

    `scheme` defaults to the PAN's; `amount` (minor units) and `currency` (ISO 4217 numeric) are the
    AReq's purchaseAmount and purchaseCurrency ("" for a non-payment). Returns the decoded value when
    it is genuine for these fields, None otherwise. Audited, with the PAN masked.
    """
    chosen = scheme or scheme_of(pan)
    decoded = algorithm_for(chosen).verify(value, pan=pan, eci=eci, amount=amount, currency=currency)
    audit_record(
        event=Event.ACS_AV_VERIFY,
        subject=mask_pan(pan[:6], pan[-4:], len(pan)) if pan.isdigit() and len(pan) >= 10 else "",
        ip=ip,
        outcome=AuditEvent.Outcome.SUCCESS if decoded else AuditEvent.Outcome.FAILURE,
        scheme=chosen,
    )
    return decoded


# --- card ranges ---------------------------------------------------------------------------------


def acs_card_ranges() -> list[dict[str, Any]]:
    """The card ranges to register with the DS, as cardRangeData-like entries.

    From GUICHET_ACS_CARD_RANGES when set (a prefix shorter than 16 digits is widened to 16-digit
    PANs); otherwise one range per BIN (first 6 digits and PAN length) of the imported cards. Either
    way the ACS answers only for imported cards: any other PAN of a range gets U / 08 (no card record).
    A range with the 3DS Method (GUICHET_ACS_METHOD) names its threeDSMethodURL; one without leaves
    the element out, as the PRes does (the requestor then sends threeDSCompInd U).
    """
    configured = settings.GUICHET.acs.card_ranges
    if configured:
        pairs = [(start.ljust(16, "0"), end.ljust(16, "9")) for start, end in configured]
        source = "GUICHET_ACS_CARD_RANGES"
    else:
        bins = Card.objects.order_by("first6", "pan_length").values_list("first6", "pan_length").distinct()
        pairs = [(first6.ljust(length, "0"), first6.ljust(length, "9")) for first6, length in bins]
        source = "imported cards"
    ranges: list[dict[str, Any]] = []
    for start, end in pairs:
        entry: dict[str, Any] = {
            "startRange": start,
            "endRange": end,
            "acsStartProtocolVersion": "2.1.0",
            "acsEndProtocolVersion": LATEST_VERSION,
            "acsInfoInd": ["01"],
        }
        if method_for_range(start=start, end=end):
            entry["threeDSMethodURL"] = method_url()
        ranges.append(entry | {"source": source})
    return ranges
