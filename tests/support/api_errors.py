"""An API's errors three ways, as sets of (status, code) pairs: what its code raises (read from the
source, so a code nobody documents cannot hide), what its OpenAPI document lists and what its page in
docs/ says. Each API's test_documented_errors.py checks that the three are one set."""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Sequence
from typing import Any

from tests.support.paths import ROOT

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


def _is_error_class(scope: ast.AST, errors: Collection[str]) -> bool:
    return isinstance(scope, ast.ClassDef) and any(
        ast.unparse(b).endswith(name) for b in scope.bases for name in errors
    )


def raised_by_the_code(sources: Sequence[str], *, errors: Collection[str]) -> Pairs:
    """The (status, code) pairs the `sources` raise or answer: a call of one of the `errors` classes
    (or the `super().__init__` of a subclass), an `error(status, code, ...)`, a `_refused(...)`
    (400), or a JsonResponse with a literal code."""
    pairs: Pairs = set()
    for source in sources:
        module = ast.parse((ROOT / source).read_text())
        functions = [f for f in ast.walk(module) if isinstance(f, ast.FunctionDef | ast.ClassDef)]
        for scope in functions:
            for call in ast.walk(scope):
                if not isinstance(call, ast.Call):
                    continue
                name = ast.unparse(call.func)
                if (
                    name in errors or (name == "super().__init__" and _is_error_class(scope, errors))
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


def in_the_openapi_document(document: dict[str, Any]) -> Pairs:
    schemas = document["components"]["schemas"]
    pairs: Pairs = set()
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                    enum = schemas[name]["properties"]["error"]["properties"]["code"]["enum"]
                    pairs |= {(int(status), code) for code in enum}
    return pairs | {(405, "method_not_allowed")}  # for the methods the document does not list


def in_the_docs(page: str) -> Pairs:
    """The pairs of the `| status | `code` |` table of docs/<page>."""
    text = (ROOT / "docs" / page).read_text()
    table = text[text.index("| status | `code` |") :].split("\n\n", 1)[0]
    pairs: Pairs = set()
    for row in table.splitlines()[2:]:
        status, codes = row.strip("|").split("|", 1)
        pairs |= {(int(status), code) for code in re.findall(r"`([^`]+)`", codes) if CODE.fullmatch(code)}
    return pairs
