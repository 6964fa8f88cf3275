"""Every channel gets a protocol answer: 3RI (03) decided by its own chain, never challenged; app (01)
validated with the SDK's elements and answered U / 03; never the browser's 201 for either."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs.challenge.models import Challenge
from guichet.issuer.acs.messages import AReq, ARes, Erro, parse_areq
from guichet.issuer.acs.models import AcsTransaction
from tests.issuer.acs.support import (
    ACS_TRANS_ID,
    MASTERCARD_PAN,
    VISA_PAN,
    areq_3ri,
    areq_210,
    areq_220,
    areq_app,
    enrolled_holder,
    post_areq,
)

pytestmark = pytest.mark.django_db


def parsed(message: dict[str, Any]) -> AReq | Erro:
    return parse_areq(json.dumps(message).encode(), acs_trans_id=ACS_TRANS_ID)


def nothing_challenged() -> None:
    assert Challenge.objects.count() == 0
    assert OutboxMessage.objects.count() == 0  # no SMS, no RReq


def earlier_y(client: Any, pan: str, *, status: str = "Y") -> str:
    """An earlier authentication of the card, ended `status` (as a challenge would end it): its acsTransID."""
    answer = post_areq(client, areq_220(acctNumber=pan, threeDSServerTransID=str(uuid.uuid4())))
    AcsTransaction.objects.filter(pk=answer["acsTransID"]).update(trans_status=status)
    return str(answer["acsTransID"])


def prior(reference: str) -> dict[str, Any]:
    return {
        "threeDSRequestorPriorAuthenticationInfo": {
            "threeDSReqPriorAuthMethod": "02",
            "threeDSReqPriorAuthTimestamp": "202012041015",
            "threeDSReqPriorRef": reference,
        }
    }


# --- 3RI -------------------------------------------------------------------------------------------


def test_a_3ri_areq_needs_none_of_the_browser_elements():
    result = parsed(areq_3ri())
    assert isinstance(result, AReq), result
    assert (result.deviceChannel, result.threeRIInd, result.notificationURL, result.threeDSCompInd) == (
        "03", "01", None, None,
    )  # fmt: skip


def test_a_3ri_areq_without_its_indicator_is_201_naming_only_threeriind():
    erro = parsed(areq_3ri(threeRIInd=...))
    assert isinstance(erro, Erro)
    assert (erro.errorCode, erro.errorDetail) == ("201", "threeRIInd")


@pytest.mark.parametrize(("version", "value"), [("2.1.0", "06"), ("2.2.0", "12"), ("2.2.0", "1")])
def test_a_3ri_indicator_outside_its_version_is_203(version, value):
    message = (
        areq_3ri(threeRIInd=value)
        if version == "2.2.0"
        else areq_3ri(messageVersion="2.1.0", threeRIInd=value)
    )
    erro = parsed(message)
    assert isinstance(erro, Erro)
    assert (erro.errorCode, erro.errorDetail) == ("203", "threeRIInd")


def test_a_3ri_recurring_payment_without_its_recurring_elements_is_201():
    erro = parsed(areq_3ri(recurringExpiry=..., recurringFrequency=...))
    assert isinstance(erro, Erro)
    assert (erro.errorCode, erro.errorDetail) == ("201", "recurringExpiry,recurringFrequency")


def test_a_3ri_for_an_unknown_card_is_u_08(client):
    answer = post_areq(client, areq_3ri(acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("U", "08")
    nothing_challenged()


def test_a_3ri_with_no_earlier_authentication_gets_the_default_u_26_never_a_challenge(client):
    enrolled_holder(VISA_PAN)
    answer = post_areq(client, areq_3ri(acctNumber=VISA_PAN))
    assert (answer["messageType"], answer["transStatus"], answer["transStatusReason"]) == ("ARes", "U", "26")
    assert "acsURL" not in answer
    assert "authenticationValue" not in answer
    ARes.model_validate(answer)
    tx = AcsTransaction.objects.get()
    assert (tx.device_channel, tx.decided_by, tx.state) == (
        "03",
        "3ri_default",
        AcsTransaction.State.FRICTIONLESS,
    )
    nothing_challenged()


def test_a_2_1_0_3ri_default_is_u_21_which_has_no_26(client):
    enrolled_holder(VISA_PAN)
    message = areq_210(acctNumber=VISA_PAN, deviceChannel="03", threeRIInd="01", messageCategory="02")
    for name in ("browserAcceptHeader", "browserUserAgent", "browserLanguage", "browserJavaEnabled",
                 "browserColorDepth", "browserScreenHeight", "browserScreenWidth", "browserTZ",
                 "threeDSCompInd", "notificationURL", "threeDSRequestorAuthenticationInd",
                 "threeDSServerURL"):  # fmt: skip
        message.pop(name, None)
    message |= {"recurringExpiry": "20301231", "recurringFrequency": "30"}
    answer = post_areq(client, message)
    assert (answer["transStatus"], answer["transStatusReason"]) == ("U", "21"), answer


def test_a_3ri_naming_an_earlier_y_of_the_same_card_is_y_with_its_authentication_value(client):
    enrolled_holder(VISA_PAN)
    reference = earlier_y(client, VISA_PAN)
    answer = post_areq(client, areq_3ri(acctNumber=VISA_PAN, **prior(reference)))
    assert (answer["transStatus"], answer["eci"], len(answer["authenticationValue"])) == ("Y", "05", 28)
    ARes.model_validate(answer)
    latest = AcsTransaction.objects.order_by("-created_at").first()
    assert latest is not None
    assert latest.decided_by == "prior_authentication"
    nothing_challenged()


@pytest.mark.parametrize("case", ["other card", "earlier N", "unknown id", "not an id"])
def test_a_3ri_naming_anything_else_gets_the_default(client, case):
    enrolled_holder(VISA_PAN)
    enrolled_holder(MASTERCARD_PAN)
    reference = {
        "other card": lambda: earlier_y(client, MASTERCARD_PAN),
        "earlier N": lambda: earlier_y(client, VISA_PAN, status="N"),
        "unknown id": lambda: str(uuid.uuid4()),
        "not an id": lambda: "REF-0001",
    }[case]()
    answer = post_areq(client, areq_3ri(acctNumber=VISA_PAN, **prior(reference)))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("U", "26")


def test_issuer_rules_decide_a_3ri_and_a_challenge_they_answer_is_passed_over(client, settings):
    enrolled_holder(VISA_PAN)
    acs = dataclasses.replace(
        settings.GUICHET.acs,
        rules=(("challenge_indicator", ()), ("frictionless_below", ("20000", "643"))),
    )
    settings.GUICHET = dataclasses.replace(settings.GUICHET, acs=acs)
    # challenge_indicator answers C for indicator 04: passed over, not reported as broken
    answer = post_areq(client, areq_3ri(acctNumber=VISA_PAN, threeDSRequestorChallengeInd="04"))
    assert answer["transStatus"] == "Y"
    assert AcsTransaction.objects.get().decided_by == "frictionless_below"


def test_a_3ri_non_payment_add_card_needs_no_purchase(client):
    enrolled_holder(VISA_PAN)
    message = areq_3ri(acctNumber=VISA_PAN, messageCategory="02", threeRIInd="03")
    for name in ("purchaseAmount", "purchaseCurrency", "purchaseExponent", "purchaseDate"):
        message.pop(name)
    answer = post_areq(client, message)
    assert (answer["messageType"], answer["transStatus"], answer["transStatusReason"]) == ("ARes", "U", "26")


# --- app -------------------------------------------------------------------------------------------


def test_the_test_platforms_app_areq_parses_with_its_sdk_elements():
    result = parsed(areq_app())
    assert isinstance(result, AReq), result
    assert result.deviceRenderOptions is not None
    assert (result.deviceRenderOptions.sdkInterface, result.sdkMaxTimeout) == ("03", "05")
    assert result.sdkEphemPubKey is not None
    assert result.sdkEphemPubKey.crv == "P-256"


@pytest.mark.parametrize("version", ["2.1.0", "2.2.0"])
def test_an_app_areq_is_answered_u_03_echoing_the_sdk_transaction(client, version):
    enrolled_holder(VISA_PAN)
    answer = post_areq(client, areq_app(messageVersion=version, acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("U", "03")
    assert answer["sdkTransID"] == "a8fc0876-e83b-4a9a-b52a-a3550491258d"
    assert AcsTransaction.objects.get().decided_by == "channel"
    nothing_challenged()


@pytest.mark.parametrize(
    ("changes", "code", "detail"),
    [
        ({"deviceRenderOptions": ...}, "201", "deviceRenderOptions"),
        ({"sdkTransID": ..., "sdkAppID": ...}, "201", "sdkAppID,sdkTransID"),
        ({"sdkMaxTimeout": "04"}, "203", "sdkMaxTimeout"),
        (
            {"sdkEphemPubKey": {"kty": "RSA", "crv": "P-256", "x": "a" * 43, "y": "b" * 43}},
            "203",
            "sdkEphemPubKey.kty",
        ),
        ({"sdkEphemPubKey": {"kty": "EC", "crv": "P-256", "x": "a" * 43}}, "201", "sdkEphemPubKey.y"),
        (
            {"deviceRenderOptions": {"sdkInterface": "04", "sdkUiType": ["01"]}},
            "203",
            "deviceRenderOptions.sdkInterface",
        ),
        (
            {"deviceRenderOptions": {"sdkInterface": "01", "sdkUiType": ["01", "06"]}},
            "203",
            "deviceRenderOptions.sdkUiType.1",
        ),
        (
            {"deviceRenderOptions": {"sdkInterface": "01", "sdkUiType": []}},
            "203",
            "deviceRenderOptions.sdkUiType",
        ),
    ],
)
def test_an_app_areq_is_checked_against_the_app_rules(client, changes, code, detail):
    answer = post_areq(client, areq_app(**changes))
    assert (answer["messageType"], answer["errorCode"], answer["errorDetail"]) == ("Erro", code, detail)
    assert AcsTransaction.objects.count() == 0


def test_an_app_areq_never_needs_the_browser_elements():
    erro_or_areq = parsed(areq_app(threeDSCompInd=..., notificationURL=...))
    assert isinstance(erro_or_areq, AReq)


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [({"deviceChannel": "85"}, "U", "03"), ({"messageCategory": "80"}, "U", "07")],
)
def test_ds_channels_and_categories_are_not_challenged(client, changes, status, reason):
    enrolled_holder(VISA_PAN)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN, **changes))
    assert (answer["transStatus"], answer["transStatusReason"]) == (status, reason)
    assert "acsURL" not in answer
    assert AcsTransaction.objects.get().decided_by == "channel"
