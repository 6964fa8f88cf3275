"""CReq parsing (every Erro code), the CRes/RReq/RRes schemas, and golden CRes and RReq vectors.

The golden files hold what Guichet sends for each outcome in 2.1.0 and 2.2.0, produced through the
whole flow (AReq, CReq, pages, outbox, the test's DS), with the random identifiers replaced by fixed
ones. Set GUICHET_UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then review the diff.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pydantic import ValidationError

from guichet.delivery.worker import deliver_due
from guichet.issuer.acs.authvalue import algorithm_for
from guichet.issuer.acs.challenge.timeouts import challenge_expire_due
from guichet.issuer.acs.messages.creq import CReq, parse_creq
from guichet.issuer.acs.messages.cres import CRes
from guichet.issuer.acs.messages.erro import Erro
from guichet.issuer.acs.messages.rreq import RReq
from guichet.issuer.acs.messages.rres import RRes
from tests.issuer.acs.challenge.support import (
    DirectoryServer,
    after_rres,
    b64url,
    b64url_json,
    hidden,
    post_creq,
    start,
    step,
)
from tests.support.fixtures import sms_code

VECTORS = Path(__file__).parent / "vectors"
CREQ = {
    "threeDSServerTransID": "12341234-1234-1234-1234-123412341234",
    "acsTransID": "43214321-4321-4321-4321-432143214321",
    "challengeWindowSize": "05",
    "messageType": "CReq",
    "messageVersion": "2.2.0",
}
# docs/emv-3ds.md §9.5: the unpadded base64url of the pretty-printed CReq above, as published.
PUBLISHED_CREQ = (
    "ewogICAgInRocmVlRFNTZXJ2ZXJUcmFuc0lEIjoiMTIzNDEyMzQtMTIzNC0xMjM0LTEyMzQtMTIzNDEyMzQxMjM0IiwKICAgICJhY3NUcmFuc0lEIjoiNDMy"
    "MTQzMjEtNDMyMS00MzIxLTQzMjEtNDMyMTQzMjE0MzIxIiwKICAgICJjaGFsbGVuZ2VXaW5kb3dTaXplIjoiMDUiLAogICAgIm1lc3NhZ2VUeXBlIjoiQ1Jl"
    "cSIsCiAgICAibWVzc2FnZVZlcnNpb24iOiIyLjIuMCIKfQ"
)


def erro_of(field: str) -> Erro:
    parsed, _ = parse_creq(field)
    assert isinstance(parsed, Erro), parsed
    assert (parsed.errorComponent, parsed.errorMessageType) == ("A", "CReq")
    return parsed


def test_published_creq_parses() -> None:
    parsed, _ = parse_creq(PUBLISHED_CREQ)
    assert parsed == CReq.model_validate(CREQ)


def test_padded_and_unpadded_creq_both_parse() -> None:
    for pad in (False, True):
        parsed, _ = parse_creq(b64url(CREQ, pad=pad))
        assert isinstance(parsed, CReq)


@pytest.mark.parametrize(
    ("field", "code", "detail"),
    [
        ("", "101", "creq is not JSON"),
        ("!!!not base64", "101", "creq is not base64url"),
        (b64url(b"not json"), "101", "creq is not JSON"),
        (b64url(b"[1, 2]"), "101", "creq is not a JSON object"),
        (b64url(CREQ | {"messageType": "AReq"}), "101", "messageType"),
        (b64url(CREQ | {"messageVersion": "2.4.0"}), "102", "messageVersion"),
        (b64url(CREQ | {"messageVersion": 2.2}), "203", "messageVersion"),
        (b64url({k: v for k, v in CREQ.items() if k != "messageVersion"}), "201", "messageVersion"),
        (b64url({k: v for k, v in CREQ.items() if k != "acsTransID"}), "201", "acsTransID"),
        (b64url({k: v for k, v in CREQ.items() if k != "challengeWindowSize"}), "201", "challengeWindowSize"),
        (b64url(CREQ | {"challengeWindowSize": "06"}), "203", "challengeWindowSize"),
        (b64url(CREQ | {"challengeWindowSize": 5}), "203", "challengeWindowSize"),
        (b64url(CREQ | {"threeDSServerTransID": "1234"}), "203", "threeDSServerTransID"),
        (b64url(CREQ | {"acsTransID": None}), "203", "acsTransID"),
        (
            b64url(b'{"messageType":"CReq","messageVersion":"2.2.0","acsTransID":"a","acsTransID":"b"}'),
            "204",
            "acsTransID",
        ),
        (
            b64url(
                CREQ
                | {
                    "messageExtension": [
                        {"name": "x", "id": "ext-1", "criticalityIndicator": True, "data": {}}
                    ]
                }
            ),
            "202",
            "ext-1",
        ),
        ("A" * 20000, "101", "creq exceeds 16384 characters"),
    ],
)
def test_creq_erro_codes(field: str, code: str, detail: str) -> None:
    erro = erro_of(field)
    assert (erro.errorCode, erro.errorDetail) == (code, detail)


def test_creq_erro_echoes_usable_identifiers() -> None:
    erro = erro_of(b64url(CREQ | {"challengeWindowSize": "9"}))
    assert erro.acsTransID == CREQ["acsTransID"]
    assert erro.threeDSServerTransID == CREQ["threeDSServerTransID"]
    assert erro.messageVersion == "2.2.0"


def test_app_channel_elements_are_ignored() -> None:
    parsed, _ = parse_creq(b64url(CREQ | {"sdkTransID": "whatever", "challengeDataEntry": "1234"}))
    assert isinstance(parsed, CReq)


def test_public_vectors_parse() -> None:
    cres = CRes.model_validate_json((VECTORS / "public-cres-210.json").read_text())
    assert cres.transStatus == "Y"
    rres = RRes.model_validate_json((VECTORS / "public-rres-210.json").read_text())
    assert rres.resultsStatus == "01"
    rreq = RReq.model_validate_json((VECTORS / "public-rreq-220-decoupled.json").read_text())
    assert rreq.authenticationType == "04"


RREQ_N = {
    "messageType": "RReq",
    "messageVersion": "2.2.0",
    "threeDSServerTransID": "5a8007b9-6d26-49cf-a371-3f722bba4ffc",
    "acsTransID": "fb95703f-92e7-4278-a20c-62b9a9200e84",
    "dsTransID": "87cbe14f-5960-4a01-a0bb-ae2c9871804a",
    "messageCategory": "01",
    "transStatus": "N",
    "transStatusReason": "14",
    "authenticationType": "02",
    "interactionCounter": "00",
    "challengeCancel": "05",
}


@pytest.mark.parametrize(
    "changes",
    [
        {"transStatus": "C"},
        {"transStatus": "I"},
        {"transStatusReason": None},
        {"challengeCancel": "01"},  # a timeout (14) needs 04 or 05
        {"challengeCancel": None},
        {"authenticationType": None},
        {"transStatus": "Y", "transStatusReason": None, "challengeCancel": None},  # no authenticationValue
        {"messageVersion": "2.1.0", "authenticationMethod": "02"},
        {"messageVersion": "2.1.0", "transStatusReason": "26", "challengeCancel": None},
        {"interactionCounter": "1"},
        {"eci": "5"},
        {"unknownElement": "x"},
    ],
)
def test_rreq_schema_refuses(changes: dict[str, Any]) -> None:
    message = {k: v for k, v in (RREQ_N | changes).items() if v is not None}
    with pytest.raises(ValidationError):
        RReq.model_validate(message)
    RReq.model_validate(RREQ_N)


def test_cres_schema_refuses_other_statuses() -> None:
    base = json.loads((VECTORS / "public-cres-210.json").read_text())
    for status in ("A", "U", "R", "C"):
        with pytest.raises(ValidationError):
            CRes.model_validate(base | {"transStatus": status})


# --- golden vectors ---------------------------------------------------------------------------------

FIXED = {
    "acsTransID": "a0000000-0000-4000-8000-000000000001",
    "threeDSServerTransID": "b0000000-0000-4000-8000-000000000002",
    "dsTransID": "c0000000-0000-4000-8000-000000000003",
}


def normalise(message: dict[str, Any], started: Any, pan: str) -> dict[str, Any]:
    """Fixed identifiers; the authentication value checked, then named by what it proves."""
    ids = {
        started.acs_trans_id: FIXED["acsTransID"],
        started.areq["threeDSServerTransID"]: FIXED["threeDSServerTransID"],
        started.areq["dsTransID"]: FIXED["dsTransID"],
    }
    out = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in message.items()}
    if "authenticationValue" in out:
        decoded = algorithm_for("visa").verify(
            message["authenticationValue"], pan=pan, eci=message["eci"], amount="29900", currency="978"
        )
        assert decoded is not None
        assert decoded.trans_status == "Y"
        out["authenticationValue"] = f"<valid {decoded.scheme} value, status {decoded.trans_status}>"
    return out


def run_case(
    client: Client, ds: DirectoryServer, sms: Any, clock: Any, version: str, case: str
) -> dict[str, Any]:
    started = start(client, version=version, ds_url=ds.url)
    cres: dict[str, Any] | None = None
    if case == "creq-timeout":
        clock.advance(seconds=31)
        challenge_expire_due()
    else:
        html = post_creq(client, started.creq()).content.decode()
        if case == "cancel":
            html = step(client, html, action="cancel").content.decode()
        elif case == "challenge-timeout":
            clock.advance(seconds=601)
            html = step(client, html, action="validate", epin="1234").content.decode()
        else:
            epin = "1234" if case == "success" else "0000"
            for _ in range(1 if case == "success" else 3):
                html = step(client, html, action="validate", epin=epin).content.decode()
                while deliver_due():
                    pass
                html = step(
                    client, html, action="validate", otp=sms_code(sms.state.received[-1]["text"])
                ).content.decode()
        html = after_rres(client, html)  # the final CRes, once the DS's RRes is in
        raw = hidden(html, "cres") or ""
        cres = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        assert list(cres) == list(b64url_json(raw))
    while deliver_due():
        pass
    [rreq] = ds.received
    return {
        "rreq": normalise(rreq, started, started.pan),
        "rreq_key_order": list(rreq),
        "cres": normalise(cres, started, started.pan) if cres else None,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["2.1.0", "2.2.0", "2.3.1"])
@pytest.mark.parametrize("case", ["success", "attempts", "cancel", "creq-timeout", "challenge-timeout"])
def test_golden_cres_and_rreq(
    client: Client, ds: DirectoryServer, outbound: Any, clock: Any, settings: Any, version: str, case: str
) -> None:
    if version == "2.3.1":  # whose acsURL must be https (docs/emv-3ds.md §2.7)
        settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://acs.bank.example")
    got = run_case(client, ds, outbound[1], clock, version, case)
    path = VECTORS / f"golden-{version.replace('.', '')}-{case}.json"
    if os.environ.get("GUICHET_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert got == json.loads(path.read_text())
    RReq.model_validate(ds.received[0])
