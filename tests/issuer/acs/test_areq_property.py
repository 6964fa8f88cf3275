"""Whatever the DS posts to /3ds/areq: never a 5xx, always an ARes or Erro valid for our schemas, and
nothing stored but the transaction record (with its two messages and its audit event)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from guichet.audit.models import AuditEvent
from guichet.codes.models import CredentialThrottle, OneTimeCode
from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs.messages import ARes, Erro
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.cards.models import Card, Cardholder
from tests.issuer.acs.support import VISA_PAN, areq_210, areq_220, enrolled_holder

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "01", "02", "03", "80", "Y", "N", "2.1.0", "2.2.0", VISA_PAN, "978", "12415"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
BASES = [json.dumps(areq_220(acctNumber=VISA_PAN)), json.dumps(areq_210(acctNumber=VISA_PAN))]


def snapshot() -> tuple[Any, ...]:
    """Everything an AReq must never change (cards, cardholders, credentials, outbox)."""
    return (
        list(Card.objects.order_by("id").values_list("id", "status", "expiry", "cardholder_id")),
        list(Cardholder.objects.order_by("id").values_list("id", "email", "phone", "epin_hash")),
        list(CredentialThrottle.objects.order_by("id").values_list("key", "failures", "blocked_until")),
        OneTimeCode.objects.count(),
        OutboxMessage.objects.count(),
    )


@pytest.fixture
def world() -> tuple[Any, ...]:
    enrolled_holder(VISA_PAN)
    return snapshot()


def check(client: Any, raw: bytes, before: tuple[Any, ...]) -> dict[str, Any]:
    counts = AcsTransaction.objects.count(), AcsMessage.objects.count(), AuditEvent.objects.count()
    response = client.post("/3ds/areq", data=raw, content_type="application/json")
    assert response.status_code == 200
    answer: dict[str, Any] = json.loads(response.content)
    after = AcsTransaction.objects.count(), AcsMessage.objects.count(), AuditEvent.objects.count()
    if answer.get("messageType") == "ARes":
        ares = ARes.model_validate(answer)
        assert after == (counts[0] + 1, counts[1] + 2, counts[2] + 1)
        assert AcsTransaction.objects.filter(pk=ares.acsTransID).exists()
    else:
        erro = Erro.model_validate(answer)
        assert (erro.errorComponent, erro.errorMessageType) == ("A", "AReq")
        assert erro.errorCode not in ("403", "404"), answer  # would mean a failure of ours
        assert after == (counts[0], counts[1], counts[2] + 1)
    assert snapshot() == before
    event(answer["messageType"] + " " + str(answer.get("transStatus") or answer.get("errorCode")))
    return answer


@settings(PROPERTY, max_examples=300)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bodies(client, world, raw):
    assert check(client, raw, world)["messageType"] == "Erro"


@settings(PROPERTY, max_examples=1000)
@given(
    base=st.sampled_from(BASES),
    mutations=st.lists(
        st.tuples(
            st.sampled_from(sorted(areq_220())) | st.text(max_size=12),
            st.sampled_from(["drop", "replace", "duplicate"]),
            JSON_VALUES,
        ),
        min_size=1,
        max_size=4,
    ),
    cut=st.none() | st.integers(min_value=0, max_value=len(BASES[0])),
)
def test_mutated_areqs(client, world, base, mutations, cut):
    message = json.loads(base)
    prefix = ""
    for key, action, value in mutations:
        if action == "drop":
            message.pop(key, None)
        elif action == "replace":
            message[key] = value
        else:
            prefix += json.dumps(key) + ": " + json.dumps(value) + ", "
    text = json.dumps(message)
    text = "{" + prefix + text[1:] if prefix else text
    raw = (text if cut is None else text[:cut]).encode()
    check(client, raw, world)


# Well-formed AReqs built from the schema's own vocabulary: mostly answered with an ARes.
FIELD_CHOICES: dict[str, Any] = {
    "messageVersion": st.sampled_from(["2.1.0", "2.2.0"]),
    "messageCategory": st.sampled_from(["01", "02", "80"]),
    "deviceChannel": st.sampled_from(["01", "02", "03"]),
    "threeDSRequestorChallengeInd": st.sampled_from(
        [..., "01", "02", "03", "04", "05", "06", "07", "08", "09"]
    ),
    "threeDSRequestorAuthenticationInd": st.sampled_from(["01", "02", "03", "04", "05", "06"]),
    "acctNumber": st.sampled_from([VISA_PAN, "5137000000000005", "4970100000000014"]),
    "purchaseAmount": st.from_regex(r"\A[0-9]{1,12}\Z"),
    "purchaseExponent": st.sampled_from(["0", "2", "3"]),
    "purchaseCurrency": st.sampled_from(["978", "840", "953"]),
    "browserJavascriptEnabled": st.booleans(),
    "browserLanguage": st.sampled_from(["fr", "en-GB", "de", "x"]),
    "purchaseInstalData": st.sampled_from([..., "2", "12"]),
    "recurringExpiry": st.sampled_from([..., "20301231"]),
    "recurringFrequency": st.sampled_from([..., "30"]),
}


@settings(PROPERTY, max_examples=700)
@given(choices=st.fixed_dictionaries(FIELD_CHOICES))
def test_generated_areqs(client, world, choices):
    base = areq_210 if choices["messageVersion"] == "2.1.0" else areq_220
    answer = check(client, json.dumps(base(**choices)).encode(), world)
    if answer["messageType"] == "ARes":
        assert answer["messageVersion"] == choices["messageVersion"]
        if answer["transStatus"] == "C":
            assert answer["acsURL"].endswith("/3ds/challenge")
            assert "authenticationValue" not in answer
