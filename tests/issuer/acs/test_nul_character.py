"""U+0000 in a message: no field allows it and PostgreSQL's jsonb cannot store it, so it is refused
the same way (Erro 203 naming the element) on every database, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from guichet.issuer.acs.messages import Erro
from guichet.issuer.acs.messages.creq import parse_creq
from guichet.issuer.acs.messages.validation import parse_areq
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from tests.issuer.acs.challenge.support import b64url
from tests.issuer.acs.support import areq_220, enrolled_holder, post_areq


def test_nul_in_a_top_level_value_is_a_format_error() -> None:
    message = areq_220(merchantName="Shop\x00Name")
    answer = parse_areq(json.dumps(message).encode())
    assert isinstance(answer, Erro)
    assert (answer.errorCode, answer.errorDetail) == ("203", "merchantName")
    assert answer.threeDSServerTransID == message["threeDSServerTransID"]


def test_nul_in_a_nested_value_names_the_top_level_element() -> None:
    extension = [
        {"name": "x", "id": "A000000802-001", "criticalityIndicator": False, "data": {"k": ["a\x00"]}}
    ]
    answer = parse_areq(json.dumps(areq_220(messageExtension=extension)).encode())
    assert isinstance(answer, Erro)
    assert (answer.errorCode, answer.errorDetail) == ("203", "messageExtension")


def test_an_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    # "\\u0000" in JSON text is a backslash followed by "u0000": a plain (if odd) merchant name.
    answer = parse_areq(json.dumps(areq_220(merchantName="A\\u0000B")).encode())
    assert not isinstance(answer, Erro) or answer.errorDetail != "merchantName"


@pytest.mark.django_db
def test_the_endpoint_refuses_it_and_stores_nothing() -> None:
    _, pan = enrolled_holder()
    answer = post_areq(Client(), areq_220(acctNumber=pan, merchantName="Shop\x00"))
    assert answer["messageType"] == "Erro"
    assert (answer["errorCode"], answer["errorDetail"]) == ("203", "merchantName")
    assert AcsTransaction.objects.count() == 0
    assert AcsMessage.objects.count() == 0


def test_a_creq_with_a_nul_is_a_format_error() -> None:
    creq = {
        "threeDSServerTransID": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
        "acsTransID": "0b3e5a8e-4f7c-4a55-9d0e-2f1c3b6a7d88",
        "challengeWindowSize": "05\x00",
        "messageType": "CReq",
        "messageVersion": "2.2.0",
    }
    answer, _ = parse_creq(b64url(creq))
    assert isinstance(answer, Erro)
    assert (answer.errorCode, answer.errorDetail) == ("203", "challengeWindowSize")
    assert answer.acsTransID == creq["acsTransID"]
