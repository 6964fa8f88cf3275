"""Schemathesis against the OpenAPI document, through the Django application (WSGI, in process): for
cases generated from the document (valid and invalid), no 5xx, and every answer's status, content
type, headers and body are those the document gives for the operation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guichet.payonbill.merchants.accounts import MerchantCreated
from tests.payonbill.merchants.conftest import make_merchant

# WSGIHandler rather than get_wsgi_application(): Django is set up already (tests/conftest.py), and a
# second setup would point logging at whatever streams pytest is capturing then.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def same_connection() -> Iterator[None]:
    """The WSGI handler closes the thread's connection after each request, as Django's test client
    stops it doing: that connection holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def shop(db: None, same_connection: None) -> MerchantCreated:
    # The payments it creates go to hosts it allows, and its notification host.
    return make_merchant(return_hosts=["shop.example", "localhost", "example.com"])


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,  # per operation: about 20 s for the five on the CI machine
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure is reproducible
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_answers_as_its_document_says(case: schemathesis.Case, shop: MerchantCreated) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {shop.api_key}"}, checks=CHECKS)
