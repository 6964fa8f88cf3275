"""A challenge that began before the cardholder's phone was changed with a hold sends no SMS to the new
phone: it ends N / 12, the page says why, the RReq says N / 12 (the AReq itself: test_card_lifecycle_areq)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.issuer.cards.lifecycle import cardholder_phone_change
from tests.issuer.acs.challenge.support import DirectoryServer, after_rres, post_creq, start, step
from tests.issuer.acs.challenge.test_flow import final_cres, rreqs

pytestmark = pytest.mark.django_db


def test_a_hold_set_during_the_challenge_refuses_the_sms_and_ends_it_n12(
    client: Client, outbound: Any, ds: DirectoryServer
) -> None:
    # given a challenge opened at the ePin step
    _, sms = outbound
    started = start(client, ds_url=ds.url, language="en-US")
    html = post_creq(client, started.creq()).content.decode()
    # when the issuer changes the phone with a hold, and the cardholder then types the ePin
    cardholder_phone_change(cardholder=started.holder, phone="+687700001", hold_hours=24, actor="api:gi_test")
    page = step(client, html, action="validate", epin="1234").content.decode()
    # then the page says why, the challenge ends N / 12 (the RReq, then the final CRes), no SMS goes out
    assert (
        "Your phone number was changed recently: for your security, no code can be sent to it by SMS yet."
        in page
    )
    assert final_cres(after_rres(client, page))["transStatus"] == "N"
    assert sms.state.received == []
    [rreq] = rreqs(ds)
    assert (rreq["transStatus"], rreq["transStatusReason"]) == ("N", "12")
    held = AuditEvent.objects.get(event="acs:sms:held")
    assert (held.subject, held.outcome, held.detail) == (
        started.holder.throttle_key, "refused", {"acs_trans_id": started.acs_trans_id},
    )  # fmt: skip
