"""EMV 3DS message schemas (issuer.acs.messages): golden vectors (docs/emv-3ds.md §9), AReq validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from guichet.issuer.acs.messages import AReq, ARes, Erro, parse_areq
from tests.issuer.acs.support import ACS_TRANS_ID, DS_FIELDS, VECTORS, areq_210, areq_220, vector


def send(message: dict[str, Any]) -> AReq | Erro:
    return parse_areq(json.dumps(message).encode(), acs_trans_id=ACS_TRANS_ID)


def erro_of(result: AReq | Erro) -> dict[str, Any]:
    assert isinstance(result, Erro), result
    return result.model_dump(by_alias=True, exclude_none=True)


ARES_VECTORS = [
    "visa-220-107-ares",
    "mir-1-6-ares",
    "visa-220-101-ares-y",
    "visa-220-106-ares-a",
    "visa-220-105-ares-i",
    "visa-220-103-ares-u",
    "visa-220-104-ares-r",
    "mir-1-1-ares-n",
    "mir-1-2-ares-a",
]
ERRO_VECTORS = ["erro-acs-permanent-failure", "erro-ds-timeout", "erro-rreq-not-received"]


@pytest.mark.parametrize("name", ARES_VECTORS)
def test_golden_ares_vectors_validate_and_serialise_back_unchanged(name):
    # given a public ARes example
    wire = vector(name)
    # when it goes through our model and back out
    ares = ARes.model_validate(wire)
    # then the wire form is the same, key for key and value for value
    assert ares.model_dump(by_alias=True, exclude_none=True) == wire


@pytest.mark.parametrize("name", ERRO_VECTORS)
def test_golden_erro_vectors_validate_and_serialise_back_unchanged(name):
    wire = vector(name)
    assert Erro.model_validate(wire).model_dump(by_alias=True, exclude_none=True) == wire


def test_golden_areq_220_parses_once_the_ds_added_its_fields():
    # given the Visa 2.2.0 browser AReq with the DS's three elements
    result = send(areq_220())
    # then it is an AReq with the wire values kept as strings
    assert isinstance(result, AReq)
    assert result.messageVersion == "2.2.0"
    assert result.acctNumber == "0000000000001097"
    assert result.purchaseAmount == "12415"
    assert result.browserJavascriptEnabled is False
    assert result.threeDSRequestorChallengeInd == "04"
    assert result.homePhone is not None
    assert result.homePhone.cc == "51"
    assert result.messageExtension is not None
    assert result.messageExtension[0].criticalityIndicator is False


def test_golden_areq_210_parses_once_the_ds_added_its_fields():
    result = send(areq_210())
    assert isinstance(result, AReq)
    assert (result.messageVersion, result.acctNumber, result.browserTZ) == (
        "2.1.0",
        "2201382000000047",
        "5316",
    )
    assert result.browserJavascriptEnabled is None


def test_golden_areq_as_the_3ds_server_sent_it_lacks_the_ds_elements():
    # given the published vector verbatim: no dsTransID, dsReferenceNumber, dsURL
    raw = (VECTORS / "visa-220-107-areq.json").read_bytes()
    # when the ACS parses it, then 201 names all three, and the Erro echoes the 3DS Server's id
    assert erro_of(parse_areq(raw, acs_trans_id=ACS_TRANS_ID)) == {
        "messageType": "Erro",
        "messageVersion": "2.2.0",
        "errorCode": "201",
        "errorComponent": "A",
        "errorDescription": "Required Data Element Missing",
        "errorDetail": "dsTransID,dsReferenceNumber,dsURL",
        "errorMessageType": "AReq",
        "threeDSServerTransID": "6c57c18f-e55b-4333-a991-460b04ee0730",
        "acsTransID": ACS_TRANS_ID,
    }


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"", "message is not valid JSON"),
        (b"{not json", "message is not valid JSON"),
        (b'{"messageType": NaN}', "message is not valid JSON"),
        (b"\xff\xfe{}", "message is not valid JSON"),
        (b"[" * 100_000, "message is not valid JSON"),
        (b"[1, 2]", "message is not a JSON object"),
        (b'{"messageType": "ARes", "messageVersion": "2.2.0"}', "messageType"),
        (b'{"messageVersion": "2.2.0"}', "messageType"),
        (b" " * (128 * 1024 + 1), "message exceeds 131072 bytes"),
    ],
)
def test_101_when_not_json_or_not_an_areq(raw, detail):
    erro = erro_of(parse_areq(raw))
    assert (erro["errorCode"], erro["errorDetail"], erro["messageVersion"]) == ("101", detail, "2.2.0")
    assert erro["errorDescription"] == "Message Received Invalid"
    # nothing known to echo
    assert "threeDSServerTransID" not in erro
    assert "dsTransID" not in erro


def test_101_for_an_ares_still_echoes_the_ids_it_can_read():
    erro = erro_of(send(areq_220(messageType="ARes")))
    assert (erro["errorCode"], erro["errorDetail"]) == ("101", "messageType")
    assert erro["threeDSServerTransID"] == "6c57c18f-e55b-4333-a991-460b04ee0730"
    assert erro["dsTransID"] == DS_FIELDS["dsTransID"]


@pytest.mark.parametrize("version", ["2.4.0", "2.0.0", "3", ""])
def test_102_unsupported_version_answers_in_a_supported_one(version):
    erro = erro_of(send(areq_220(messageVersion=version)))
    assert (erro["errorCode"], erro["errorDetail"], erro["messageVersion"]) == (
        "102",
        "messageVersion",
        "2.2.0",
    )
    assert erro["errorDescription"] == "Message Version Number Not Supported"


@pytest.mark.parametrize(
    ("message", "detail", "version"),
    [
        (areq_220(acctNumber=...), "acctNumber", "2.2.0"),
        (areq_220(messageVersion=...), "messageVersion", "2.2.0"),
        (
            areq_220(threeDSServerTransID=..., notificationURL=...),
            "threeDSServerTransID,notificationURL",
            "2.2.0",
        ),
        # 2.2.0: the screen elements are required only when JavaScript is enabled
        (areq_220(browserJavascriptEnabled=True, browserTZ=...), "browserTZ", "2.2.0"),
        (areq_220(browserJavascriptEnabled=...), "browserJavascriptEnabled", "2.2.0"),
        # 2.1.0: always required
        (areq_210(browserTZ=..., browserColorDepth=...), "browserColorDepth,browserTZ", "2.1.0"),
        # payment: the purchase elements
        (areq_220(purchaseAmount=..., mcc=...), "mcc,purchaseAmount", "2.2.0"),
        # non-payment recurring: purchase and recurring elements
        (
            areq_220(messageCategory="02", threeDSRequestorAuthenticationInd="02", purchaseDate=...),
            "purchaseDate",
            "2.2.0",
        ),
        (areq_220(threeDSRequestorAuthenticationInd="03"), "purchaseInstalData", "2.2.0"),
        (areq_220(shipAddrCountry=...), "shipAddrCountry", "2.2.0"),
        (areq_220(threeDSRequestorDecReqInd="Y"), "threeDSRequestorDecMaxTime", "2.2.0"),
        (areq_220(homePhone={"cc": "33"}), "homePhone.subscriber", "2.2.0"),
    ],
)
def test_201_names_the_missing_elements(message, detail, version):
    erro = erro_of(send(message))
    assert (erro["errorCode"], erro["errorDetail"], erro["messageVersion"]) == ("201", detail, version)
    assert erro["errorDescription"] == "Required Data Element Missing"


def test_non_payment_without_purchase_elements_is_valid_but_payment_is_not():
    # given an AReq for a payment authentication indicator (01) with no purchase elements
    bare = dict.fromkeys(("purchaseAmount", "purchaseCurrency", "purchaseExponent", "purchaseDate"), ...)
    # then it parses as category 02 and is refused as category 01
    assert isinstance(send(areq_220(messageCategory="02", **bare)), AReq)
    assert erro_of(send(areq_220(**bare)))["errorDetail"] == (
        "purchaseAmount,purchaseCurrency,purchaseExponent,purchaseDate"
    )


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"acctNumber": "12345"}, "acctNumber"),
        ({"acctNumber": 4000000000001097}, "acctNumber"),
        ({"messageCategory": 1}, "messageCategory"),
        ({"deviceChannel": "04"}, "deviceChannel"),
        ({"threeDSServerTransID": "not-a-uuid"}, "threeDSServerTransID"),
        ({"notificationURL": "https://example.test/" + "x" * 240}, "notificationURL"),
        ({"notificationURL": "javascript:alert(1)"}, "notificationURL"),
        ({"browserColorDepth": "5"}, "browserColorDepth"),
        ({"browserJavaEnabled": "true"}, "browserJavaEnabled"),
        ({"browserLanguage": "fr-FR-x-long"}, "browserLanguage"),
        ({"browserIP": "300.1.1.1"}, "browserIP"),
        ({"purchaseDate": "20201317170901"}, "purchaseDate"),
        ({"purchaseAmount": "12.50"}, "purchaseAmount"),
        ({"acquirerMerchantID": "x" * 36}, "acquirerMerchantID"),
        ({"merchantName": ""}, "merchantName"),
        ({"cardExpiryDate": "2013"}, "cardExpiryDate"),
        ({"email": None}, "email"),
        ({"homePhone": {"cc": "51", "subscriber": "3x"}}, "homePhone.subscriber"),
        ({"threeDSRequestorChallengeInd": "10"}, "threeDSRequestorChallengeInd"),
        ({"mcc": "17750", "acctType": "04"}, "mcc,acctType"),
    ],
)
def test_203_names_the_badly_formatted_elements(changes, detail):
    erro = erro_of(send(areq_220(**changes)))
    assert (erro["errorCode"], erro["errorDetail"]) == ("203", detail)
    assert erro["errorDescription"] == (
        "Format of one or more Data Elements is Invalid according to the Specification"
    )
    # the 3DS Server's id is echoed whenever it is itself valid
    echoed = None if detail == "threeDSServerTransID" else "6c57c18f-e55b-4333-a991-460b04ee0730"
    assert erro.get("threeDSServerTransID") == echoed


def test_203_challenge_indicators_of_220_are_refused_in_210():
    assert isinstance(send(areq_220(threeDSRequestorChallengeInd="09")), AReq)
    erro = erro_of(send(areq_210(threeDSRequestorChallengeInd="05")))
    assert (erro["errorCode"], erro["errorDetail"], erro["messageVersion"]) == (
        "203",
        "threeDSRequestorChallengeInd",
        "2.1.0",
    )


def test_204_duplicate_element_is_named_even_when_both_values_are_valid():
    # given an AReq whose text carries acctNumber twice (json.dumps cannot, so splice the text)
    text = json.dumps(areq_220())
    raw = text.replace('"acctNumber": ', '"acctNumber": "4000000000001097", "acctNumber": ', 1).encode()
    # then 204 names it, and no AReq comes out with either value
    erro = erro_of(parse_areq(raw, acs_trans_id=ACS_TRANS_ID))
    assert (erro["errorCode"], erro["errorDetail"]) == ("204", "acctNumber")
    assert erro["errorDescription"] == "Duplicate Data Element"
    assert erro["acsTransID"] == ACS_TRANS_ID


def test_204_duplicate_inside_a_nested_object():
    text = json.dumps(areq_220())
    raw = text.replace('"cc": "51"', '"cc": "51", "cc": "52"', 1).encode()
    assert erro_of(parse_areq(raw))[("errorDetail")] == "cc"


def test_204_names_each_repeated_element_once():
    text = json.dumps(areq_220())
    raw = text.replace('"cc": "51"', '"cc": "51", "cc": "52", "cc": "53"', 1).replace(
        '"messageType": "AReq"', '"messageType": "AReq", "messageType": "AReq"', 1
    )
    # a nested object is complete before the one around it
    assert erro_of(parse_areq(raw.encode()))["errorDetail"] == "cc,messageType"


def test_202_critical_extension_not_recognised_names_its_id():
    extensions = [
        {"name": "a", "id": "A000000003-1", "criticalityIndicator": True, "data": {}},
        {"name": "b", "id": "A000000004-2", "criticalityIndicator": False, "data": {}},
        {"name": "c", "id": "A000000004-3", "criticalityIndicator": True, "data": {}},
    ]
    erro = erro_of(send(areq_220(messageExtension=extensions)))
    assert (erro["errorCode"], erro["errorDetail"]) == ("202", "A000000003-1,A000000004-3")


def test_304_excluded_iso_currency_code():
    erro = erro_of(send(areq_220(purchaseCurrency="999")))
    assert (erro["errorCode"], erro["errorDetail"]) == ("304", "purchaseCurrency")


def test_ares_conditional_rules_refuse_an_incomplete_challenge():
    wire = vector("visa-220-107-ares")
    with pytest.raises(ValidationError, match="acsURL is required"):
        ARes.model_validate({k: v for k, v in wire.items() if k != "acsURL"})
    with pytest.raises(ValidationError, match="authenticationValue is required"):
        ARes.model_validate(vector("visa-220-101-ares-y") | {"authenticationValue": None})
    with pytest.raises(ValidationError, match=r"22-26 does not exist in 2\.1\.0"):
        ARes.model_validate(vector("mir-1-1-ares-n") | {"transStatusReason": "22"})
    with pytest.raises(ValidationError, match="transStatusReason is required"):
        ARes.model_validate({k: v for k, v in vector("mir-1-1-ares-n").items() if k != "transStatusReason"})


# -- property: whatever the DS sends, an AReq or a schema-valid Erro, never an exception --

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["", "01", "02", "Y"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
BASE = json.dumps(areq_220())


def check(result: AReq | Erro) -> None:
    if isinstance(result, Erro):
        wire = result.model_dump(by_alias=True, exclude_none=True)
        assert Erro.model_validate(json.loads(json.dumps(wire))) == result
        assert wire["errorComponent"] == "A"
        assert wire["errorMessageType"] == "AReq"
        # a 404 would mean validation itself failed on this input
        assert wire["errorCode"] != "404", wire
    else:
        assert isinstance(result, AReq)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_property_random_bytes_give_an_erro(raw):
    result = parse_areq(raw)
    check(result)
    assert isinstance(result, Erro)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(areq_220())) | st.text(max_size=10),
    action=st.sampled_from(["drop", "replace", "duplicate", "truncate"]),
    value=JSON_VALUES,
    cut=st.integers(min_value=0, max_value=len(BASE)),
)
def test_property_mutated_areqs_give_an_areq_or_a_valid_erro(key, action, value, cut):
    message = areq_220()
    if action == "drop":
        message.pop(key, None)
        raw = json.dumps(message).encode()
    elif action == "replace":
        message[key] = value
        raw = json.dumps(message).encode()
    elif action == "duplicate":
        raw = ("{" + json.dumps(key) + ": " + json.dumps(value) + ", " + BASE[1:]).encode()
    else:
        raw = BASE[:cut].encode()
    check(parse_areq(raw, acs_trans_id=ACS_TRANS_ID))
