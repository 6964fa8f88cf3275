"""What the card lifecycle changes in the AReq's answer, through Django: a blocked card is N at once
with the reason's transStatusReason, a phone on hold turns a challenge into N / 12 and sends no SMS.
The event loop's path (tests/issuer/acs/test_card_lifecycle_fastpath.py) answers the same."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.cards.lifecycle import card_block, card_unblock, cardholder_phone_change
from guichet.issuer.cards.services import card_find
from tests.issuer.acs.support import VISA_PAN, areq_220, areq_231, enrolled_holder, post_areq

pytestmark = pytest.mark.django_db


def block(pan: str, reason: str) -> None:
    card = card_find(pan=pan)
    assert card is not None
    card_block(card=card, reason=reason, actor="api:gi_test")


@pytest.mark.parametrize(
    ("reason", "code"), [("stolen", "10"), ("fraud", "11"), ("lost", "12"), ("other", "12")]
)
def test_a_blocked_card_is_answered_n_with_its_reason_at_once(client, reason, code):
    enrolled_holder(VISA_PAN)
    assert post_areq(client, areq_220(acctNumber=VISA_PAN))["transStatus"] == "C"
    block(VISA_PAN, reason)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", code)
    assert "acsURL" not in answer
    assert AcsTransaction.objects.order_by("created_at").last().decided_by == "card_blocked"  # type: ignore[union-attr]


def test_an_unblocked_card_is_challenged_again(client):
    enrolled_holder(VISA_PAN)
    block(VISA_PAN, "fraud")
    card = card_find(pan=VISA_PAN)
    assert card is not None
    card_unblock(card=card, actor="api:gi_test")
    assert post_areq(client, areq_220(acctNumber=VISA_PAN))["transStatus"] == "C"


def test_a_blocked_card_is_refused_in_2_1_0_and_2_3_1_too(client):
    enrolled_holder(VISA_PAN)
    block(VISA_PAN, "stolen")
    answer = post_areq(client, areq_231(acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", "10")


def hold(holder: Any, hours: int = 24) -> None:
    cardholder_phone_change(cardholder=holder, phone="+687700001", hold_hours=hours, actor="api:gi_test")


def test_while_the_new_phone_is_on_hold_a_challenge_becomes_n12_and_no_sms_is_sent(client, clock):
    holder, pan = enrolled_holder(VISA_PAN)
    hold(holder, 24)
    before = OutboxMessage.objects.filter(channel="sms").count()
    answer = post_areq(client, areq_220(acctNumber=pan, browserLanguage="en-GB"))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", "12")
    holder.refresh_from_db()
    assert answer["cardholderInfo"] == (
        "Your phone number was changed recently: payments needing an SMS code are refused until "
        f"{holder.sms_hold_until:%Y-%m-%d %H:%M} GMT."
    )
    assert "acsURL" not in answer
    tx = AcsTransaction.objects.get()
    assert (tx.decided_by, tx.state) == ("sms_hold", "frictionless")
    assert OutboxMessage.objects.filter(channel="sms").count() == before == 0

    clock.advance(seconds=24 * 3600 + 1)
    assert post_areq(client, areq_220(acctNumber=pan))["transStatus"] == "C"


def test_the_hold_message_is_french_for_a_french_browser(client):
    holder, pan = enrolled_holder(VISA_PAN)
    hold(holder, 2)
    answer = post_areq(client, areq_220(acctNumber=pan, browserLanguage="fr-FR"))
    holder.refresh_from_db()
    assert answer["cardholderInfo"] == (
        "Votre numéro de téléphone a changé récemment : les paiements demandant un code SMS sont "
        f"refusés jusqu'au {holder.sms_hold_until:%d/%m/%Y %H:%M} GMT."
    )
    assert len(answer["cardholderInfo"]) <= 128


def test_the_hold_leaves_a_frictionless_answer_alone(client, settings):
    holder, pan = enrolled_holder(VISA_PAN)
    hold(holder, 24)
    acs = dataclasses.replace(settings.GUICHET.acs, rules=(("frictionless_below", ("20000", "643")),))
    settings.GUICHET = dataclasses.replace(settings.GUICHET, acs=acs)
    answer = post_areq(client, areq_220(acctNumber=pan))
    assert answer["transStatus"] == "Y"
    assert AcsTransaction.objects.get().decided_by == "frictionless_below"
