"""Thousands of generated and mutated CReqs and challenge forms: never a 5xx, always an answer that
parses against our own schemas (a page with a form, a final CRes, or an Erro)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from guichet.issuer.acs.messages.cres import CRes
from guichet.issuer.acs.messages.erro import Erro
from tests.issuer.acs.challenge.support import Started, b64url, erro_shown, hidden, start

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def check_answer(response: Any) -> None:
    """Every answer of the challenge endpoints is one of the known screens, well formed."""
    assert response.status_code < 500, response.content[:500]
    html = response.content.decode()
    if response.status_code == 400:
        Erro.model_validate(erro_shown(html))
    elif response.status_code == 403:
        assert "acs-outcome acs-failure" in html
    else:
        assert response.status_code == 200
        cres = hidden(html, "cres")
        if cres is not None:
            body = json.loads(base64.urlsafe_b64decode(cres + "=" * (-len(cres) % 4)))
            try:
                CRes.model_validate(body)
            except ValidationError:
                Erro.model_validate(body)
        else:
            assert hidden(html, "token"), html[:1000]


@pytest.fixture
def live(client: Client) -> list[Started]:
    """Transactions awaiting a CReq, so that generated CReqs can also name real ones."""
    return [start(client) for _ in range(3)]


junk = st.one_of(
    st.none(), st.integers(), st.booleans(), st.text(max_size=20), st.lists(st.integers(), max_size=2)
)


def creq_messages(live: list[Started]) -> st.SearchStrategy[Any]:
    ids = st.sampled_from([s.acs_trans_id for s in live])
    server_ids = st.sampled_from([s.areq["threeDSServerTransID"] for s in live])
    fields = {
        "messageType": st.one_of(st.just("CReq"), junk),
        "messageVersion": st.one_of(st.sampled_from(["2.1.0", "2.2.0", "2.3.1", "2.2"]), junk),
        "acsTransID": st.one_of(ids, st.uuids().map(str), junk),
        "threeDSServerTransID": st.one_of(server_ids, st.uuids().map(str), junk),
        "challengeWindowSize": st.one_of(st.sampled_from(["01", "02", "03", "04", "05", "06", "5"]), junk),
        "messageExtension": st.one_of(
            junk, st.lists(st.fixed_dictionaries({"name": st.text(max_size=5), "id": st.text(max_size=5),
                                                  "criticalityIndicator": st.booleans()}), max_size=2)),
        "sdkTransID": junk,
    }  # fmt: skip
    return st.one_of(
        st.fixed_dictionaries({}, optional=fields),
        st.recursive(
            junk,
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=5,
        ),
    )  # fmt: skip


def encodings(message: Any) -> st.SearchStrategy[str]:
    raw = json.dumps(message).encode()
    return st.sampled_from([b64url(raw), b64url(raw, pad=True), base64.b64encode(raw).decode(), raw.decode()])


session_data = st.one_of(st.none(), st.text(max_size=40), st.text(alphabet="abcXYZ019-_=+/", max_size=2100))


def test_generated_creqs(client: Client, live: list[Started]) -> None:
    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        message = data.draw(creq_messages(live))
        field = data.draw(encodings(message))
        form = {"creq": field}
        sd = data.draw(session_data)
        if sd is not None:
            form["threeDSSessionData"] = sd
        check_answer(client.post("/3ds/challenge", data=form))

    run()


def test_mutated_creqs(client: Client, live: list[Started]) -> None:
    valid = [b64url(s.creq()) for s in live]

    @settings(FUZZ, max_examples=700)
    @given(
        base=st.sampled_from(valid),
        edits=st.lists(
            st.tuples(st.integers(0, 400), st.sampled_from(["del", "ins", "set"]), st.characters()),
            max_size=4,
        ),
    )  # fmt: skip
    def run(base: str, edits: list[tuple[int, str, str]]) -> None:
        text = list(base)
        for position, op, char in edits:
            at = position % (len(text) + 1)
            if op == "del" and at < len(text):
                del text[at]
            elif op == "ins":
                text.insert(at, char)
            elif at < len(text):
                text[at] = char
        check_answer(client.post("/3ds/challenge", data={"creq": "".join(text), "threeDSSessionData": "abc"}))

    run()


def test_generated_step_forms(client: Client, live: list[Started]) -> None:
    # Real challenges, so that some forms name a transaction with a live token.
    pages = [client.post("/3ds/challenge", data={"creq": b64url(s.creq())}).content.decode() for s in live]
    tokens = [hidden(page, "token") or "" for page in pages]

    @settings(FUZZ, max_examples=500)
    @given(
        acs_trans_id=st.one_of(
            st.sampled_from([s.acs_trans_id for s in live]), st.uuids().map(str), st.text(max_size=40)
        ),
        token=st.one_of(st.sampled_from(tokens), st.text(max_size=60)),
        action=st.one_of(st.sampled_from(["validate", "cancel", "finish", ""]), st.text(max_size=10)),
        epin=st.one_of(st.from_regex(r"\A[0-9]{4}\Z"), st.text(max_size=10)),
        otp=st.one_of(st.from_regex(r"\A[0-9]{8}\Z"), st.text(max_size=12)),
    )  # fmt: skip
    def run(acs_trans_id: str, token: str, action: str, epin: str, otp: str) -> None:
        form = {"acsTransID": acs_trans_id, "token": token, "action": action, "epin": epin, "otp": otp}
        response = client.post("/3ds/challenge/step", data=form)
        check_answer(response)

    run()


def test_non_form_bodies(client: Client) -> None:
    for body, content_type in (
        (b"\xff\xfe garbage", "application/x-www-form-urlencoded"),
        (b"{}", "application/json"),
        (b"creq=" + b"%" * 3, "application/x-www-form-urlencoded"),
    ):
        check_answer(client.post("/3ds/challenge", data=body, content_type=content_type))
    assert client.get("/3ds/challenge").status_code == 405
