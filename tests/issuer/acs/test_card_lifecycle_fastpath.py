"""The event loop's AReq path (PostgreSQL's pool, or SQLite through Django's threads) reads the card's
block and the phone hold as Django does: run it on both databases (GUICHET_TEST_DATABASE_URL)."""

from __future__ import annotations

import json

import pytest

from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.cards.lifecycle import card_block, cardholder_phone_change
from guichet.issuer.cards.services import card_find
from tests.issuer.acs.support import VISA_PAN, areq_220, enrolled_holder
from tests.issuer.acs.test_areq_asgi import harness, no_django  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def ares(harness_: object, pan: str) -> dict[str, str]:
    status, _, content = harness_.request("POST", "/3ds/areq", json.dumps(areq_220(acctNumber=pan)).encode())  # type: ignore[attr-defined]
    assert status == 200
    answer: dict[str, str] = json.loads(content)
    return answer


def test_a_card_blocked_for_fraud_is_n11_on_the_event_loop(harness, no_django):  # noqa: F811
    enrolled_holder(VISA_PAN)
    assert ares(harness, VISA_PAN)["transStatus"] == "C"
    card = card_find(pan=VISA_PAN)
    assert card is not None
    card_block(card=card, reason="fraud", actor="api:gi_test")
    answer = ares(harness, VISA_PAN)
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", "11")
    assert no_django == []
    assert list(AcsTransaction.objects.order_by("created_at").values_list("decided_by", flat=True)) == [
        "challenge",
        "card_blocked",
    ]


def test_a_phone_on_hold_is_n12_on_the_event_loop_and_no_sms_is_sent(harness, no_django):  # noqa: F811
    holder, pan = enrolled_holder(VISA_PAN)
    cardholder_phone_change(cardholder=holder, phone="+687700001", hold_hours=24, actor="api:gi_test")
    answer = ares(harness, pan)
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", "12")
    assert answer["cardholderInfo"].startswith("Votre numéro de téléphone a changé récemment")
    assert no_django == []
    assert AcsTransaction.objects.get().decided_by == "sms_hold"
    assert OutboxMessage.objects.filter(channel="sms").count() == 0
