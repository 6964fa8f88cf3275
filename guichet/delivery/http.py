"""Outbox messages posted to an HTTP endpoint: RReqs to a Directory Server, notifications to merchants.

Each kind of message registers how it is prepared (headers computed at each attempt, such as a
signature carrying the current time) and when an answer counts as accepted (for instance a valid
RRes). Anything else is retried by the outbox with its usual back-off, except a destination the
egress policy refuses (guichet.core.egress): that message is given up at once, nothing sent.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from guichet.core.egress import EgressFailed, EgressRefused, egress_post
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import DeliveryError, PermanentDeliveryError

HTTP_TIMEOUT_S = 10.0
# A peer that does not even take the connection is given up sooner than one that is slow to answer:
# each lane has few threads, and a dead DS must not hold them for the whole answer timeout.
CONNECT_TIMEOUT_S = 3.0
# An answer larger than this is cut: no acknowledgement we check needs more.
MAX_ANSWER_BYTES = 64 * 1024

Prepare = Callable[[OutboxMessage, bytes], dict[str, str]]
Accept = Callable[[OutboxMessage, int, bytes], None]
Tls = Callable[[], ssl.SSLContext | None]  # the TLS context of https posts (None: the default)


def accept_2xx(_message: OutboxMessage, status: int, _body: bytes) -> None:
    if not 200 <= status < 300:
        raise DeliveryError(f"answered {status}")


@dataclass(frozen=True)
class HttpKind:
    prepare: Prepare | None
    accept: Accept
    tls: Tls | None = None


_kinds: dict[str, HttpKind] = {}


def register_http_kind(
    kind: str, *, prepare: Prepare | None = None, accept: Accept | None = None, tls: Tls | None = None
) -> None:
    """Declare a kind of HTTP message (call from an AppConfig.ready(); registering again replaces).

    `tls` gives the TLS context of its https posts, e.g. one presenting a client certificate.
    """
    _kinds[kind] = HttpKind(prepare=prepare, accept=accept or accept_2xx, tls=tls)


def registered_http_kinds() -> frozenset[str]:
    return frozenset(_kinds)


def http_kind(kind: str) -> HttpKind:
    try:
        return _kinds[kind]
    except KeyError:
        raise DeliveryError(f"no handler registered for kind {kind!r}") from None


def http_post(message: OutboxMessage, url: str, headers: dict[str, str], body: bytes) -> None:
    """One attempt: POST under the egress policy, then let the kind decide whether the answer is an
    acceptance. A redirect is an answer like any other: it is never followed."""
    kind = http_kind(message.template)
    all_headers = {"Content-Type": "application/json", **headers}
    if kind.prepare is not None:
        all_headers.update(kind.prepare(message, body))
    try:
        status, answer = egress_post(
            url=url,
            body=body,
            headers=all_headers,
            timeout=HTTP_TIMEOUT_S,
            connect_timeout=CONNECT_TIMEOUT_S,
            max_answer=MAX_ANSWER_BYTES,
            context=kind.tls() if kind.tls is not None else None,
        )
    except EgressRefused as exc:
        raise PermanentDeliveryError(f"destination refused: {exc}") from None
    except EgressFailed as exc:
        raise DeliveryError(f"unreachable: {exc}") from None
    kind.accept(message, status, answer)
