"""Schemathesis against the operator API's document, as for the merchant API's
(tests/payonbill/merchants/test_schemathesis.py): no 5xx, and every answer as the document says."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler

from guichet.payonbill.subscribers.operator_keys import operator_key_add
from tests.payonbill.subscribers.billfeed_support import charge, in_period
from tests.payonbill.subscribers.factories import make_contract
from tests.support.schemathesis_api import CHECKS, api_settings, same_connection  # noqa: F401 (fixture)

schema = schemathesis.openapi.from_wsgi("/api/operator/v1/openapi.json", WSGIHandler())


@pytest.fixture
def operator_key(db: None, same_connection: None) -> str:  # noqa: F811 (the fixture imported above)
    contract = make_contract()
    charge(contract, "pay_1", 390, in_period("2026-11"))
    return operator_key_add(name="facturation")[1]


@pytest.mark.django_db
@schema.parametrize()
@api_settings(max_examples=25)
def test_the_operator_api_answers_as_its_document_says(case: schemathesis.Case, operator_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {operator_key}"}, checks=CHECKS)
