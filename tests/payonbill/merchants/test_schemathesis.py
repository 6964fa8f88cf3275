"""Schemathesis against the OpenAPI document, through the Django application (WSGI, in process): for
cases generated from the document (valid and invalid), no 5xx, and every answer's status, content
type, headers and body are those the document gives for the operation."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler

from guichet.payonbill.merchants.accounts import MerchantCreated
from tests.payonbill.merchants.conftest import make_merchant
from tests.support.schemathesis_api import CHECKS, api_settings, same_connection  # noqa: F401 (fixture)

# WSGIHandler rather than get_wsgi_application(): Django is set up already (tests/conftest.py), and a
# second setup would point logging at whatever streams pytest is capturing then.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())


@pytest.fixture
def shop(db: None, same_connection: None) -> MerchantCreated:  # noqa: F811 (the fixture imported above)
    # The payments it creates go to hosts it allows, and its notification host.
    return make_merchant(return_hosts=["shop.example", "localhost", "example.com"])


@pytest.mark.django_db
@schema.parametrize()
@api_settings(max_examples=25)  # per operation: about 20 s for the five on the CI machine
def test_the_api_answers_as_its_document_says(case: schemathesis.Case, shop: MerchantCreated) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {shop.api_key}"}, checks=CHECKS)
