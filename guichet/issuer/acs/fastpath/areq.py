"""The DS's AReq answered on a worker's event loop (see guichet.issuer.acs.fastpath.endpoint).

The same steps as `answering.acs_areq_answer`, with the same SQL, rows and answer: parse, look the card
up, decide, build the ARes and its rows, store them. Only the I/O differs: it goes through
`AreqDatabase`, which groups the look-ups and the writes of the AReqs a worker is answering at the
same time (one query for their cards, one statement for their rows: under load this halves the
CPU the database work costs on both sides). An ARes is still sent only once its rows are committed.
What needs Django's synchronous connection, auditing a refused AReq, and an issuer's own rules (they
may query the database through the ORM) runs in a thread through `AreqDatabase.offload`.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from guichet.core import clock
from guichet.issuer.acs import answering, store
from guichet.issuer.acs.device_store import DeviceQuery, DeviceSeen
from guichet.issuer.acs.fastpath.batcher import Batcher
from guichet.issuer.acs.fastpath.stores import AreqStore, Offload, Row
from guichet.issuer.acs.messages import AReq, Erro
from guichet.issuer.acs.method import OBSERVATION_TTL
from guichet.issuer.acs.rules import LOOP_SAFE, THREE_RI, decide, rules_load
from guichet.issuer.cards.services import pan_index


class AreqDatabase:
    """The AReq's two database steps (`stores.AreqStore`), grouped across the requests of one event
    loop, and `offload` for what must run in a thread."""

    def __init__(self, *, backend: AreqStore, offload: Offload, max_batch: int = 32) -> None:
        self.backend = backend
        self.offload = offload
        # Django's connection for its vendor and operations only (no I/O). Held here because on the
        # event loop `django.db.connection` is per task: each AReq would build (and drop) a new one.
        self.django = connections[DEFAULT_DB_ALIAS]
        # One run at a time: the AReqs that arrive meanwhile make the next group.
        self.lookup: Batcher[str, Row | None] = Batcher(backend.lookups, max_batch=max_batch, parallel=1)
        self.store: Batcher[store.Built, None] = Batcher(backend.stores, max_batch=max_batch, parallel=1)
        self.device: Batcher[DeviceQuery, DeviceSeen | None] = Batcher(
            backend.devices, max_batch=max_batch, parallel=1
        )

    async def close(self) -> None:
        await self.backend.close()


async def acs_areq_answer_async(*, raw: bytes, ip: str, db: AreqDatabase) -> dict[str, Any]:
    """The ARes or Erro (as JSON) for an AReq body. Never raises: a failure is an Erro 403/404."""
    acs_trans_id = answering.new_acs_trans_id()
    parsed = answering.areq_parse(raw=raw, acs_trans_id=acs_trans_id)
    if isinstance(parsed, Erro):
        answer: dict[str, Any] = await db.offload(
            functools.partial(answering.areq_refused, erro=parsed, ip=ip)
        )
        return answer
    try:
        return await _answer(parsed, acs_trans_id, ip, db)
    except Exception as exc:  # noqa: BLE001 (the DS gets an Erro, the failure goes to the log)
        erro = answering.areq_failure(areq=parsed, acs_trans_id=acs_trans_id, exc=exc)
    refused: dict[str, Any] = await db.offload(functools.partial(answering.areq_refused, erro=erro, ip=ip))
    return refused


async def _answer(areq: AReq, acs_trans_id: str, ip: str, db: AreqDatabase) -> dict[str, Any]:
    config = settings.GUICHET
    now = clock.now()
    pan = areq.acctNumber
    row = await db.lookup(pan_index(pan)) if answering.in_card_ranges(pan, config.acs.card_ranges) else None
    card, blocked_until = store.card_from_row(row, db.django)
    key = answering.device_key(areq)
    device = None
    if key is not None and card is not None:  # the 3DS Method's device, grouped with other AReqs'
        device = await db.device(DeviceQuery(key=key, card_id=card.pk, since=now - OBSERVATION_TTL))
    context = answering.areq_context(
        areq=areq, card=card, blocked_until=blocked_until, now=now, device=device
    )
    rules = rules_load(config.acs.rules)
    # Rules that read only their context run on the event loop. An issuer's own and low_value may
    # query the database through the ORM, and so does a 3RI's prior authentication: in a thread.
    if areq.deviceChannel != THREE_RI and all(name in LOOP_SAFE for name, _ in config.acs.rules):
        chosen = decide(context=context, issuer_rules=rules)
    else:
        chosen = await db.offload(functools.partial(decide, context=context, issuer_rules=rules))
    built = answering.areq_build(areq=areq, acs_trans_id=acs_trans_id, ip=ip, context=context, chosen=chosen)
    await db.store(built)
    answering.areq_broken_log(built)
    return built.wire
