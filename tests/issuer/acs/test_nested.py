"""The whole AReq is validated: every nested object and array element against its table, per version,
with errorDetail naming the element's path (docs/emv-3ds.md §1.6)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.core.text import json_bad_path
from guichet.issuer.acs.messages import AReq, Erro, parse_areq
from guichet.issuer.acs.messages.nested import AcctInfo, MerchantRiskIndicator
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from tests.issuer.acs.support import ACS_TRANS_ID, VISA_PAN, areq_220, areq_231, enrolled_holder, post_areq

EXTENSION = {"name": "x", "id": "A000000004-1", "criticalityIndicator": False, "data": {"k": "v"}}


def send(message: dict[str, Any]) -> AReq | Erro:
    return parse_areq(json.dumps(message).encode(), acs_trans_id=ACS_TRANS_ID)


def with_member(parent: str, member: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    message = base if base is not None else areq_220()
    inner = dict(message.get(parent) or {})
    inner[member] = value
    return message | {parent: inner}


@pytest.mark.parametrize(
    ("message", "code", "detail"),
    [
        (with_member("acctInfo", "chAccAgeInd", "ZZ"), "203", "acctInfo.chAccAgeInd"),
        (with_member("acctInfo", "chAccDate", "20231341"), "203", "acctInfo.chAccDate"),
        (with_member("acctInfo", "paymentAccAge", "2023-01-01"), "203", "acctInfo.paymentAccAge"),
        (with_member("acctInfo", "txnActivityDay", "1000"), "203", "acctInfo.txnActivityDay"),
        (with_member("acctInfo", "nbPurchaseAccount", 12), "203", "acctInfo.nbPurchaseAccount"),
        (with_member("acctInfo", "chAccAgeInd", None), "203", "acctInfo.chAccAgeInd"),
        (areq_220(acctInfo="05"), "203", "acctInfo"),
        (areq_220(acctInfo=["05"]), "203", "acctInfo"),
        (
            with_member("merchantRiskIndicator", "shipIndicator", "08"),
            "203",
            "merchantRiskIndicator.shipIndicator",
        ),
        (
            with_member("merchantRiskIndicator", "giftCardCount", "1"),
            "203",
            "merchantRiskIndicator.giftCardCount",
        ),
        (
            with_member("merchantRiskIndicator", "preOrderDate", "20230229"),
            "203",
            "merchantRiskIndicator.preOrderDate",
        ),
        (
            with_member("merchantRiskIndicator", "deliveryEmailAddress", "no-at-sign"),
            "203",
            "merchantRiskIndicator.deliveryEmailAddress",
        ),
        (
            with_member("merchantRiskIndicator", "giftCardCurr", "999"),
            "304",
            "merchantRiskIndicator.giftCardCurr",
        ),
        (
            with_member("threeDSRequestorAuthenticationInfo", "threeDSReqAuthTimestamp", "202302301200"),
            "203",
            "threeDSRequestorAuthenticationInfo.threeDSReqAuthTimestamp",
        ),
        (
            with_member("threeDSRequestorAuthenticationInfo", "threeDSReqAuthMethod", "09"),
            "203",
            "threeDSRequestorAuthenticationInfo.threeDSReqAuthMethod",
        ),
        (
            with_member("threeDSRequestorAuthenticationInfo", "threeDSReqAuthData", {"fido": "x"}),
            "203",
            "threeDSRequestorAuthenticationInfo.threeDSReqAuthData",
        ),
        (
            areq_220(threeDSRequestorPriorAuthenticationInfo="x"),
            "203",
            "threeDSRequestorPriorAuthenticationInfo",
        ),
        (
            with_member("threeDSRequestorPriorAuthenticationInfo", "threeDSReqPriorAuthMethod", "05"),
            "203",
            "threeDSRequestorPriorAuthenticationInfo.threeDSReqPriorAuthMethod",
        ),
        (
            with_member("threeDSRequestorPriorAuthenticationInfo", "threeDSReqPriorRef", "x" * 37),
            "203",
            "threeDSRequestorPriorAuthenticationInfo.threeDSReqPriorRef",
        ),
        (areq_220(homePhone={"cc": None, "subscriber": "12"}), "203", "homePhone.cc"),
        (areq_220(homePhone={"subscriber": "12"}), "201", "homePhone.cc"),
        (
            areq_220(messageExtension=[{k: v for k, v in EXTENSION.items() if k != "data"}]),
            "201",
            "messageExtension.0.data",
        ),
        (areq_220(messageExtension=[EXTENSION | {"data": "text"}]), "203", "messageExtension.0.data"),
        (
            areq_220(messageExtension=[EXTENSION, EXTENSION | {"data": None}]),
            "203",
            "messageExtension.1.data",
        ),
        (areq_220(messageExtension=[EXTENSION] * 11), "203", "messageExtension"),
        (
            areq_220(messageExtension=[EXTENSION | {"data": {"k": "v" * 8100}}]),
            "203",
            "messageExtension.0.data",
        ),
        (
            areq_220(messageExtension=[EXTENSION | {"criticalityIndicator": "false"}]),
            "203",
            "messageExtension.0.criticalityIndicator",
        ),
    ],
)
def test_a_bad_nested_member_is_refused_naming_its_path(message, code, detail):
    erro = send(message)
    assert isinstance(erro, Erro), erro
    assert (erro.errorCode, erro.errorDetail) == (code, detail)


@pytest.mark.parametrize(
    "message",
    [
        with_member("threeDSRequestorAuthenticationInfo", "threeDSReqAuthMethod", "09", areq_231()),
        with_member("threeDSRequestorAuthenticationInfo", "threeDSReqAuthData", {"fido": "x"}, areq_231()),
        with_member("threeDSRequestorPriorAuthenticationInfo", "threeDSReqPriorAuthMethod", "05", areq_231()),
        areq_231(messageExtension=[EXTENSION] * 15),
        with_member("acctInfo", "aFutureMember", "anything"),  # unknown members are ignored, as at the top
        with_member("threeDSRequestorAuthenticationInfo", "threeDSReqAuthMethod", "85"),  # DS use
    ],
)
def test_what_the_version_allows_is_accepted(message):
    assert isinstance(send(message), AReq)


def test_the_public_vectors_nested_objects_are_read_as_their_tables():
    areq = send(areq_220())
    assert isinstance(areq, AReq)
    assert isinstance(areq.acctInfo, AcctInfo)
    assert isinstance(areq.merchantRiskIndicator, MerchantRiskIndicator)
    assert areq.messageExtension is not None
    assert areq.threeDSRequestorPriorAuthenticationInfo is not None  # {} in the Visa vector: all optional


@pytest.mark.django_db
def test_through_the_endpoint_a_bad_nested_member_changes_nothing(client):
    enrolled_holder(VISA_PAN)
    answer = post_areq(client, with_member("acctInfo", "chAccAgeInd", "ZZ", areq_220(acctNumber=VISA_PAN)))
    assert (answer["messageType"], answer["errorCode"], answer["errorDetail"]) == (
        "Erro", "203", "acctInfo.chAccAgeInd",
    )  # fmt: skip
    assert (AcsTransaction.objects.count(), AcsMessage.objects.count()) == (0, 0)


# --- mutating nested members at random --------------------------------------------------------------

NESTED = {
    "acctInfo": list(AcctInfo.model_fields),
    "merchantRiskIndicator": list(MerchantRiskIndicator.model_fields),
    "threeDSRequestorAuthenticationInfo": [
        "threeDSReqAuthMethod", "threeDSReqAuthTimestamp", "threeDSReqAuthData",
    ],
    "threeDSRequestorPriorAuthenticationInfo": [
        "threeDSReqPriorAuthMethod", "threeDSReqPriorAuthTimestamp", "threeDSReqPriorRef",
    ],
    "homePhone": ["cc", "subscriber"],
}  # fmt: skip
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(["01", "05", "99", "20230101"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parent=st.sampled_from(sorted(NESTED)), data=st.data(), value=JSON)
def test_any_nested_mutation_is_an_areq_keeping_it_or_an_erro_naming_its_path(parent, data, value):
    member = data.draw(st.sampled_from(NESTED[parent]))
    result = send(with_member(parent, member, value))
    if isinstance(result, AReq):
        kept = getattr(getattr(result, parent), member)
        assert kept == value or (hasattr(kept, "model_dump") and kept.model_dump(exclude_none=True) == value)
        return
    assert result.errorCode in ("201", "203", "304"), result
    if json_bad_path(value) is not None:  # a character no element allows: named at the top level
        assert (result.errorCode, result.errorDetail) == ("203", parent)
        return
    path = f"{parent}.{member}"  # or a path inside it (a key may hold a comma: no splitting)
    assert result.errorDetail == path or result.errorDetail.startswith(path + "."), result.errorDetail
