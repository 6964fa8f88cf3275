"""Each API's OpenAPI document, as the server hands it out, is a valid OpenAPI 3.1 document (checked
against the specification's schema by openapi-spec-validator, not only read by schemathesis)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

DOCUMENTS = ("/api/v1/openapi.json", "/api/operator/v1/openapi.json", "/api/issuer/v1/openapi.json")


def document(client: Client, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    found: dict[str, Any] = response.json()
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("url", DOCUMENTS)
def test_the_document_is_valid_openapi_3_1(client, url):
    served = document(client, url)
    assert served["openapi"] == "3.1.0"
    assert served["paths"]  # a document with operations, not an empty shell
    validate(served)  # raises on the first error


@pytest.mark.django_db
def test_a_broken_document_is_caught(client):
    broken = copy.deepcopy(document(client, DOCUMENTS[2]))
    operation = next(iter(next(iter(broken["paths"].values())).values()))
    operation["responses"] = {"200": {"content": {}}}  # a response without its required description
    with pytest.raises(OpenAPIValidationError):
        validate(broken)
