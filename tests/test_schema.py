"""What the schema costs each write: the indexes of the tables written on every AReq."""

from __future__ import annotations

import pytest
from django.db import connection

from guichet.audit.models import AuditEvent
from guichet.issuer.acs.models import AcsMessage, AcsTransaction

pytestmark = pytest.mark.django_db


def _indexed_columns(table: str) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return sorted(tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"])


def test_the_tables_every_areq_writes_carry_only_the_indexes_their_queries_use():
    # One index per looked-up column: on PostgreSQL `db_index=True` on a CharField would add a second,
    # LIKE-prefix one (varchar_pattern_ops) that no query uses and every insert pays for.
    assert _indexed_columns(AuditEvent._meta.db_table) == [("at",), ("event",), ("subject",)]
    assert _indexed_columns(AcsMessage._meta.db_table) == [("transaction_id",)]
    # (card_id, device_hash) serves the card's look-ups and the 3DS Method's recognised device alike.
    assert _indexed_columns(AcsTransaction._meta.db_table) == [
        ("card_id", "device_hash"),
        ("cardholder_id",),
        ("state", "ares_sent_at"),
    ]
