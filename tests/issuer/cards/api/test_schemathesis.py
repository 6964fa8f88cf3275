"""Schemathesis against the issuer API's OpenAPI document, through the Django application (WSGI, in
process): for cases generated from the document, no 5xx, and every answer's status, content type,
headers and body are those the document gives for the operation (as for the merchant API)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler

from guichet.issuer.cards.api.keys import issuer_key_add
from guichet.issuer.cards.lifecycle import CardholderInput, CardInput, cardholder_upsert
from tests.support.factories import make_pan
from tests.support.schemathesis_api import CHECKS, api_settings, same_connection  # noqa: F401 (fixture)

schema = schemathesis.openapi.from_wsgi("/api/issuer/v1/openapi.json", WSGIHandler())


@pytest.fixture
def issuer_key(db: None, same_connection: None) -> str:  # noqa: F811 (the fixture imported above)
    cardholder_upsert(
        data=CardholderInput(
            email="marie@example.com", phone="+687751123", name="Marie", reference="C-1",
            cards=[CardInput(pan=make_pan(), expiry="2912", reference="K-1")],
        ),
        actor="test",
    )  # fmt: skip
    return issuer_key_add(name="schemathesis")[1]


@pytest.mark.django_db
@schema.parametrize()
@api_settings(max_examples=15)
def test_the_issuer_api_answers_as_its_document_says(case: schemathesis.Case, issuer_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {issuer_key}"}, checks=CHECKS)
