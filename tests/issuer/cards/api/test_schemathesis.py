"""Schemathesis against the issuer API's OpenAPI document, through the Django application (WSGI, in
process): for cases generated from the document, no 5xx, and every answer's status, content type,
headers and body are those the document gives for the operation (as for the merchant API)."""

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

from guichet.issuer.cards.api.keys import issuer_key_add
from guichet.issuer.cards.lifecycle import CardholderInput, CardInput, cardholder_upsert
from tests.support.factories import make_pan

schema = schemathesis.openapi.from_wsgi("/api/issuer/v1/openapi.json", WSGIHandler())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def same_connection() -> Iterator[None]:
    """The WSGI handler closes the thread's connection after each request: it holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def issuer_key(db: None, same_connection: None) -> str:
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
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_issuer_api_answers_as_its_document_says(case: schemathesis.Case, issuer_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {issuer_key}"}, checks=CHECKS)
