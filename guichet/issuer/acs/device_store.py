"""The AReq's SQL for the 3DS Method's device: the observation an AReq names (threeDSCompInd Y), and
whether its device was on an earlier authentication of the same card that ended Y after a challenge.

One AReq's look-up through Django's connection (the Django path, SQLite's event-loop path) or
several AReqs' in one statement (PostgreSQL's event-loop path, fastpath/stores.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from guichet.issuer.acs.models import AcsTransaction, DeviceObservation


@dataclass(frozen=True)
class DeviceSeen:
    """The 3DS Method's device of an AReq, as the rules see it."""

    hash: str  # keyed hash of the device (method.py)
    recognised: bool  # on an earlier authentication of the same card that ended Y after a challenge


@dataclass(frozen=True)
class DeviceQuery:
    """What an AReq asks of the 3DS Method: the observation `key` made since `since`, for `card_id`."""

    key: uuid.UUID
    card_id: int
    since: dt.datetime


def _device_select(*, position: str, card: str, source: str, key: str, since: str) -> str:
    """The device look-up: the observation's device hash, and whether a transaction of the card with
    that hash ended Y after a challenge (an index on card and device hash). `source` names where the
    observation's key, card and since come from: parameters for one AReq, arrays for several."""
    quote = connection.ops.quote_name
    obs, tx = DeviceObservation._meta, AcsTransaction._meta

    def column(meta: Any, alias: str, name: str) -> str:
        return f"{alias}.{quote(meta.get_field(name).column)}"

    # Identifiers only come from the models' metadata; the values are query parameters, or literals.
    return (
        f"SELECT {position}{column(obs, 'o', 'device_hash')}, EXISTS (SELECT 1 FROM"  # noqa: S608
        f" {quote(tx.db_table)} t WHERE {column(tx, 't', 'card')} = {card} AND"
        f" {column(tx, 't', 'device_hash')} = {column(obs, 'o', 'device_hash')} AND"
        f" {column(tx, 't', 'trans_status')} = 'Y' AND {column(tx, 't', 'authentication_method')} <> '')"
        f" FROM {source.format(obs=quote(obs.db_table))} {column(obs, 'o', 'method_trans_id')} = {key}"
        f" AND {column(obs, 'o', 'collected_at')} >= {since} AND {column(obs, 'o', 'device_hash')} <> ''"
    )


@functools.cache
def _device_sql(vendor: str) -> str:  # noqa: ARG001 (the cache key)
    """One AReq's look-up by the observation's unique key, so that the AReq's path pays one indexed
    look-up for the 3DS Method. Parameters: card id, key, since."""
    return _device_select(position="", card="%s", source="{obs} o WHERE", key="%s", since="%s")


def device_lookup_sql(db: BaseDatabaseWrapper = connection) -> str:
    return _device_sql(db.vendor)


@functools.cache
def device_lookup_many_sql() -> str:
    """PostgreSQL: the look-ups of several AReqs in one statement, the same as `_device_sql`'s each,
    over three arrays (keys, card ids, since), each row naming its query's position. Under load the
    event loop's AReqs ask together: one round trip instead of one each (about a fifth of an
    AReq's CPU at saturation, measured with bench/acs_areq.py)."""
    arrays = "unnest(%s::uuid[], %s::bigint[], %s::timestamptz[]) WITH ORDINALITY AS q(k, c, s, n)"
    return _device_select(
        position="q.n, ", card="q.c", source=arrays + " JOIN {obs} o ON", key="q.k", since="q.s"
    )


def device_lookup_many_params(queries: Sequence[DeviceQuery]) -> list[Any]:
    return [[q.key for q in queries], [q.card_id for q in queries], [q.since for q in queries]]


def devices_in_order(
    rows: Sequence[Sequence[Any]], queries: Sequence[DeviceQuery]
) -> list[DeviceSeen | None]:
    """The rows of `device_lookup_many_sql()` matched to the queries by position (None: none)."""
    found = {int(row[0]): device_from_row(row[1:]) for row in rows}
    return [found.get(position) for position in range(1, len(queries) + 1)]


def device_lookup_many(queries: Sequence[DeviceQuery]) -> list[DeviceSeen | None]:
    """The devices of several AReqs through Django's connection, one query each (SQLite has no
    arrays; PostgreSQL's event-loop path runs `device_lookup_many_sql()` itself)."""
    return [device_lookup(key=q.key, card_id=q.card_id, since=q.since) for q in queries]


def device_lookup_params(
    *, key: uuid.UUID, card_id: int, since: dt.datetime, db: BaseDatabaseWrapper = connection
) -> list[Any]:
    """The parameters of `device_lookup_sql()`, converted as the ORM would for this database."""
    method_key: Any = key if db.features.has_native_uuid_field else key.hex
    return [card_id, method_key, db.ops.adapt_datetimefield_value(since)]


def device_from_row(row: Sequence[Any] | None) -> DeviceSeen | None:
    return None if row is None else DeviceSeen(hash=str(row[0]), recognised=bool(row[1]))


def device_lookup(*, key: uuid.UUID, card_id: int, since: dt.datetime) -> DeviceSeen | None:
    """The device the 3DS Method `key` observed since `since` (None: none), through Django's connection."""
    with connection.cursor() as cursor:
        cursor.execute(device_lookup_sql(), device_lookup_params(key=key, card_id=card_id, since=since))
        return device_from_row(cursor.fetchone())
