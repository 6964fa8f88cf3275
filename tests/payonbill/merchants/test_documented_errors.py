"""The merchant API's errors: what the code raises, what the OpenAPI document lists and what
docs/merchants.md's table says are one set of (status, code) pairs; API answers are never cached."""

from __future__ import annotations

import ast
import re

import pytest

from guichet.payonbill.merchants.openapi import COMMON, ERROR_CODES, openapi_document
from guichet.payonbill.merchants.payments import payment_complete
from tests.payonbill.merchants.conftest import Api, payment_body
from tests.payonbill.merchants.test_payments import Bill
from tests.support.paths import ROOT

# Where the API's errors are raised: its views and service modules, and the middleware that answers for it.
SOURCES = (
    "guichet/payonbill/merchants/views.py",
    "guichet/payonbill/merchants/errors.py",
    "guichet/payonbill/merchants/accounts.py",
    "guichet/payonbill/merchants/payments.py",
    "guichet/payonbill/merchants/listing.py",
    "guichet/payonbill/merchants/idempotency.py",
    "guichet/payonbill/merchants/refunds.py",
    "guichet/core/middleware.py",
)
CODE = re.compile(r"[a-z]+(?:_[a-z]+)+")
Pairs = set[tuple[int, str]]


def _codes(
    node: ast.AST, module: ast.Module, function: ast.AST | None, seen: frozenset[str] = frozenset()
) -> set[str]:
    """The error codes an expression can evaluate to: its string constants, those of a local variable
    it names (its assignments in the function), and the values of a module-level dict it uses."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and CODE.fullmatch(sub.value):
            found.add(sub.value)
        elif isinstance(sub, ast.Name) and sub.id not in seen:
            local = list(ast.walk(function)) if function is not None else []
            for assign in [*local, *module.body]:  # the function's assignments, then the module's own
                if (
                    isinstance(assign, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == sub.id for t in assign.targets)
                    and assign.value is not node
                ):
                    value = assign.value
                    if isinstance(value, ast.Dict):
                        found |= {str(v.value) for v in value.values if isinstance(v, ast.Constant)}
                    else:
                        found |= _codes(value, module, function, seen | {sub.id})
    return found


def _status(call: ast.Call, default: int) -> int:
    for keyword in call.keywords:
        if keyword.arg == "status":
            assert isinstance(keyword.value, ast.Constant), ast.unparse(call)
            return int(str(keyword.value.value))
    return default


def _literal_code(call: ast.Call) -> str:
    """The code of a JSON error written out in a JsonResponse(...), or "" (built from a variable)."""
    for node in ast.walk(call):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code" and isinstance(value, ast.Constant):
                    return str(value.value)
    return ""


def _is_merchant_error(scope: ast.AST) -> bool:
    return isinstance(scope, ast.ClassDef) and any(
        ast.unparse(b).endswith("MerchantError") for b in scope.bases
    )


def raised_by_the_code() -> Pairs:
    pairs: Pairs = set()
    for source in SOURCES:
        module = ast.parse((ROOT / source).read_text())
        functions = [f for f in ast.walk(module) if isinstance(f, ast.FunctionDef | ast.ClassDef)]
        for scope in functions:
            for call in ast.walk(scope):
                if not isinstance(call, ast.Call):
                    continue
                name = ast.unparse(call.func)
                if (
                    name == "MerchantError" or (name == "super().__init__" and _is_merchant_error(scope))
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
    schemas = openapi_document()["components"]["schemas"]
    pairs: Pairs = set()
    for item in openapi_document()["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                    enum = schemas[name]["properties"]["error"]["properties"]["code"]["enum"]
                    pairs |= {(int(status), code) for code in enum}
    return pairs | {(405, "method_not_allowed")}  # for the methods the document does not list


def in_the_readme() -> Pairs:
    text = (ROOT / "docs" / "merchants.md").read_text()
    table = text[text.index("| status | `code` |") :].split("\n\n", 1)[0]
    pairs: Pairs = set()
    for row in table.splitlines()[2:]:
        status, codes = row.strip("|").split("|", 1)
        pairs |= {(int(status), code) for code in re.findall(r"`([^`]+)`", codes) if CODE.fullmatch(code)}
    return pairs


def test_the_code_the_document_and_the_readme_list_the_same_errors() -> None:
    code = raised_by_the_code()
    assert len(code) > 30  # the scan found the codes (a refactoring that hides them must not pass)
    assert in_the_openapi_document() == code
    assert in_the_readme() == code
    assert {(status, c) for status, (_, codes) in ERROR_CODES.items() for c in codes} == code


def test_every_authenticated_operation_documents_the_common_errors() -> None:
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            statuses = {int(s) for s in operation["responses"] if s[0] in "45"}
            expected = {400} if path == "/openapi.json" else set(COMMON)
            assert expected <= statuses, (path, method)


def test_the_documented_rules_of_the_idempotency_key_and_the_urls() -> None:
    parameters = openapi_document()["paths"]["/payments"]["post"]["parameters"]
    assert parameters[0]["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[ -~]+$",
    }
    properties = openapi_document()["components"]["schemas"]["PaymentCreate"]["properties"]
    assert [properties[name]["format"] for name in ("return_url", "cancel_url")] == ["uri", "uri"]
    assert properties["notification_url"]["format"] == "uri"


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "a\tb"])
def test_an_idempotency_key_outside_the_documented_rule_is_refused(api: Api, key: str) -> None:
    response = api.post("payments", payment_body(), idempotency_key=key)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_idempotency_key")


def test_a_refund_of_a_fully_refunded_payment_is_409_whatever_the_amount(api: Api) -> None:
    payment = api.post("payments", payment_body()).json()["id"]
    payment_complete(payment_id=payment, payer_email="marie@example.fr", charge=Bill())
    assert api.post(f"payments/{payment}/refunds", {}).status_code == 201
    for body in ({}, {"amount": 100}):
        response = api.post(f"payments/{payment}/refunds", body)
        assert (response.status_code, response.json()["error"]) == (
            409,
            {
                "code": "payment_fully_refunded",
                "message": "this payment is already refunded in full.",
                "field": None,
            },
        )


def test_every_api_answer_is_not_cached(api: Api) -> None:
    answers = [
        api.post("payments", payment_body()),
        api.get("payments"),
        api.get("payments/pay_nothing"),
        api.get("payments", key="gk_00000000_wrong"),
        api.client.get("/api/v1/openapi.json"),
    ]
    assert [(a.status_code, a["Cache-Control"]) for a in answers] == [
        (201, "no-store"),
        (200, "no-store"),
        (404, "no-store"),
        (401, "no-store"),
        (200, "no-store"),
    ]
