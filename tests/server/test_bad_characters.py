"""Bad characters (U+0000, lone surrogates, non-characters) and malformed requests get a 4xx that
names the field, or the protocol's Erro 203, never a 5xx or a false "database unavailable"; every URL
pattern and every API operation is driven with them (hypothesis)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.audit.models import AuditEvent
from guichet.core.text import json_bad_path, text_bad
from guichet.issuer.acs.messages import Erro
from guichet.issuer.acs.messages.validation import parse_areq
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.payonbill.merchants.models import Payment
from guichet.payonbill.merchants.openapi import openapi_document
from tests.issuer.acs.challenge.support import b64url, b64url_json, erro_shown, hidden, post_creq, start
from tests.issuer.acs.support import areq_220, enrolled_holder, post_areq
from tests.issuer.acs.test_authvalue import post_verify, verify_body, verify_token  # noqa: F401 (a fixture)
from tests.payonbill.merchants.conftest import make_merchant, payment_body

BAD = ["\x00", "\ud800", "\udfff", "\ufffe", "\uffff", "\ufdd0", "\U0010ffff"]
bad_text = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(alphabet="abc-_", max_size=4),
    st.sampled_from(BAD) | st.characters(categories=["Cs"]),
    st.text(alphabet="abc-_", max_size=4),
)
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def encoded(value: str) -> str:
    """As a client sends it in a URL or a form: UTF-8 (a lone surrogate as its invalid bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def as_header(value: str) -> str:
    """As a header arrives: bytes, read as latin-1, where only U+0000 is a bad character."""
    return "\x00" + value.encode("utf-8", "surrogatepass").decode("latin-1").replace("\x00", "")


def client() -> Client:
    return Client(raise_request_exception=False)


def api_error(response: Any) -> tuple[int, str, str | None]:
    body = json.loads(response.content)
    return response.status_code, body["error"]["code"], body["error"]["field"]


# --- the cases of the issue ------------------------------------------------------------------------


def test_the_character_rules() -> None:
    assert [text_bad(c) for c in BAD] == [True] * len(BAD)
    assert not text_bad("é 😀 \ufffd \t")
    assert json_bad_path({"a": [{"b": "ok"}, {"c\x00": 1}]}) == "a.1.c"
    assert json_bad_path({"a": ["ok", "\ud800"]}) == "a.1"
    assert json_bad_path({"a": "😀"}) is None


@pytest.mark.django_db
def test_a_nul_in_a_checkout_path_is_a_400_not_a_500() -> None:
    response = client().get("/pay/pay_a%00b/")
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/api/v1/payments?reference=a%00b", "reference"),
        ("GET", "/api/v1/payments?reference=a%ED%A0%80b", "query"),
        ("GET", "/api/v1/payments?reference=a%EF%BF%BEb", "reference"),
        ("GET", "/api/v1/payments/pay_a%00b", "path"),
        ("POST", "/api/v1/payments/pay_a%00b/refunds", "path"),
    ],
)
def test_bad_characters_in_the_api_url_are_a_400_naming_the_field(method: str, path: str, field: str) -> None:
    merchant = make_merchant()
    response = client().generic(
        method,
        path,
        b"{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {merchant.api_key}"},
    )
    assert api_error(response) == (400, "invalid_character", field)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"), [("product", "\ud800"), ("reference", "a\x00"), ("cancel_url", "\uffff")]
)
def test_bad_characters_in_a_json_body_are_a_400_and_store_nothing(field: str, value: str) -> None:
    merchant = make_merchant()
    response = client().post(
        "/api/v1/payments",
        json.dumps(payment_body(**{field: value})),
        content_type="application/json",
        headers={"Authorization": f"Bearer {merchant.api_key}"},
    )
    assert api_error(response) == (400, "invalid_character", field)
    assert Payment.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["%C2%B3", "%D9%A3", "1e2", "-1", "0", "101"])
def test_a_limit_that_is_not_1_to_100_in_ascii_digits_is_a_400(limit: str) -> None:
    merchant = make_merchant()
    response = client().get(
        f"/api/v1/payments?limit={limit}", headers={"Authorization": f"Bearer {merchant.api_key}"}
    )
    assert api_error(response) == (400, "invalid_parameter", "limit")


@pytest.mark.django_db
def test_more_query_parameters_than_allowed_are_a_400() -> None:
    merchant = make_merchant()
    query = "&".join(f"p{i}=1" for i in range(1001))
    response = client().get(
        f"/api/v1/payments?{query}", headers={"Authorization": f"Bearer {merchant.api_key}"}
    )
    assert api_error(response) == (400, "invalid_request", None)
    page = client().get(f"/enrollment/?{query}")
    assert page.status_code == 400
    assert "text/html" in page["Content-Type"]


@pytest.mark.django_db
def test_a_bad_character_in_a_form_field_is_a_400() -> None:
    response = client().post("/enrollment/", {"email": "marie\x00@example.com"})
    assert response.status_code == 400
    response = client().post(
        "/enrollment/",
        b"email=marie%ED%A0%80%40example.com",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("acctInfo", {"chAccAgeInd": "0\ud800"}),
        ("merchantRiskIndicator", {"deliveryEmailAddress": "a\udfff@example.com"}),
        (
            "messageExtension",
            [{"name": "x", "id": "A000000802-001", "criticalityIndicator": False, "data": {"k": "\ud800"}}],
        ),
        ("merchantName", "Shop\ufffe"),
    ],
)
def test_an_areq_with_a_bad_character_is_erro_203_not_403(element: str, value: Any) -> None:
    _, pan = enrolled_holder()
    answer = post_areq(client(), areq_220(acctNumber=pan, **{element: value}))
    assert (answer["messageType"], answer["errorCode"], answer["errorDetail"]) == ("Erro", "203", element)
    assert AcsTransaction.objects.count() == 0


def test_two_message_version_keys_are_erro_204() -> None:
    text = json.dumps(areq_220())
    for second in ("9.9.9", "2.2.0", "2.1.0"):
        raw = text.replace(
            '"messageVersion": "2.2.0"', f'"messageVersion": "2.2.0", "messageVersion": "{second}"'
        )
        answer = parse_areq(raw.encode())
        assert isinstance(answer, Erro)
        assert (answer.errorCode, answer.errorDetail) == ("204", "messageVersion")


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
@pytest.mark.parametrize("element", ["messageType", "challengeWindowSize", "messageVersion", "sdkTransID"])
def test_a_creq_with_a_bad_character_is_erro_203_naming_the_element(element: str, bad: str) -> None:
    c = client()
    started = start(c)
    creq = started.creq(**{element: "05" + bad})
    response = post_creq(c, b64url(json.dumps(creq).encode()))
    assert response.status_code == 200  # posted to the requestor: the transaction is known
    erro = b64url_json(hidden(response.content.decode(), "cres") or "")
    assert (erro["errorCode"], erro["errorDetail"]) == ("203", element)
    logged = AcsMessage.objects.filter(transaction_id=started.tx_id, kind=AcsMessage.Kind.CREQ).get()
    assert logged.body[element] == "05\ufffd"  # stored as received, the character replaced


@pytest.mark.django_db
def test_a_creq_naming_no_transaction_with_a_bad_character_is_shown_erro_203() -> None:
    creq = {
        "threeDSServerTransID": str(uuid.uuid4()),
        "acsTransID": str(uuid.uuid4()) + "\ud800",
        "challengeWindowSize": "05",
        "messageType": "CReq",
        "messageVersion": "2.2.0",
    }
    response = post_creq(client(), b64url(json.dumps(creq).encode()))
    assert response.status_code == 400
    shown = erro_shown(response.content.decode())
    assert (shown["errorCode"], shown["errorDetail"]) == ("203", "acsTransID")


# --- every URL pattern, every API operation --------------------------------------------------------

PROTOCOL = {"3ds/areq", "3ds/challenge"}
PROTOCOL_FORMS = {"3ds/challenge/step"}  # its screens answer its form (challenge/test_fuzz.py)
SAMPLES = {"int": "1", "uuid": str(uuid.UUID(int=1)), "slug": "x1", "str": "x1", "path": "x1"}


def _patterns(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _sample(route: str, value: str = "") -> str:
    """A path the route matches, with `value` (already encoded) in place of its first parameter."""
    route = route.replace("^(?P<app_label>auth|", "(?P<app_label>auth|")
    route = re.sub(r"\(\?P<app_label>[^)]*\)", "auth", route)
    route = re.sub(r"\(\?P<url>\.\*\)", "x1", route).rstrip("$")
    used = False

    def fill(match: re.Match[str]) -> str:
        nonlocal used
        if value and not used:
            used = True
            return value
        return SAMPLES.get(match[1] or "str", "x1")

    path = "/" + re.sub(r"<(?:(\w+):)?\w+>", fill, route)
    if value and not used:
        path = "/" + path.strip("/") + value + ("/" if path.endswith("/") else "")
    return path


ROUTES = sorted(set(_patterns(get_resolver().url_patterns)))
OTHER_ROUTES = [route for route in ROUTES if route not in PROTOCOL]


def _where(route: str, where: str, value: str) -> Any:
    """The request for `route` with `value` in its path, query, form or a header."""
    c = client()
    if where == "form" and route in PROTOCOL_FORMS:
        where = "query"
    if where == "path":
        return c.get(_sample(route, encoded(value)))
    if where == "query":
        return c.get(f"{_sample(route)}?q={encoded(value)}")
    if where == "query key":
        return c.get(f"{_sample(route)}?{encoded(value)}=1")
    if where == "form":
        return c.post(_sample(route), f"f={encoded(value)}", content_type="application/x-www-form-urlencoded")
    return c.get(_sample(route), headers={"X-Note": value})


def test_every_route_is_covered() -> None:
    assert len(OTHER_ROUTES) > 100  # the admin's, the portal's, the checkout's, the API's...
    assert {"pay/<str:public_id>/", "api/v1/payments/<str:payment_id>/refunds", "account/", "admin/"} <= set(
        OTHER_ROUTES
    )


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["path", "query", "query key", "form", "header"])
def test_every_route_refuses_a_nul_with_a_400(where: str) -> None:
    statuses = {route: _where(route, where, "a\x00b").status_code for route in OTHER_ROUTES}
    assert {route: s for route, s in statuses.items() if s != 400} == {}


@pytest.mark.django_db
@PROPERTY
@given(
    route=st.sampled_from(OTHER_ROUTES),
    where=st.sampled_from(["path", "query", "query key", "form", "header"]),
    value=bad_text,
)
def test_any_route_refuses_any_bad_character_with_a_400(route: str, where: str, value: str) -> None:
    if where == "header":
        value = as_header(value)
    response = _where(route, where, value)
    assert response.status_code == 400, (route, where, value)


@pytest.mark.django_db
@PROPERTY
@given(
    field=st.sampled_from(["creq", "threeDSSessionData"]),
    element=st.sampled_from(["messageType", "acsTransID", "challengeWindowSize", "x"]),
    value=bad_text,
)
def test_the_challenge_answers_any_bad_character_with_an_erro(field: str, element: str, value: str) -> None:
    creq = {
        "threeDSServerTransID": str(uuid.uuid4()),
        "acsTransID": str(uuid.uuid4()),
        "challengeWindowSize": "05",
        "messageType": "CReq",
        "messageVersion": "2.2.0",
    } | {element: value}
    data = {"creq": b64url(json.dumps(creq).encode()), "threeDSSessionData": "c2Vzc2lvbg"}
    if field == "threeDSSessionData":
        data = {"creq": b64url(json.dumps(creq | {element: "05"}).encode()), "threeDSSessionData": value}
    response = client().post(
        "/3ds/challenge",
        f"creq={encoded(data['creq'])}&threeDSSessionData={encoded(data['threeDSSessionData'])}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    shown = erro_shown(response.content.decode())
    assert (shown["errorCode"], shown["errorDetail"]) == (
        "203",
        element if field == "creq" else "threeDSSessionData",
    )


@pytest.mark.django_db
@PROPERTY
@given(element=st.sampled_from(sorted(areq_220())), value=bad_text)
def test_the_areq_answers_any_bad_character_with_erro_203(element: str, value: str) -> None:
    message = areq_220()
    original = message[element]
    message[element] = (
        {"k": value} if isinstance(original, dict) else [value] if isinstance(original, list) else value
    )
    answer = post_areq(client(), message)
    assert (answer["errorCode"], answer["errorDetail"]) == ("203", element)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method.upper(), operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
    ]


def _places(operation: dict[str, Any]) -> list[str]:
    """Where an operation takes input: path, its query parameters, headers and JSON body fields."""
    places = []
    for parameter in operation.get("parameters", []):
        places.append(f"{parameter['in']}:{parameter['name']}")
    places += ["header:Authorization", "query:extra"]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        name = body["$ref"].rsplit("/", 1)[1]
        places += [
            f"body:{field}" for field in openapi_document()["components"]["schemas"][name]["properties"]
        ]
    return places


OPERATION_PLACES = [(path, method, place) for path, method, op in _operations() for place in _places(op)]


@pytest.mark.django_db
@PROPERTY
@given(case=st.sampled_from(OPERATION_PLACES), value=bad_text)
def test_every_api_operation_refuses_bad_characters_with_a_400_naming_the_field(
    case: tuple[str, str, str], value: str
) -> None:
    path, method, place = case
    where, name = place.split(":")
    merchant = make_merchant(f"M {uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Bearer {merchant.api_key}"}
    url = "/api/v1" + path.replace("{id}", "pay_x1")
    body: dict[str, Any] = payment_body() if path.strip("/") == "payments" else {}
    field = name
    if where == "path":
        url, field = "/api/v1" + path.replace("{id}", encoded(value)), "path"
    elif where == "query":
        url += f"?{name}={encoded(value)}"
        field = "query" if any(0xD800 <= ord(c) <= 0xDFFF for c in value) else name
    elif where == "header":
        headers[name] = as_header(value)
    else:
        body[name] = value
    response = client().generic(
        method, url, json.dumps(body), content_type="application/json", headers=headers
    )
    assert api_error(response) == (400, "invalid_character", field), (case, value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "status"), [("acsTransID", 403), ("token", 403), ("action", 200), ("epin", 200), ("otp", 200)]
)
def test_a_challenge_step_with_a_bad_character_gets_its_own_screen(field: str, status: int) -> None:
    c = client()
    started = start(c)
    page = post_creq(c, started.creq()).content.decode()
    form = {"acsTransID": started.acs_trans_id, "token": hidden(page, "token") or "", "action": "validate"}
    form |= {"epin": "1234", "otp": "12345678"}
    form[field] = form[field][:2] + "\x00\ufffe"
    response = c.post("/3ds/challenge/step", form)
    # the refusal (no such transaction or token), or the challenge going on as for any wrong value
    assert response.status_code == status
    assert "frame-ancestors *" in response["Content-Security-Policy"]  # still frameable


@pytest.mark.django_db
@pytest.mark.usefixtures("verify_token")
@pytest.mark.parametrize("field", ["acctNumber", "authenticationValue", "eci", "purchaseAmount"])
def test_verify_refuses_a_bad_character_naming_the_field(field: str) -> None:
    body = verify_body("AGMBM0l0kmIVUUQSkukoFx4nlYA=") | {field: "05\ud800"}
    response = post_verify(client(), body)
    assert (response.status_code, response.json()) == (400, {"error": "invalid request", "fields": [field]})
    assert AuditEvent.objects.count() == 0
