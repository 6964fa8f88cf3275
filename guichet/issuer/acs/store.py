"""The AReq's rows: the card look-up and the inserts of an answer (transaction, messages, audit), in
one statement per group, written by hand because the AReq path is measured (bench/acs_areq.py)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.dateparse import parse_datetime

from guichet.audit.models import AuditEvent
from guichet.codes.models import CredentialThrottle
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.cards.models import Card, Cardholder
from guichet.issuer.cards.services import pan_index

logger = logging.getLogger(__name__)


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


def card_lookup(pan: str) -> tuple[Card | None, dt.datetime | None]:
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


def areq_store(built: Built) -> None:
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


def row(model: type[models.Model], **values: Any) -> dict[str, Any]:
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
                areq_store(one)
        return [None] * len(built)
    except DatabaseError:
        if len(built) == 1:
            raise
    results: list[BaseException | None] = []
    for one in built:
        try:
            areq_store(one)
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


@dataclass(frozen=True)
class Built:
    """An AReq's answer and the rows that record it, before they are stored."""

    wire: dict[str, Any]  # the ARes as sent
    record: dict[str, Any]  # the AcsTransaction row by attname
    messages: list[dict[str, Any]]  # AcsMessage rows by attname: the AReq and the ARes, masked
    audit: dict[str, Any]  # the AuditEvent row by attname
    broken: list[str]  # issuer rules that failed or answered an invalid decision
