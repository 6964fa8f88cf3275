"""The ACS core: AReq in, ARes or Erro out; transactions, message log, outcome, verification.

For the browser challenge (guichet.issuer.acs.challenge) and its RReq:
- `acs_transaction_get(*, acs_trans_id, for_update=False) -> AcsTransaction | None`
- `acs_message_log(*, transaction, kind, direction, body) -> AcsMessage` (masks the PAN)
- `acs_outcome(*, transaction, trans_status, method) -> Outcome` (eci + authenticationValue)
- `acs_challenge_contact(*, transaction) -> ChallengeContact` (cardholder, phone, ePin or SMS alone)
For the DS: `acs_areq_answer(*, raw, ip) -> dict` (the ARes or Erro to send back, never raises).
For the issuer's authorisation system: `acs_av_verify(*, pan, value, eci, amount, currency, ip)`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.dateparse import parse_datetime

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.codes.models import CredentialThrottle
from guichet.core import clock
from guichet.core.masking import mask_pan
from guichet.issuer.acs.authvalue import AvInputs, Decoded, Method, algorithm_for, scheme_of
from guichet.issuer.acs.messages import AReq, ARes, Erro, areq_erro, parse_areq
from guichet.issuer.acs.messages.validation import calendar_datetime
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.acs.rules import Decision, RuleContext, decide, language_of, rules_load
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import card_pan, pan_index

logger = logging.getLogger(__name__)

CHALLENGE_PATH = "/3ds/challenge"
AUTHENTICATION_TYPE_DYNAMIC = "02"  # the SMS code is a dynamic factor (notes §2.4)
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


def _masked(body: Any) -> Any:
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
            out[key] = _masked(out[key])
        return out
    if isinstance(body, list):
        return [_masked(item) if isinstance(item, _CONTAINERS) else item for item in body]
    return body


def _message(transaction_: AcsTransaction, kind: str, direction: str, body: dict[str, Any]) -> AcsMessage:
    return AcsMessage(
        transaction=transaction_, kind=kind, direction=direction, body=_masked(body), created_at=clock.now()
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
class Outcome:
    eci: str  # "" when the scheme sends none (N, U, R)
    authentication_value: str  # 28 characters for Y and A, "" otherwise


def acs_outcome(*, transaction: AcsTransaction, trans_status: str, method: str = Method.SMS_OTP) -> Outcome:
    """The eci and authenticationValue of a transaction's final transStatus, for the RReq.

    `trans_status` is the RReq's (Y N U A R); `method` is how the cardholder was authenticated
    (`authvalue.Method`: SMS_OTP after ePin + SMS or SMS alone, STATIC for the ePin alone). For Y and
    A the value is computed with the card's scheme algorithm (needs the card); for N, U and R both are
    empty. Nothing is saved: store `eci` and `authentication_value` on the transaction with the RReq.
    """
    if trans_status not in AV_STATUSES:
        return Outcome(eci="", authentication_value="")
    if transaction.card is None:
        raise ValueError("the transaction has no card: no authentication value can be computed")
    return _outcome(
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


def _outcome(
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
) -> Outcome:
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
    return Outcome(eci=eci, authentication_value=value)


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


def in_card_ranges(pan: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    """Whether the PAN's leading digits fall in one of the configured ranges (all PANs when none)."""
    return not ranges or any(start <= pan[: len(start)] <= end for start, end in ranges)


Converter = Callable[[Any, Any, Any], Any]


@functools.cache
def _lookup_sql(vendor: str) -> tuple[str, tuple[tuple[str, tuple[Converter, ...], Any], ...]]:  # noqa: ARG001 (the cache key)
    """One SELECT: the card by its keyed PAN index, its cardholder's columns and ePin block.

    Raw SQL on the hot path: compiling the equivalent ORM query (select_related plus a subquery)
    costs about twenty times running it. The throttle key is the cardholder's `throttle_key`.
    Also returned: per column of the card and the cardholder, its attname, the converters the ORM
    would apply to it (SQLite returns datetimes as text, UUIDs as hex...) and the column expression.
    """
    quote = connection.ops.quote_name
    card, holder, throttle = Card._meta, Cardholder._meta, CredentialThrottle._meta
    columns = [f"c.{quote(f.column)}" for f in card.concrete_fields]
    columns += [f"h.{quote(f.column)}" for f in holder.concrete_fields]
    columns.append(f"t.{quote(throttle.get_field('blocked_until').column)}")
    holder_id = f"h.{quote(holder.pk.column)}"
    holder_key = f"'cardholder:' || CAST({holder_id} AS VARCHAR(20))"
    card_holder = f"c.{quote(card.get_field('cardholder').column)}"
    throttle_key = f"t.{quote(throttle.get_field('key').column)}"
    pan_column = f"c.{quote(card.get_field('pan_index').column)}"
    converters = []
    for field in [*card.concrete_fields, *holder.concrete_fields, throttle.get_field("blocked_until")]:
        expression = field.get_col(field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        converters.append((field.attname, tuple(found), expression))
    # Identifiers only come from the models' metadata; the one value is a query parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(card.db_table)} c"  # noqa: S608
        f" JOIN {quote(holder.db_table)} h ON {holder_id} = {card_holder}"
        f" LEFT JOIN {quote(throttle.db_table)} t ON {throttle_key} = {holder_key}"
        f" WHERE {pan_column} = %s"
    )
    return sql, tuple(converters)


def _aware(value: object) -> dt.datetime | None:
    """A datetime column read outside the ORM: SQLite gives naive UTC (or text), PostgreSQL aware."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _card_lookup(pan: str) -> tuple[Card | None, dt.datetime | None]:
    """The card with its cardholder, and the cardholder's ePin block, in one query.

    A plain cursor and the ORM's own converters: `Model.objects.raw()` costs several times the query.
    """
    with connection.cursor() as cursor:
        cursor.execute(card_lookup_sql(), [pan_index(pan)])
        return card_from_row(cursor.fetchone())


def card_lookup_sql() -> str:
    """The look-up of one card (one parameter: its PAN index)."""
    return _lookup_sql(connection.vendor)[0]


def card_lookup_many_sql(db: BaseDatabaseWrapper = connection) -> str:
    """The look-up of several cards at once (one parameter: a list of PAN indexes); see `card_row_key`."""
    return _lookup_sql(db.vendor)[0].replace(" = %s", " = ANY(%s)")


@functools.cache
def _pan_index_position() -> int:
    return [f.attname for f in Card._meta.concrete_fields].index("pan_index")


def card_row_key(row: Sequence[Any]) -> str:
    """The PAN index of a row of the card look-up."""
    return str(row[_pan_index_position()])


def card_lookup_many(indexes: list[str]) -> list[Sequence[Any] | None]:
    """The look-up rows for these PAN indexes, in their order (None: no card), through Django's
    connection: one query per distinct index (SQLite has no arrays; PostgreSQL's event-loop path runs
    `card_lookup_many_sql()` itself)."""
    rows: list[Sequence[Any]] = []
    with connection.cursor() as cursor:
        for index in set(indexes):
            cursor.execute(card_lookup_sql(), [index])
            rows += cursor.fetchall()
    return card_rows_in_order(rows, indexes)


def card_rows_in_order(rows: Sequence[Sequence[Any]], indexes: list[str]) -> list[Sequence[Any] | None]:
    """The look-up rows matched to the PAN indexes asked for, in their order (None: no card)."""
    found = {card_row_key(row): row for row in rows}
    return [found.get(index) for index in indexes]


def card_from_row(
    row: Sequence[Any] | None, db: BaseDatabaseWrapper = connection
) -> tuple[Card | None, dt.datetime | None]:
    """The card (its cardholder attached) and the ePin block of a row of `card_lookup_sql()`.

    `db`: the Django connection whose converters apply (only its vendor and operations are used).
    Code on an event loop passes one it holds: there, each task would get a new `connection`.
    """
    if row is None:
        return None, None
    _, converters = _lookup_sql(db.vendor)
    values = []
    for value, (_, found, expression) in zip(row, converters, strict=True):
        for convert in found:
            value = convert(value, expression, db)
        values.append(value)
    count = len(Card._meta.concrete_fields)
    holder_count = len(Cardholder._meta.concrete_fields)
    names = [name for name, _, _ in converters]
    card = Card.from_db(db.alias, names[:count], values[:count])
    holder = Cardholder.from_db(
        db.alias, names[count : count + holder_count], values[count : count + holder_count]
    )
    card.cardholder = holder
    return card, _aware(values[-1])


Adapter = Callable[[Any], Any]


def _adapter(field: models.Field[Any, Any]) -> Adapter | None:
    """What the ORM's get_db_prep_save does to a value of this field, for the types the AReq path writes."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.UUIDField):
        return None if connection.features.has_native_uuid_field else _uuid_hex
    if isinstance(target, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(target, models.JSONField):
        encoder, adapt_json = target.encoder, connection.ops.adapt_json_value
        return lambda value: adapt_json(value, encoder)
    return None


def _uuid_hex(value: uuid.UUID | None) -> str | None:
    return None if value is None else value.hex


def _stored_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The columns an INSERT of the AReq path writes: all but the auto id."""
    return [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]


@functools.cache
def _insert_plan(
    model: type[models.Model],
    vendor: str,  # noqa: ARG001 (the cache key: one plan per database vendor)
) -> tuple[str, tuple[tuple[str, Adapter | None], ...]]:
    """`table (columns) VALUES` of a model (without its auto id) and, per column, attname and adapter."""
    quote = connection.ops.quote_name
    fields = _stored_fields(model)
    columns = ", ".join(quote(f.column) for f in fields)
    return f"{quote(model._meta.db_table)} ({columns}) VALUES", tuple(
        (f.attname, _adapter(f)) for f in fields
    )


def _insert_values(
    model: type[models.Model], rows: list[dict[str, Any]], params: list[Any], vendor: str
) -> str:
    """The `table (columns) VALUES (...), ...` of an INSERT of `rows` (by attname); appends to `params`."""
    _, plan = _insert_plan(model, vendor)
    for row in rows:
        params += [row[attname] if adapt is None else adapt(row[attname]) for attname, adapt in plan]
    return _insert_sql(model, len(rows), vendor)


@functools.lru_cache(maxsize=256)  # per model, vendor and number of rows
def _insert_sql(model: type[models.Model], count: int, vendor: str) -> str:
    head, plan = _insert_plan(model, vendor)
    placeholders = "(" + ", ".join(["%s"] * len(plan)) + ")"
    return f"{head} {', '.join([placeholders] * count)}"


def _areq_store(built: Built) -> None:
    """Insert the transaction, its AReq and ARes and the audit event, all or nothing.

    The ORM's four `save()`s cost about 2 ms of CPU; these are plain INSERTs of the same values, with
    the same conversions. PostgreSQL gets them as one statement (`pg_store_statement`); SQLite in
    one transaction.
    """
    if connection.vendor == "postgresql":
        sql, params = pg_store_statement([built])
        # Inside a caller's transaction, a savepoint as atomic() made: a failure leaves that one usable.
        with (
            transaction.atomic() if connection.in_atomic_block else nullcontext(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for model, rows in _store_rows([built]):
            values: list[Any] = []
            cursor.execute(f"INSERT INTO {_insert_values(model, rows, values, connection.vendor)}", values)


@functools.cache
def _row_defaults(model: type[models.Model]) -> dict[str, Any]:
    """What the model's constructor gives a field left out (a callable default must be given)."""
    return {
        f.attname: None if f.has_default() and callable(f.default) else f.get_default()
        for f in _stored_fields(model)
    }


def _row(model: type[models.Model], **values: Any) -> dict[str, Any]:
    """A row by attname, as `model(**values)` would hold it: building the model instance itself
    costs more than the rest of the AReq's answer."""
    defaults = _row_defaults(model)
    unknown = values.keys() - defaults.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    return defaults | values


def _store_rows(built: Sequence[Built]) -> tuple[tuple[type[models.Model], list[dict[str, Any]]], ...]:
    """The rows (by attname) that record these AReqs, per table."""
    return (
        (AcsTransaction, [one.record for one in built]),
        (AcsMessage, [message for one in built for message in one.messages]),
        (AuditEvent, [one.audit for one in built]),
    )


def areq_store_many(built: Sequence[Built]) -> list[BaseException | None]:
    """Store several AReqs' rows in one transaction (one commit); if that fails, each on its own,
    so that one bad row fails only its own AReq. Per AReq: None when stored, else the error."""
    try:
        with transaction.atomic():
            for one in built:
                _areq_store(one)
        return [None] * len(built)
    except DatabaseError:
        if len(built) == 1:
            raise
    results: list[BaseException | None] = []
    for one in built:
        try:
            _areq_store(one)
            results.append(None)
        except DatabaseError as exc:
            results.append(exc)
    return results


def pg_store_statement(built: Sequence[Built], *, numbered: bool = False) -> tuple[str, list[Any]]:
    """PostgreSQL's one statement that stores the rows of these AReqs, and its parameters.

    One INSERT per table in data-modifying WITH clauses: one round trip, atomic by itself (the
    foreign keys are checked at its end). `numbered`: `$1, $2...` placeholders, for psycopg's raw
    cursor, which sends them as they are; its usual `%s` are parsed again at each call for a
    statement of more than 50 parameters (0.2 ms and more).
    """
    params: list[Any] = []
    inserts = tuple(_insert_values(model, rows, params, "postgresql") for model, rows in _store_rows(built))
    return _pg_store_sql(inserts, numbered), params


@functools.lru_cache(maxsize=256)  # one per group size
def _pg_store_sql(inserts: tuple[str, ...], numbered: bool) -> str:
    *first, last = inserts
    sql = "WITH " + ", ".join(f"i{n} AS (INSERT INTO {one})" for n, one in enumerate(first))
    sql += f" INSERT INTO {last}"
    if not numbered:
        return sql
    # The statement's text is ours (identifiers from the models, no literal): every %s is a parameter.
    pieces = sql.split("%s")
    return "".join(f"{piece}${n}" for n, piece in enumerate(pieces[:-1], start=1)) + pieces[-1]


def _purchase_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = calendar_datetime(value)  # validated by parse_areq
    return moment.replace(tzinfo=dt.UTC) if moment is not None else None


def _ares(areq: AReq, acs_trans_id: str, decision: Decision, outcome: Outcome) -> ARes:
    config = settings.GUICHET
    status = decision.trans_status
    wire: dict[str, Any] = {
        "messageType": "ARes",
        "messageVersion": areq.messageVersion,
        "threeDSServerTransID": areq.threeDSServerTransID,
        "dsTransID": areq.dsTransID,
        "dsReferenceNumber": areq.dsReferenceNumber,
        "acsTransID": acs_trans_id,
        "acsReferenceNumber": config.acs.reference_number,
        "transStatus": status,
    }
    if config.acs.operator_id:
        wire["acsOperatorID"] = config.acs.operator_id
    if status in ("N", "U", "R"):
        wire["transStatusReason"] = decision.reason
    if status == "C":
        wire["acsURL"] = config.public_url + CHALLENGE_PATH
        wire["acsChallengeMandated"] = "Y" if decision.challenge_mandated else "N"
        wire["authenticationType"] = AUTHENTICATION_TYPE_DYNAMIC
    if outcome.authentication_value:
        wire["authenticationValue"] = outcome.authentication_value
    if outcome.eci:
        wire["eci"] = outcome.eci
    if decision.cardholder_info:
        wire["cardholderInfo"] = decision.cardholder_info
    if areq.sdkTransID is not None:
        wire["sdkTransID"] = areq.sdkTransID
    return ARes.model_validate(wire)


def _answer(areq: AReq, acs_trans_id: str, ip: str) -> dict[str, Any]:
    now = clock.now()
    pan = areq.acctNumber
    looked_up = _card_lookup(pan) if in_card_ranges(pan, settings.GUICHET.acs.card_ranges) else (None, None)
    context = areq_context(areq, *looked_up, now=now)
    chosen = decide(context, rules_load(settings.GUICHET.acs.rules))
    built = areq_build(areq, acs_trans_id, ip, context, chosen)
    _areq_store(built)
    areq_broken_log(built)
    return built.wire


@dataclass(frozen=True)
class Built:
    """An AReq's answer and the rows that record it, before they are stored."""

    wire: dict[str, Any]  # the ARes as sent
    record: dict[str, Any]  # the AcsTransaction row by attname
    messages: list[dict[str, Any]]  # AcsMessage rows by attname: the AReq and the ARes, masked
    audit: dict[str, Any]  # the AuditEvent row by attname
    broken: list[str]  # issuer rules that failed or answered an invalid decision


def areq_context(
    areq: AReq, card: Card | None, blocked_until: dt.datetime | None, *, now: dt.datetime
) -> RuleContext:
    """What the decision rules see: the AReq, the card found (None when unknown) and its ePin block."""
    config = settings.GUICHET
    return RuleContext(
        areq=areq,
        card=card,
        cardholder=card.cardholder if card is not None else None,
        epin_blocked_until=blocked_until if blocked_until is not None and blocked_until > now else None,
        now=now,
        scheme=scheme_of(areq.acctNumber),
        public_url=config.public_url,
        no_epin_policy=config.acs.no_epin_policy,
    )


def areq_broken_log(built: Built) -> None:
    if built.broken:
        skipped = ", ".join(built.broken)
        logger.error("ACS rule(s) %s failed or answered an invalid decision; skipped", skipped)


def areq_build(
    areq: AReq, acs_trans_id: str, ip: str, context: RuleContext, chosen: tuple[str, Decision, list[str]]
) -> Built:
    """The ARes for the chosen decision (`rules.decide`'s answer) and the rows to store. No I/O."""
    rule, decision, broken = chosen
    now, pan, scheme, card = context.now, areq.acctNumber, context.scheme, context.card
    status = decision.trans_status
    outcome = Outcome(eci="", authentication_value="")
    if status in AV_STATUSES:
        outcome = _outcome(
            scheme=scheme,
            pan=pan,
            trans_status=status,
            # attempts processing: nobody was authenticated, whatever the rule left as default
            method=Method.ATTEMPTS
            if status == "A" and decision.method == Method.FRICTIONLESS
            else decision.method,
            acs_trans_id=acs_trans_id,
            message_category=areq.messageCategory,
            message_version=areq.messageVersion,
            amount=areq.purchaseAmount or "",
            currency=areq.purchaseCurrency or "",
            merchant_name=areq.merchantName or "",
        )
    ares = _ares(areq, acs_trans_id, decision, outcome)
    holder = context.cardholder
    record = _row(
        AcsTransaction,
        acs_trans_id=uuid.UUID(acs_trans_id),
        message_version=areq.messageVersion,
        message_category=areq.messageCategory,
        device_channel=areq.deviceChannel,
        three_ds_server_trans_id=uuid.UUID(areq.threeDSServerTransID),
        ds_trans_id=uuid.UUID(areq.dsTransID),
        ds_reference_number=areq.dsReferenceNumber,
        ds_url=areq.dsURL,
        notification_url=areq.notificationURL,
        browser_language=areq.browserLanguage or "",
        challenge_ind=areq.threeDSRequestorChallengeInd or "",
        card_id=card.pk if card is not None else None,
        cardholder_id=holder.pk if holder is not None else None,
        scheme=scheme,
        masked_pan=mask_pan(pan[:6], pan[-4:], len(pan)),
        merchant_name=areq.merchantName or "",
        purchase_amount=areq.purchaseAmount or "",
        purchase_currency=areq.purchaseCurrency or "",
        purchase_exponent=int(areq.purchaseExponent) if areq.purchaseExponent else None,
        purchase_date=_purchase_date(areq.purchaseDate),
        state=AcsTransaction.State.AWAITING_CREQ if status == "C" else AcsTransaction.State.FRICTIONLESS,
        decided_by=rule,
        sms_only=status == "C" and holder is not None and not holder.has_epin,
        trans_status=status,
        trans_status_reason=ares.transStatusReason or "",
        authentication_type=ares.authenticationType or "",
        eci=outcome.eci,
        authentication_value=outcome.authentication_value,
        created_at=now,
        ares_sent_at=now,
        updated_at=now,
    )
    ares_wire = ares.model_dump(exclude_none=True)
    tx_id = record["acs_trans_id"]
    messages = [
        {"transaction_id": tx_id, "kind": kind, "direction": direction, "body": _masked(body),
         "created_at": now}
        for kind, direction, body in (
            (AcsMessage.Kind.AREQ, AcsMessage.Direction.IN, areq.model_dump(exclude_none=True)),
            (AcsMessage.Kind.ARES, AcsMessage.Direction.OUT, ares_wire),
        )
    ]  # fmt: skip
    detail: dict[str, Any] = {
        "trans_status": status,
        "reason": decision.reason,
        "rule": rule,
        "card_known": card is not None,
        "ds_trans_id": areq.dsTransID,
    }
    if broken:
        detail["broken_rules"] = broken
    audit = {
        "at": clock.now(),
        "event": Event.ACS_AREQ_ANSWERED,
        "subject": acs_trans_id,
        "ip": ip,
        "outcome": _audit_outcome(status),
        "detail": detail,
    }
    return Built(wire=ares_wire, record=record, messages=messages, audit=audit, broken=broken)


def _audit_outcome(status: str) -> str:
    if status in AV_STATUSES:
        return AuditEvent.Outcome.SUCCESS
    if status in ("N", "R"):
        return AuditEvent.Outcome.REFUSED
    return AuditEvent.Outcome.INFO


def _erro_wire(erro: Erro) -> dict[str, Any]:
    return erro.model_dump(exclude_none=True)


def _audit_refused(erro: Erro, ip: str) -> None:
    try:
        audit_record(
            event=Event.ACS_AREQ_REFUSED,
            subject=erro.acsTransID or "",
            ip=ip,
            outcome=AuditEvent.Outcome.REFUSED,
            error_code=erro.errorCode,
            # PostgreSQL's jsonb cannot hold U+0000, which a hostile element name may carry.
            error_detail=erro.errorDetail[:200].replace("\x00", ""),
            ds_trans_id=erro.dsTransID or "",
        )
    except DatabaseError:  # the Erro still goes back to the DS
        logger.exception("ACS: could not audit a refused AReq")


def new_acs_trans_id() -> str:
    """A fresh acsTransID (RFC 4122 random UUID); tests replace it to compare whole messages."""
    return str(uuid.uuid4())


def acs_ds_urls() -> tuple[str, ...]:
    """The prefixes a dsURL may start with: GUICHET_ACS_DS_URLS, and in demo and test modes the demo's
    DS simulator at this server's own URL (whatever GUICHET_PUBLIC_URL is)."""
    config = settings.GUICHET
    if config.mode == "serve":
        return config.acs.ds_urls
    return (*config.acs.ds_urls, config.public_url + DEMO_DS_PATH)


def areq_parse(*, raw: bytes, acs_trans_id: str) -> AReq | Erro:
    """`parse_areq`, then the DS check: an AReq naming a dsURL outside GUICHET_ACS_DS_URLS gets Erro 203
    (dsURL) and nothing is stored, so no RReq is ever posted for it. A prefix match, no DNS."""
    parsed = parse_areq(raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro) or parsed.dsURL.startswith(acs_ds_urls()):
        return parsed
    return areq_erro(code="203", detail="dsURL", data=_ids(parsed), acs_trans_id=acs_trans_id)


def _ids(areq: AReq) -> dict[str, Any]:
    """What an Erro echoes of a valid AReq."""
    return {
        "messageVersion": areq.messageVersion,
        "threeDSServerTransID": areq.threeDSServerTransID,
        "dsTransID": areq.dsTransID,
    }


def acs_areq_answer(*, raw: bytes, ip: str) -> dict[str, Any]:
    """The ARes or Erro (as JSON) for an AReq body. Never raises: a failure here is an Erro 403/404."""
    acs_trans_id = new_acs_trans_id()
    parsed = areq_parse(raw=raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro):
        return areq_refused(parsed, ip)
    try:
        return _answer(parsed, acs_trans_id, ip)
    except Exception as exc:  # noqa: BLE001 (the DS gets an Erro, the failure goes to the log)
        return areq_refused(areq_failure(parsed, acs_trans_id, exc), ip)


def areq_refused(erro: Erro, ip: str) -> dict[str, Any]:
    """Audit an Erro sent for an AReq and give it as JSON (synchronous: uses Django's connection)."""
    _audit_refused(erro, ip)
    return _erro_wire(erro)


def areq_failure(areq: AReq, acs_trans_id: str, exc: BaseException) -> Erro:
    """The Erro for a valid AReq whose answer failed: 403 when the database did, 404 otherwise."""
    data = _ids(areq)
    # Django wraps the driver's errors in DatabaseError; the event-loop path gets psycopg's own.
    if isinstance(exc, DatabaseError | psycopg.Error):
        logger.error("ACS: database failure while answering an AReq", exc_info=exc)
        return areq_erro(code="403", detail="ACS database unavailable", data=data, acs_trans_id=acs_trans_id)
    logger.error("ACS: failure while answering an AReq", exc_info=exc)
    return areq_erro(code="404", detail="ACS processing failure", data=data, acs_trans_id=acs_trans_id)


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
    """
    configured = settings.GUICHET.acs.card_ranges
    if configured:
        pairs = [(start.ljust(16, "0"), end.ljust(16, "9")) for start, end in configured]
        source = "GUICHET_ACS_CARD_RANGES"
    else:
        bins = Card.objects.order_by("first6", "pan_length").values_list("first6", "pan_length").distinct()
        pairs = [(first6.ljust(length, "0"), first6.ljust(length, "9")) for first6, length in bins]
        source = "imported cards"
    return [
        {
            "startRange": start,
            "endRange": end,
            "acsStartProtocolVersion": "2.1.0",
            "acsEndProtocolVersion": "2.2.0",
            "acsInfoInd": ["01"],
            "source": source,
        }
        for start, end in pairs
    ]
