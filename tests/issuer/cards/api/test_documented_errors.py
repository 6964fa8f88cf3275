"""The issuer API's errors: what the code raises, what its OpenAPI document lists and what
docs/issuers.md's table says are one set of (status, code) pairs (as for the merchant API)."""

from __future__ import annotations

from guichet.issuer.cards.api.openapi import COMMON, ERROR_CODES, issuer_openapi_document
from tests.support import api_errors
from tests.support.api_errors import Pairs

SOURCES = (
    "guichet/issuer/cards/api/views.py",
    "guichet/issuer/cards/api/keys.py",
    "guichet/issuer/cards/api/idempotency.py",
    "guichet/issuer/cards/lifecycle.py",
    "guichet/webapi/errors.py",
    "guichet/webapi/requests.py",
    "guichet/webapi/views.py",
    "guichet/webapi/idempotency.py",
    "guichet/core/middleware.py",
)


def raised_by_the_code() -> Pairs:
    return api_errors.raised_by_the_code(SOURCES, errors=("LifecycleError", "ApiError"))


def in_the_openapi_document() -> Pairs:
    return api_errors.in_the_openapi_document(issuer_openapi_document())


def in_the_docs() -> Pairs:
    return api_errors.in_the_docs("issuers.md")


def test_the_code_the_document_and_the_docs_list_the_same_errors() -> None:
    code = raised_by_the_code()
    assert len(code) > 25
    assert in_the_openapi_document() == code
    assert in_the_docs() == code
    assert {(status, c) for status, (_, codes) in ERROR_CODES.items() for c in codes} == code


def test_every_authenticated_operation_documents_the_common_errors() -> None:
    for path, item in issuer_openapi_document()["paths"].items():
        for operation in item.values():
            if path == "/openapi.json":
                continue
            statuses = {int(s) for s in operation["responses"] if s[0] in "45"}
            assert set(COMMON) <= statuses, path
