"""The issuer API's errors: what the code raises, what its OpenAPI document lists and what
docs/issuers.md's table says are one set of (status, code) pairs (as for the merchant API)."""

from __future__ import annotations

import ast
import re

from guichet.issuer.cards.api.openapi import COMMON, ERROR_CODES, issuer_openapi_document
from tests.payonbill.merchants.test_documented_errors import CODE, Pairs, _codes, _literal_code, _status
from tests.support.paths import ROOT

SOURCES = (
    "guichet/issuer/cards/api/views.py",
    "guichet/issuer/cards/api/keys.py",
    "guichet/issuer/cards/api/idempotency.py",
    "guichet/issuer/cards/lifecycle.py",
    "guichet/core/middleware.py",
)


def _is_lifecycle_error(scope: ast.AST) -> bool:
    return isinstance(scope, ast.ClassDef) and any(
        ast.unparse(b).endswith("LifecycleError") for b in scope.bases
    )


def raised_by_the_code() -> Pairs:
    pairs: Pairs = set()
    for source in SOURCES:
        module = ast.parse((ROOT / source).read_text())
        for scope in [f for f in ast.walk(module) if isinstance(f, ast.FunctionDef | ast.ClassDef)]:
            for call in ast.walk(scope):
                if not isinstance(call, ast.Call):
                    continue
                name = ast.unparse(call.func)
                if (
                    name == "LifecycleError" or (name == "super().__init__" and _is_lifecycle_error(scope))
                ) and call.args:
                    codes, status = _codes(call.args[0], module, scope), _status(call, 422)
                elif name == "error" and len(call.args) >= 2 and isinstance(call.args[0], ast.Constant):
                    codes, status = _codes(call.args[1], module, scope), int(str(call.args[0].value))
                elif name == "_refused" and len(call.args) >= 3:
                    codes, status = _codes(call.args[2], module, scope), 400
                elif name == "JsonResponse" and _literal_code(call):
                    codes, status = {_literal_code(call)}, _status(call, 200)
                else:
                    continue
                pairs |= {(status, code) for code in codes}
    return pairs


def in_the_openapi_document() -> Pairs:
    document = issuer_openapi_document()
    schemas = document["components"]["schemas"]
    pairs: Pairs = set()
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                    enum = schemas[name]["properties"]["error"]["properties"]["code"]["enum"]
                    pairs |= {(int(status), code) for code in enum}
    return pairs | {(405, "method_not_allowed")}


def in_the_docs() -> Pairs:
    text = (ROOT / "docs" / "issuers.md").read_text()
    table = text[text.index("| status | `code` |") :].split("\n\n", 1)[0]
    pairs: Pairs = set()
    for row in table.splitlines()[2:]:
        status, codes = row.strip("|").split("|", 1)
        pairs |= {(int(status), code) for code in re.findall(r"`([^`]+)`", codes) if CODE.fullmatch(code)}
    return pairs


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
