"""`guichet merchants ...`: exit status, what is printed once, what is stored."""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.test import Client

from guichet.cli import main
from guichet.core.egress import EgressPolicy, egress_policy_parse
from guichet.payonbill.merchants.accounts import merchant_secret_get
from guichet.payonbill.merchants.models import ApiKey, Merchant
from tests.payonbill.merchants.conftest import Api, payment_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(settings):
    # `guichet` calls django.setup() again; keep it from re-pointing logging at the captured streams.
    settings.LOGGING_CONFIG = None


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["merchants", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_create_json_prints_the_key_and_secret_once(capsys, in_process) -> None:
    # when
    status, out, err = run(
        capsys,
        "create",
        "--name",
        "Éditeur",
        "--notification-url",
        "https://shop.example/hook",
        "--return-host",
        "Shop.Example",
        "--return-host",
        "pay.shop.example:8443",
        "--json",
    )
    # then
    assert (status, err) == (0, "")
    printed = json.loads(out)
    merchant = Merchant.objects.get()
    assert printed == {
        "merchant_id": merchant.pk,
        "name": "Éditeur",
        "api_key": printed["api_key"],
        "notification_secret": printed["notification_secret"],
    }
    assert printed["api_key"].startswith("gk_")
    assert printed["notification_secret"].startswith("whsec_")
    assert merchant.return_hosts == ["pay.shop.example:8443", "shop.example"]
    # stored: the secret encrypted, the key as a keyed hash only
    assert printed["notification_secret"].encode() not in bytes(merchant.notification_secret_encrypted)
    assert merchant_secret_get(merchant=merchant) == printed["notification_secret"]
    key = ApiKey.objects.get()
    assert printed["api_key"] not in (key.key_hash, key.prefix)
    # and the key works
    assert Api(Client(), printed["api_key"]).post("payments", payment_body()).status_code == 201


def test_create_plain_text(capsys, in_process) -> None:
    status, out, err = run(capsys, "create", "--name", "Shop", "--notification-url", "https://s.example/h")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"merchant {Merchant.objects.get().pk} (Shop) created"
    assert lines[1].startswith("API key:             gk_")
    assert lines[2].startswith("notification secret: whsec_")
    assert lines[3] == "Keep both now: they are not shown again."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--name", "S", "--notification-url", "ftp://x.example/"],
            "must be an absolute http:// or https:// URL",
        ),
        (
            ["--name", " ", "--notification-url", "https://x.example/"],
            "the name must have 1 to 100 characters",
        ),
        (
            ["--name", "S", "--notification-url", "https://x.example/", "--return-host", "a/b"],
            "not a host name",
        ),
    ],
)
def test_create_with_bad_values_fails_and_stores_nothing(capsys, in_process, args, message) -> None:
    status, out, err = run(capsys, "create", *args)
    assert status == 1
    assert out == ""
    assert err.startswith("guichet: merchant not created: ")
    assert message in err
    assert Merchant.objects.count() == 0


def test_create_without_required_options_is_a_usage_error(capsys, in_process) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["merchants", "create", "--name", "S"])
    assert exit_info.value.code == 2
    assert "--notification-url" in capsys.readouterr().err


def test_keys_add_and_revoke_rotate_keys(capsys, in_process) -> None:
    _, out, _ = run(
        capsys,
        "create",
        "--name",
        "S",
        "--notification-url",
        "https://shop.example/h",
        "--return-host",
        "shop.example",
        "--json",
    )
    created = json.loads(out)
    # when: a second key, then the first revoked
    status, out, err = run(capsys, "keys", "add", str(created["merchant_id"]), "--label", "2027", "--json")
    assert (status, err) == (0, "")
    added = json.loads(out)
    old_prefix = created["api_key"][:11]
    status, out, err = run(capsys, "keys", "revoke", old_prefix)
    # then
    assert (status, out, err) == (0, f"API key {old_prefix} of S revoked\n", "")
    api = Api(Client(), added["api_key"])
    assert api.post("payments", payment_body()).status_code == 201
    assert api.post("payments", payment_body(), key=created["api_key"]).status_code == 401
    status, out, _ = run(capsys, "list")
    keys = f"keys: {old_prefix} (revoked), {added['prefix']}"
    assert out == f"{created['merchant_id']}\tS\thttps://shop.example/h\t{keys}\n"


def test_keys_commands_fail_on_unknown_merchant_or_key(capsys, in_process) -> None:
    assert run(capsys, "keys", "add", "999") == (1, "", "guichet: no merchant with id '999'\n")
    assert run(capsys, "keys", "revoke", "gk_nothing") == (
        1,
        "",
        "guichet: no API key with prefix 'gk_nothing'\n",
    )
    assert ApiKey.objects.count() == 0


def test_secret_rotate(capsys, in_process) -> None:
    _, out, _ = run(capsys, "create", "--name", "S", "--notification-url", "https://shop.example/h", "--json")
    created = json.loads(out)
    status, out, err = run(capsys, "secret", "rotate", str(created["merchant_id"]), "--json")
    assert (status, err) == (0, "")
    new = json.loads(out)["notification_secret"]
    assert new != created["notification_secret"]
    assert merchant_secret_get(merchant=Merchant.objects.get()) == new


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1]:8000/hook", "loopback address ::1"),
        ("http://2130706433/hook", "loopback address 127.0.0.1"),
        ("http://127.1:6379/hook", "loopback address 127.0.0.1"),
        ("http://localhost/hook", "loopback host localhost"),
        ("https://192.0.2.5/hook", "private address 192.0.2.5"),
    ],
)
def test_create_refuses_an_internal_notification_address(capsys, in_process, settings, url, why) -> None:
    # given production's egress policy (test mode allows loopback)
    settings.GUICHET = dataclasses.replace(settings.GUICHET, egress=EgressPolicy())
    # when
    status, out, err = run(capsys, "create", "--name", "S", "--notification-url", url)
    # then
    assert (status, out) == (1, "")
    refused = f"the notification URL is refused: {why} (not in GUICHET_EGRESS_ALLOW)"
    assert err == f"guichet: merchant not created: {refused}\n"
    assert Merchant.objects.count() == 0


def test_create_accepts_an_internal_notification_address_listed_in_egress_allow(
    capsys, in_process, settings
) -> None:
    settings.GUICHET = dataclasses.replace(settings.GUICHET, egress=egress_policy_parse("127.0.0.0/8"))
    status, _, err = run(capsys, "create", "--name", "S", "--notification-url", "http://127.0.0.1:8000/hook")
    assert (status, err) == (0, "")
    assert Merchant.objects.get().notification_url == "http://127.0.0.1:8000/hook"
