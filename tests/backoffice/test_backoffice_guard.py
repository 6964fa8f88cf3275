"""The back-office's sign-in is guarded like every credential: a limit per address, the shared
throttle per user name (5 failures block it), every attempt audited, and a TOTP code required in
production; `guichet staff create` gives the first operator a password and an authenticator."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import TOTP

from guichet.audit.models import AuditEvent
from guichet.backoffice.models import StaffTotp
from guichet.backoffice.services import staff_create
from guichet.codes.models import CredentialThrottle
from guichet.config import env
from guichet.config.env import ConfigError
from guichet.core import crypto
from tests.test_cli import KEYS, run_guichet

PASSWORD = "Corail-staff-2026"
LOGIN = "/admin/login/?next=/admin/"
BLOCKED = "Trop d&#x27;échecs pour cet utilisateur : réessayez plus tard."
INVALID = "Nom d&#x27;utilisateur, mot de passe ou code d&#x27;authentification incorrect."


@pytest.fixture(autouse=True)
def _fast_hashes(settings: Any) -> None:
    # Argon2id at Django's cost, 80 times, is minutes of CPU: these tests are about the throttle.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def otp_required(settings: Any) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, staff=dataclasses.replace(settings.GUICHET.staff, otp_required=True)
    )


def code_now(uri: str, clock: Any, *, drift: int = 0) -> str:
    """The code the authenticator app shows for this otpauth:// URI."""
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    totp = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8)), step=30, digits=6, drift=drift)
    totp.time = clock.now().timestamp()
    return f"{totp.token():06d}"


def sign_in(client: Client, username: str, password: str, token: str = "", *, ip: str = "192.0.2.1") -> Any:
    data = {"username": username, "password": password, "otp_token": token}
    return client.post(LOGIN, data, REMOTE_ADDR=ip)


def attempts() -> list[tuple[str, str, str]]:
    return [
        (e.event, e.outcome, e.detail.get("reason", ""))
        for e in AuditEvent.objects.filter(event__startswith="backoffice:staff:signin").order_by("pk")
    ]


@pytest.mark.django_db
def test_sixty_wrong_passwords_then_the_right_one_is_still_blocked(clock: Any) -> None:
    # given
    staff_create(username="operator", password=PASSWORD)
    client = Client()
    # when: 60 guesses, each from another address (a botnet), then the right password
    answers = [sign_in(client, "operator", f"guess-{i}", ip=f"198.51.100.{i}") for i in range(60)]
    right = sign_in(client, "operator", PASSWORD, ip="203.0.113.9")
    # then
    assert [a.status_code for a in answers] == [200] * 60  # the form again, never a session
    assert [INVALID in a.content.decode() for a in answers] == [True] * 5 + [False] * 55
    assert [BLOCKED in a.content.decode() for a in answers] == [False] * 5 + [True] * 55
    assert (right.status_code, BLOCKED in right.content.decode()) == (200, True)
    assert "_auth_user_id" not in client.session
    assert (
        attempts()
        == [("backoffice:staff:signin", "failure", "")] * 5
        + [("backoffice:staff:signin", "refused", "blocked")] * 56
    )
    assert AuditEvent.objects.filter(event="credential:holder:blocked", subject="staff:operator").count() == 1
    # and after the block (15 minutes), the right password signs in and resets the count
    clock.advance(seconds=15 * 60 + 1)
    assert sign_in(client, "operator", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert CredentialThrottle.objects.get(key="staff:operator").failures == 0
    assert attempts()[-1] == ("backoffice:staff:signin", "success", "")


@pytest.mark.django_db
def test_an_unknown_user_name_is_counted_and_blocked_the_same_way() -> None:
    client = Client()
    answers = [sign_in(client, "nobody", f"guess-{i}", ip=f"198.51.100.{i}") for i in range(6)]
    assert [BLOCKED in a.content.decode() for a in answers] == [False] * 5 + [True]
    assert CredentialThrottle.objects.get(key="staff:nobody").blocked_until is not None


@pytest.mark.django_db
def test_one_address_gets_20_attempts_per_10_minutes_whatever_the_user_names() -> None:
    client = Client()
    answers = [sign_in(client, f"user{i}", "guess", ip="198.51.100.7") for i in range(21)]
    assert ["tentatives de connexion depuis votre adresse" in a.content.decode() for a in answers] == [
        False
    ] * 20 + [True]
    assert attempts()[-1] == ("backoffice:staff:signin", "refused", "rate_limited")


@pytest.mark.django_db
def test_a_user_that_is_not_staff_cannot_sign_in() -> None:
    get_user_model().objects.create_user(username="clerk", password=PASSWORD)
    response = sign_in(Client(), "clerk", PASSWORD)
    assert (response.status_code, INVALID in response.content.decode()) == (200, True)
    assert attempts() == [("backoffice:staff:signin", "failure", "")]


@pytest.mark.django_db
@pytest.mark.usefixtures("otp_required")
def test_with_the_second_factor_the_password_alone_is_not_enough(clock: Any) -> None:
    # given
    created = staff_create(username="operator", password=PASSWORD)
    client = Client()
    # when / then: no code, a wrong code
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' in page
    assert "Code de l&#x27;application d&#x27;authentification" in page
    assert sign_in(client, "operator", PASSWORD).status_code == 200
    assert INVALID in sign_in(client, "operator", PASSWORD, "000000").content.decode()
    # the right code signs in and the session is verified
    right = sign_in(client, "operator", PASSWORD, code_now(created.otpauth_uri, clock))
    assert (right.status_code, right["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
    # the attempt without a code counts too: it tried a password
    assert attempts() == [("backoffice:staff:signin", "failure", "")] * 2 + [
        ("backoffice:staff:signin", "success", "")
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("otp_required")
def test_a_code_signs_in_once(clock: Any) -> None:
    created = staff_create(username="operator", password=PASSWORD)
    token = code_now(created.otpauth_uri, clock)
    assert sign_in(Client(), "operator", PASSWORD, token).status_code == 302
    replay = sign_in(Client(), "operator", PASSWORD, token)
    assert (replay.status_code, INVALID in replay.content.decode()) == (200, True)
    # the next period's code (the app a little ahead) is accepted
    assert (
        sign_in(Client(), "operator", PASSWORD, code_now(created.otpauth_uri, clock, drift=1)).status_code
        == 302
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("otp_required")
def test_a_session_without_the_second_factor_is_not_staff() -> None:
    user = get_user_model().objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(user)  # signed in some other way, without a code
    response = client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")


@pytest.mark.django_db
def test_the_authenticator_seed_is_encrypted_at_rest() -> None:
    created = staff_create(username="operator", password=PASSWORD)
    secret = parse_qs(urlsplit(created.otpauth_uri).query)["secret"][0]
    seed_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    device = StaffTotp.objects.get(user__username="operator")
    assert seed_hex not in bytes(device.seed_encrypted).hex()
    assert crypto.decrypt(f"backoffice:totp:{device.user_id}", device.seed_encrypted) == seed_hex
    assert created.otpauth_uri.startswith("otpauth://totp/Guichet:operator?secret=")
    assert created.otpauth_uri.endswith("&issuer=Guichet&algorithm=SHA1&digits=6&period=30")


def test_the_second_factor_is_required_in_production_and_cannot_be_turned_off(tmp_path: Any) -> None:
    base = {"GUICHET_DATA_DIR": str(tmp_path), **KEYS}
    assert env.load({**base, "GUICHET_MODE": "serve"}).staff.otp_required is True
    assert env.load({**base, "GUICHET_MODE": "test"}).staff.otp_required is False
    assert env.load({**base, "GUICHET_MODE": "test", "GUICHET_STAFF_OTP": "required"}).staff.otp_required
    with pytest.raises(ConfigError, match="GUICHET_STAFF_OTP=off is refused in production"):
        env.load({**base, "GUICHET_MODE": "serve", "GUICHET_STAFF_OTP": "off"})


def test_guichet_staff_create_prints_the_password_and_the_authenticator_once(tmp_path: Any) -> None:
    assert run_guichet(tmp_path, "migrate", **KEYS).returncode == 0
    created = run_guichet(tmp_path, "staff", "create", "--username", "root", "--json", **KEYS)
    assert created.returncode == 0, created.stderr
    printed = json.loads(created.stdout)
    assert sorted(printed) == ["otpauth_uri", "password", "username"]
    assert printed["username"] == "root"
    assert printed["otpauth_uri"].startswith("otpauth://totp/Guichet:root?secret=")
    again = run_guichet(tmp_path, "staff", "create", "--username", "root", **KEYS)
    assert (again.returncode, again.stderr) == (
        1,
        "guichet: staff user not created: a user named 'root' already exists\n",
    )
    reissued = run_guichet(tmp_path, "staff", "otp", "--username", "root", "--json", **KEYS)
    assert reissued.returncode == 0, reissued.stderr
    assert json.loads(reissued.stdout)["otpauth_uri"] != printed["otpauth_uri"]
