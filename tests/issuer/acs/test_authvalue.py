"""The authentication value: per-scheme layouts, round trip, tampering, the CLI and POST /3ds/verify."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
from typing import Any

import pytest

from guichet.audit.models import AuditEvent
from guichet.cli import build_parser
from guichet.issuer.acs.authvalue import (
    ALGORITHMS,
    AvInputs,
    MastercardStyleAav,
    Method,
    VisaStyleCavv,
    algorithm_for,
    scheme_of,
)
from guichet.issuer.acs.cli import cmd_verify
from tests.issuer.acs.support import ACS_TRANS_ID, MASTERCARD_PAN, VISA_PAN

TOKEN = "t" * 40


def inputs(**changes: Any) -> AvInputs:
    base = AvInputs(
        pan=VISA_PAN,
        trans_status="Y",
        method=Method.SMS_OTP,
        acs_trans_id=ACS_TRANS_ID,
        eci="05",
        amount="29900",
        currency="978",
        message_version="2.2.0",
        merchant_name="Boutique Corail",
    )
    return dataclasses.replace(base, **changes)


def fields_of(i: AvInputs) -> dict[str, str]:
    return {"pan": i.pan, "eci": i.eci, "amount": i.amount, "currency": i.currency}


@pytest.mark.parametrize(
    ("pan", "scheme"),
    [
        ("4970100000000006", "visa"),
        ("5137000000000005", "mastercard"),
        ("5500000000000004", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720990000000007", "mastercard"),
        ("2721000000000004", "visa"),
        ("340000000000009", "visa"),  # other schemes: ECI 05/06/07 like Visa
    ],
)
def test_scheme_of_pan(pan, scheme):
    assert scheme_of(pan) == scheme


@pytest.mark.parametrize(
    ("scheme", "category", "expected"),
    [
        ("visa", "01", {"Y": "05", "A": "06", "I": "07", "N": "", "U": "", "R": "", "C": ""}),
        ("mastercard", "01", {"Y": "02", "A": "01", "I": "06", "N": "", "U": "", "R": "", "C": ""}),
        ("mastercard", "02", {"Y": "N2", "A": "01", "I": "06", "N": "", "U": "", "R": "", "C": ""}),
    ],
)
def test_eci_per_scheme(scheme, category, expected):
    algorithm = algorithm_for(scheme)
    assert {status: algorithm.eci(status, message_category=category) for status in expected} == expected


def test_visa_layout_is_20_bytes_with_its_header_in_clear():
    value = VisaStyleCavv().compute(inputs())
    raw = base64.b64decode(value)
    assert (len(value), len(raw)) == (28, 20)
    assert raw[0:3] == bytes([0x00, 2, 1])  # Y, SMS code, key indicator 01
    # transaction number: the acsTransID as a number, its 16 low decimal digits in BCD
    assert raw[3:11].hex() == str(int(ACS_TRANS_ID.replace("-", ""), 16) % 10**16).zfill(16)
    assert raw[11] == 0x12  # layout 1, 3DS 2.2.0


def test_mastercard_layout_is_20_bytes_with_its_header_in_clear():
    value = MastercardStyleAav().compute(inputs(pan=MASTERCARD_PAN, eci="02"))
    raw = base64.b64decode(value)
    assert (len(value), len(raw)) == (28, 20)
    assert raw[0] == 0x8C
    assert raw[1:5] == hashlib.sha256(b"Boutique Corail").digest()[:4]  # binds the merchant
    assert raw[6:10] == (int(ACS_TRANS_ID.replace("-", ""), 16) % 10**9).to_bytes(4, "big")
    assert raw[5] == 0x12  # key indicator 1, method SMS code
    assert raw[10] == 0x12


@pytest.mark.parametrize("scheme", sorted(ALGORITHMS))
@pytest.mark.parametrize(("status", "method"), [("Y", "02"), ("Y", "01"), ("A", "98"), ("I", "99")])
def test_round_trip(scheme, status, method):
    algorithm = algorithm_for(scheme)
    i = inputs(trans_status=status, method=method, eci=algorithm.eci(status))
    decoded = algorithm.verify(algorithm.compute(i), **fields_of(i))
    assert decoded is not None
    assert (decoded.scheme, decoded.trans_status, decoded.key_indicator) == (scheme, status, 1)
    expected_method = method if scheme == "visa" or method in ("01", "02") else Method.FRICTIONLESS
    assert decoded.method == expected_method


def test_values_differ_per_transaction_and_are_stable_for_one():
    algorithm = algorithm_for("visa")
    first = algorithm.compute(inputs())
    assert algorithm.compute(inputs()) == first
    assert algorithm.compute(inputs(acs_trans_id="0b3e5a8e-4f7c-4a55-9d0e-2f1c3b6a7d89")) != first


@pytest.mark.parametrize("scheme", sorted(ALGORITHMS))
def test_tampering_any_byte_fails(scheme):
    algorithm = algorithm_for(scheme)
    i = inputs(eci=algorithm.eci("Y"))
    raw = bytearray(base64.b64decode(algorithm.compute(i)))
    for index in range(len(raw)):
        for flip in (0x01, 0x80):
            tampered = bytearray(raw)
            tampered[index] ^= flip
            value = base64.b64encode(bytes(tampered)).decode()
            assert algorithm.verify(value, **fields_of(i)) is None, (index, flip)


@pytest.mark.parametrize("scheme", sorted(ALGORITHMS))
@pytest.mark.parametrize(
    "change",
    [
        {"pan": "4970100000000014"},
        {"eci": "06"},
        {"amount": "29901"},
        {"amount": ""},
        {"currency": "840"},
    ],
)
def test_another_field_fails(scheme, change):
    algorithm = algorithm_for(scheme)
    i = inputs(eci=algorithm.eci("Y"))
    value = algorithm.compute(i)
    assert algorithm.verify(value, **(fields_of(i) | change)) is None


@pytest.mark.parametrize(
    "value",
    ["", "A" * 27, "A" * 29, "A" * 26 + "==", "!" * 28, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "é" * 28],
)
def test_malformed_values_are_refused_without_error(value):
    for algorithm in ALGORITHMS.values():
        assert algorithm.verify(value, pan=VISA_PAN, eci="05", amount="1", currency="978") is None


def test_a_value_of_one_scheme_is_not_valid_for_the_other():
    i = inputs(eci="05")
    value = algorithm_for("visa").compute(i)
    assert algorithm_for("mastercard").verify(value, **fields_of(i)) is None


def test_keys_come_from_the_hmac_key(settings):
    value = algorithm_for("visa").compute(inputs())
    settings.GUICHET = dataclasses.replace(settings.GUICHET, hmac_key=bytes(range(32)))
    assert algorithm_for("visa").verify(value, **fields_of(inputs())) is None


# --- guichet 3ds verify ------------------------------------------------------------------------------


def run_verify(monkeypatch: pytest.MonkeyPatch, capsys: Any, pan: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(pan + "\n"))
    monkeypatch.setattr(
        "guichet.config.bootstrap.django_setup", lambda mode=None: None
    )  # Django is already set up
    parsed = build_parser().parse_args(["3ds", "verify", *args])
    assert parsed.func is cmd_verify
    code = parsed.func(parsed)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.django_db
def test_cli_verify_valid_exits_0(monkeypatch, capsys):
    value = algorithm_for("visa").compute(inputs())
    code, out, err = run_verify(
        monkeypatch,
        capsys,
        VISA_PAN,
        "--value",
        value,
        "--eci",
        "05",
        "--amount",
        "29900",
        "--currency",
        "978",
    )
    assert (code, out, err) == (0, "valid: visa, transStatus Y, method 02, key indicator 01\n", "")
    event = AuditEvent.objects.get(event="acs:av:verify")
    assert (event.subject, event.outcome, event.ip) == ("497010XXXXXX0006", "success", "cli")


@pytest.mark.django_db
def test_cli_verify_json(monkeypatch, capsys):
    value = algorithm_for("mastercard").compute(inputs(pan=MASTERCARD_PAN, eci="02"))
    code, out, _ = run_verify(
        monkeypatch, capsys, MASTERCARD_PAN,
        "--value", value, "--eci", "02", "--amount", "29900", "--currency", "978", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "valid": True,
        "scheme": "mastercard",
        "transStatus": "Y",
        "method": "02",
        "keyIndicator": 1,
    }


@pytest.mark.django_db
def test_cli_verify_invalid_exits_1(monkeypatch, capsys):
    value = algorithm_for("visa").compute(inputs())
    code, out, _ = run_verify(
        monkeypatch, capsys, VISA_PAN, "--value", value, "--eci", "05", "--amount", "1", "--currency", "978"
    )
    assert (code, out) == (1, "invalid: this value was not issued for these PAN, ECI, amount and currency\n")
    assert AuditEvent.objects.get(event="acs:av:verify").outcome == "failure"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pan", "args"),
    [
        ("", ["--value", "x", "--eci", "05"]),
        ("4970", ["--value", "x", "--eci", "05"]),
        (VISA_PAN, ["--value", "x", "--eci", "5"]),
        (VISA_PAN, ["--value", "x", "--eci", "05", "--amount", "12.50"]),
        (VISA_PAN, ["--value", "x", "--eci", "05", "--currency", "EUR"]),
    ],
)
def test_cli_verify_bad_usage_exits_2_and_checks_nothing(monkeypatch, capsys, pan, args):
    code, out, err = run_verify(monkeypatch, capsys, pan, *args)
    assert (code, out) == (2, "")
    assert err.startswith("guichet: ")
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_cli_verify_in_a_real_process(tmp_path):
    from tests.test_cli import run_guichet

    keys = {"GUICHET_MODE": "test", "GUICHET_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert run_guichet(tmp_path, "migrate", **keys).returncode == 0
    value = algorithm_for("visa").compute(inputs())  # the test keys are the same in both processes
    import subprocess
    import sys

    from tests.test_cli import clean_environ

    def verify(amount: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "guichet.cli", "3ds", "verify", "--value", value, "--eci", "05",
             "--amount", amount, "--currency", "978"],
            env=clean_environ(tmp_path, **keys), cwd=tmp_path, input=VISA_PAN + "\n",
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    good, bad = verify("29900"), verify("29901")
    assert (good.returncode, good.stdout.split(":")[0]) == (0, "valid")
    assert (bad.returncode, bad.stdout.split(":")[0]) == (1, "invalid")


# --- POST /3ds/verify -------------------------------------------------------------------------------


@pytest.fixture
def verify_token(settings: Any) -> str:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, verify_token=TOKEN)
    )
    return TOKEN


def post_verify(client: Any, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/3ds/verify", data=data, content_type="application/json", headers=headers)


def verify_body(value: str, **changes: str) -> dict[str, str]:
    body = {
        "acctNumber": VISA_PAN,
        "authenticationValue": value,
        "eci": "05",
        "purchaseAmount": "29900",
        "purchaseCurrency": "978",
    }
    return body | changes


@pytest.mark.django_db
def test_verify_endpoint_valid_and_invalid(client, verify_token):
    value = algorithm_for("visa").compute(inputs())
    response = post_verify(client, verify_body(value))
    assert (response.status_code, response.json()) == (
        200,
        {"valid": True, "scheme": "visa", "transStatus": "Y", "method": "02", "keyIndicator": 1},
    )
    response = post_verify(client, verify_body(value, purchaseAmount="30000"))
    assert (response.status_code, response.json()) == (200, {"valid": False})
    assert list(AuditEvent.objects.order_by("id").values_list("outcome", flat=True)) == ["success", "failure"]


@pytest.mark.django_db
def test_verify_endpoint_refuses_when_no_token_is_configured(client):
    response = post_verify(client, verify_body("x"), token="")
    assert response.status_code == 403
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN[:-1]])
def test_verify_endpoint_refuses_a_wrong_token(client, verify_token, token):
    response = post_verify(client, verify_body("x"), token=token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="guichet-3ds-verify"'
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"{not json", []),
        (b"x" * 5000, []),
        ({"authenticationValue": "x", "eci": "05"}, ["acctNumber"]),
        ({"acctNumber": "4970", "authenticationValue": "x", "eci": "5"}, ["acctNumber", "eci"]),
        ({"acctNumber": VISA_PAN, "authenticationValue": "x", "eci": "05", "extra": 1}, ["extra"]),
    ],
)
def test_verify_endpoint_bad_request(client, verify_token, body, fields):
    response = post_verify(client, body)
    assert (response.status_code, response.json()) == (400, {"error": "invalid request", "fields": fields})
    assert AuditEvent.objects.count() == 0


def test_verify_endpoint_is_post_only(client):
    assert client.get("/3ds/verify").status_code == 405
