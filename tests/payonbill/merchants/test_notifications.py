"""Signed notifications through the outbox, to a real HTTP server that is down for a while, then up;
verified with the example code of the merchant documentation."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.test import Client

from guichet.delivery.models import OutboxMessage
from guichet.delivery.worker import deliver_due
from guichet.payonbill.merchants import schemas
from guichet.payonbill.merchants.models import Notification, Payment
from guichet.payonbill.merchants.notifications import payment_return_url
from guichet.payonbill.merchants.payments import payment_cancel, payment_complete
from tests.payonbill.merchants.conftest import Api, make_merchant, payment_body
from tests.support.paths import ROOT
from tests.support.servers import HttpReceiver, Received


def doc_example() -> dict[str, Any]:
    """Run the Python block of docs/merchants.md; return what it defines."""
    path = ROOT / "docs" / "merchants.md"
    text = path.read_text(encoding="utf-8")
    match = re.search(r"```python\n(import hashlib\n.*?def verify_return.*?)```", text, re.DOTALL)
    assert match, "the verification example is missing from docs/merchants.md"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(path), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace


class Merchant:
    """The merchant's endpoint: checks every signature, keeps events by id, can be down."""

    def __init__(self, receiver: HttpReceiver, secret: str, clock: Any) -> None:
        self.verify = doc_example()["verify_signature"]
        self.secret = secret
        self.clock = clock
        self.down = True
        self.lose_answer_once: set[str] = set()  # event ids processed but whose answer gets lost
        self.handled: dict[str, dict[str, Any]] = {}
        self.seen: list[str] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        receiver.respond_with(self.answer)

    def answer(self, request: Received) -> tuple[int, bytes]:
        signature = request.headers.get("Guichet-Signature", "")
        if not self.verify(self.secret, signature, request.body, now=self.clock.now().timestamp()):
            with self.lock:
                self.bad_signatures += 1
            return 400, b"bad signature"
        if self.down:
            return 503, b""
        event = json.loads(request.body)
        with self.lock:
            self.seen.append(event["id"])
            self.handled.setdefault(event["id"], event)  # de-duplicated by id
            if event["id"] in self.lose_answer_once:
                self.lose_answer_once.discard(event["id"])
                return 500, b""  # processed, but Guichet will not know: it sends again
        return 200, b""


def run_outbox(clock: Any, *, rounds: int, step_s: float) -> None:
    for _ in range(rounds):
        deliver_due()
        clock.advance(seconds=step_s)


def test_receiver_down_then_up_gets_every_event_once_identifiable(
    db: None, clock: Any, http_receiver: HttpReceiver
) -> None:
    # given: a merchant whose endpoint is down, and four events
    created = make_merchant(notification_url=http_receiver.url("/hooks/guichet"))
    merchant = Merchant(http_receiver, created.notification_secret, clock)
    api = Api(Client(), created.api_key)
    paid, cancelled, expiring = (api.post("payments", payment_body()).json()["id"] for _ in range(3))
    payment_complete(payment_id=paid, payer_email="marie@example.fr", charge=lambda p: None)
    payment_cancel(payment_id=cancelled)
    assert api.post(f"payments/{paid}/refunds", {"amount": 90}).status_code == 201
    clock.advance(seconds=15 * 60)  # the third payment expires (found by the periodic sweeper)

    # when: two hours down, with the outbox retrying
    run_outbox(clock, rounds=12, step_s=600)
    assert merchant.handled == {}
    tries_while_down = len(http_receiver.received)
    assert tries_while_down >= 5
    # then up, losing the answer to the first event once
    first_event = Notification.objects.order_by("id").first()
    assert first_event is not None
    merchant.lose_answer_once.add(first_event.event_id)
    merchant.down = False
    run_outbox(clock, rounds=20, step_s=1800)

    # then: every event delivered, in order, the redelivery recognisable by its id
    notifications = list(Notification.objects.order_by("id"))
    assert [(n.type, n.payment.public_id) for n in notifications] == [
        ("payment.succeeded", paid),
        ("payment.cancelled", cancelled),
        ("refund.succeeded", paid),
        ("payment.expired", expiring),
    ]
    ids = [n.event_id for n in notifications]
    assert list(merchant.handled) == ids
    assert merchant.seen == [ids[0], *ids]  # one duplicate, the one whose answer was lost
    assert merchant.bad_signatures == 0
    assert all(n.delivered_at is not None and n.last_status == 200 for n in notifications)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxMessage.Status.SENT}
    # every attempt was signed afresh: the times in the signatures differ
    times = {r.headers["Guichet-Signature"].split(",")[0] for r in http_receiver.received}
    assert len(times) > 5
    for event in merchant.handled.values():
        schemas.Event.model_validate(event)  # as the OpenAPI document describes it
    assert merchant.handled[ids[2]]["refund"]["amount"] == 90
    assert merchant.handled[ids[0]]["payment"]["status"] == "succeeded"


def test_a_payment_notification_url_overrides_the_merchants(
    db: None, clock: Any, http_receiver: HttpReceiver
) -> None:
    created = make_merchant(notification_url=http_receiver.url("/default"))
    merchant = Merchant(http_receiver, created.notification_secret, clock)
    merchant.down = False
    api = Api(Client(), created.api_key)
    body = payment_body(notification_url=http_receiver.url("/this-one"))
    payment_cancel(payment_id=api.post("payments", body).json()["id"])
    deliver_due()
    assert [r.path for r in http_receiver.received] == ["/this-one"]
    assert len(merchant.handled) == 1


def test_a_wrong_secret_or_an_old_signature_is_refused_by_the_example(
    db: None, clock: Any, http_receiver: HttpReceiver
) -> None:
    example = doc_example()
    created = make_merchant(notification_url=http_receiver.url("/hooks"))
    api = Api(Client(), created.api_key)
    payment_id = api.post("payments", payment_body()).json()["id"]
    payment_cancel(payment_id=payment_id)
    deliver_due()
    request = http_receiver.received[0]
    header = request.headers["Guichet-Signature"]
    now = clock.now().timestamp()
    assert example["verify_signature"](created.notification_secret, header, request.body, now=now)
    assert not example["verify_signature"]("whsec_other", header, request.body, now=now)
    assert not example["verify_signature"](created.notification_secret, header, request.body + b" ", now=now)
    assert not example["verify_signature"](created.notification_secret, header, request.body, now=now + 301)
    assert not example["verify_signature"](created.notification_secret, "garbage", request.body, now=now)
    # the signed return, verified the same way
    url = payment_return_url(payment=Payment.objects.get(public_id=payment_id))
    query = dict(parse_qsl(urlsplit(url).query))
    assert example["verify_return"](created.notification_secret, query, now=now)
    assert not example["verify_return"](
        created.notification_secret, {**query, "status": "succeeded"}, now=now
    )


def test_a_signed_notification_never_goes_to_another_port_of_the_merchants_host(
    db: None, clock: Any, http_receiver: HttpReceiver
) -> None:
    # given a merchant notified on one port of 127.0.0.1, and another service on another port
    other = HttpReceiver()
    other.start()
    try:
        created = make_merchant(notification_url=http_receiver.url("/hooks"))
        api = Api(Client(), created.api_key)
        # when a payment names the other port
        response = api.post("payments", payment_body(notification_url=other.url("/hooks")))
        # then it is refused, and nothing is ever posted there
        assert (response.status_code, response.json()["error"]["code"]) == (
            422,
            "notification_host_not_allowed",
        )
        assert Payment.objects.count() == 0
        deliver_due()
        assert other.received == []
    finally:
        other.stop()
