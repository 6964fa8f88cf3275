"""The DS's AReq answered on a worker's event loop, for PostgreSQL (see guichet.acs.endpoint).

The same steps as `services.acs_areq_answer`, with the same SQL, rows and answer: parse, look the card
up, decide, build the ARes and its rows, store them in one statement. Only the I/O differs: the two
statements go through `AsyncDatabase` (prepared, no thread hop). What needs Django's synchronous
connection, auditing a refused AReq, and an issuer's own rules (they may query the database through
the ORM) runs in a thread through `offload`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from django.conf import settings

from guichet.acs import services
from guichet.acs.messages import AReq, Erro, parse_areq
from guichet.acs.rules import BUILTIN, Decision, RuleContext, decide, rules_load
from guichet.cards.services import pan_index
from guichet.core import clock
from guichet.core.asyncdb import AsyncDatabase

Offload = Callable[..., Awaitable[Any]]  # offload(fn, *args): fn(*args) in a thread, awaited


async def acs_areq_answer_async(
    *, raw: bytes, ip: str, db: AsyncDatabase, offload: Offload
) -> dict[str, Any]:
    """The ARes or Erro (as JSON) for an AReq body. Never raises: a failure is an Erro 403/404."""
    acs_trans_id = services.new_acs_trans_id()
    parsed = parse_areq(raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro):
        answer: dict[str, Any] = await offload(services.areq_refused, parsed, ip)
        return answer
    try:
        try:
            return await _answer(parsed, acs_trans_id, ip, db, offload, retry=True)
        except _StaleConnection:
            return await _answer(parsed, acs_trans_id, ip, db, offload, retry=False)
    except Exception as exc:  # the DS gets an Erro, the failure goes to the log
        erro = services.areq_failure(parsed, acs_trans_id, _cause(exc))
    refused: dict[str, Any] = await offload(services.areq_refused, erro, ip)
    return refused


class _StaleConnection(Exception):
    """The first statement failed on a pooled connection (e.g. after a database restart): try another."""


def _cause(exc: BaseException) -> BaseException:
    return exc.__cause__ if isinstance(exc, _StaleConnection) and exc.__cause__ else exc


async def _answer(
    areq: AReq, acs_trans_id: str, ip: str, db: AsyncDatabase, offload: Offload, *, retry: bool
) -> dict[str, Any]:
    config = settings.GUICHET
    now = clock.now()
    pan = areq.acctNumber
    async with db.connection() as connection:
        card, blocked_until = None, None
        if services.in_card_ranges(pan, config.acs.card_ranges):
            try:
                cursor = await connection.execute(services.card_lookup_sql(), [pan_index(pan)], prepare=True)
            except psycopg.OperationalError as exc:
                # Nothing was written yet: the same AReq can be answered on a fresh connection.
                if retry:
                    raise _StaleConnection from exc
                raise
            card, blocked_until = services.card_from_row(await cursor.fetchone())
        context = services.areq_context(areq, card, blocked_until, now=now)
        if _builtin_rules_only():
            chosen = decide(context, rules_load(config.acs.rules))
        else:
            chosen = await offload(_decide, context)
        built = services.areq_build(areq, acs_trans_id, ip, context, chosen)
        sql, params = services.pg_store_statement(built.record, built.messages, built.audit)
        await connection.execute(sql, params, prepare=True)
    services.areq_broken_log(built)
    return built.wire


def _builtin_rules_only() -> bool:
    """Built-in rules only look at the AReq and the card: they can run on the event loop."""
    return all(name in BUILTIN for name, _ in settings.GUICHET.acs.rules)


def _decide(context: RuleContext) -> tuple[str, Decision, list[str]]:
    return decide(context, rules_load(settings.GUICHET.acs.rules))
