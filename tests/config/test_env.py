"""The environment reader (docs/operating.md, Configuration): guichet.config.env.load on explicit dicts."""

from __future__ import annotations

import base64
import re
import stat

import pytest

from guichet.config import env
from guichet.config.env import ConfigError
from guichet.core.egress import EgressPolicy

SECRET = "s" * 50
HMAC_HEX = "ab" * 32
DATA_HEX = "cd" * 32


def serve_env(tmp_path, **extra: str) -> dict[str, str]:
    """A complete production environment (mode serve), plus `extra`."""
    values = {
        "GUICHET_DATA_DIR": str(tmp_path),
        "GUICHET_SECRET_KEY": SECRET,
        "GUICHET_HMAC_KEY": HMAC_HEX,
        "GUICHET_DATA_KEY": DATA_HEX,
    }
    values.update(extra)
    return values


def test_defaults_of_a_production_environment(tmp_path, monkeypatch):
    # given: only the three keys, run from tmp_path
    monkeypatch.chdir(tmp_path)
    environ = serve_env(tmp_path)
    del environ["GUICHET_DATA_DIR"]
    # when
    config = env.load(environ)
    # then
    assert config.mode == "serve"
    assert config.data_dir == (tmp_path / "var").resolve()
    assert config.database_url == f"sqlite:///{(tmp_path / 'var').resolve() / 'guichet.sqlite3'}"
    assert config.public_url == "http://127.0.0.1:8000"
    assert not config.https
    assert (config.email_url, config.sms_url, config.sms_token, config.redis_url) == ("", "", "", "")
    assert config.delivery == "inprocess"
    assert config.secret_key == SECRET
    assert config.hmac_key == bytes.fromhex(HMAC_HEX)
    assert config.data_key == bytes.fromhex(DATA_HEX)
    assert not (tmp_path / "var" / "demo-keys.env").exists()


def test_the_sqlite_default_follows_the_data_dir(tmp_path):
    # when
    config = env.load(serve_env(tmp_path / "data"))
    # then
    assert config.data_dir == (tmp_path / "data").resolve()
    assert config.database_url == f"sqlite:///{(tmp_path / 'data').resolve()}/guichet.sqlite3"


def test_explicit_settings_are_taken_as_given(tmp_path):
    # when
    config = env.load(
        serve_env(
            tmp_path,
            GUICHET_DATABASE_URL="postgresql://guichet@db.example:5432/guichet",
            GUICHET_PUBLIC_URL="https://acs.example.nc/",
            GUICHET_EMAIL_URL="smtp+starttls://user:pass@mail.example:587",
            GUICHET_SMS_URL="https://sms.example/send",
            GUICHET_SMS_TOKEN="tok",
        )
    )
    # then
    assert config.database_url == "postgresql://guichet@db.example:5432/guichet"
    assert config.public_url == "https://acs.example.nc"
    assert config.https
    assert config.email_url == "smtp+starttls://user:pass@mail.example:587"
    assert (config.sms_url, config.sms_token) == ("https://sms.example/send", "tok")


def test_secrets_can_be_read_from_files(tmp_path):
    # given: each secret in its own file (as Docker/systemd secrets), with a trailing newline
    files = {}
    for name, value in (
        ("GUICHET_SECRET_KEY", SECRET),
        ("GUICHET_HMAC_KEY", HMAC_HEX),
        ("GUICHET_DATA_KEY", base64.b64encode(bytes(range(32))).decode()),
        ("GUICHET_SMS_TOKEN", "gateway-token"),
        ("GUICHET_EMAIL_URL", "smtps://mailer:p%40ss@mail.example:465"),
    ):
        path = tmp_path / name.lower()
        path.write_text(value + "\n", encoding="utf-8")
        files[f"{name}_FILE"] = str(path)
    # when
    config = env.load({"GUICHET_DATA_DIR": str(tmp_path), **files})
    # then
    assert config.secret_key == SECRET
    assert config.hmac_key == bytes.fromhex(HMAC_HEX)
    assert config.data_key == bytes(range(32))
    assert config.sms_token == "gateway-token"
    assert config.email_url == "smtps://mailer:p%40ss@mail.example:465"


def test_a_variable_wins_over_its_file(tmp_path):
    # given
    path = tmp_path / "hmac"
    path.write_text("ef" * 32, encoding="utf-8")
    # when
    config = env.load(serve_env(tmp_path, GUICHET_HMAC_KEY_FILE=str(path)))
    # then
    assert config.hmac_key == bytes.fromhex(HMAC_HEX)


def test_an_unreadable_secret_file_is_named(tmp_path):
    # given
    environ = serve_env(tmp_path, GUICHET_DATA_KEY_FILE=str(tmp_path / "missing"))
    del environ["GUICHET_DATA_KEY"]
    # when / then
    with pytest.raises(ConfigError, match=r"^GUICHET_DATA_KEY_FILE=.*missing cannot be read"):
        env.load(environ)


def test_production_refuses_to_start_without_keys(tmp_path):
    # when / then: no generated or fixed keys outside demo/test
    with pytest.raises(ConfigError) as raised:
        env.load({"GUICHET_DATA_DIR": str(tmp_path)})
    assert str(raised.value).startswith(
        "missing required key(s): GUICHET_SECRET_KEY, GUICHET_HMAC_KEY, GUICHET_DATA_KEY"
    )
    assert not (tmp_path / "demo-keys.env").exists()


def test_production_names_only_the_missing_key(tmp_path):
    # given
    environ = serve_env(tmp_path)
    del environ["GUICHET_HMAC_KEY"]
    # when / then
    with pytest.raises(ConfigError, match=r"^missing required key\(s\): GUICHET_HMAC_KEY \("):
        env.load(environ)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GUICHET_SECRET_KEY", "s" * 31, "GUICHET_SECRET_KEY must be at least 32 characters"),
        ("GUICHET_HMAC_KEY", "ab" * 31, "GUICHET_HMAC_KEY must be 32 bytes as 64 hex digits or base64"),
        ("GUICHET_HMAC_KEY", "zz" * 32, "GUICHET_HMAC_KEY must be 32 bytes as 64 hex digits or base64"),
        (
            "GUICHET_HMAC_KEY",
            base64.b64encode(bytes(16)).decode(),
            "GUICHET_HMAC_KEY must be 32 bytes (64 hex digits), got 16 bytes",
        ),
        ("GUICHET_DATA_KEY", "cd" * 33, "GUICHET_DATA_KEY must be 32 bytes as 64 hex digits or base64"),
        (
            "GUICHET_DATA_KEY",
            base64.b64encode(bytes(64)).decode(),
            "GUICHET_DATA_KEY must be 32 bytes (64 hex digits), got 64 bytes",
        ),
    ],
)
def test_a_key_of_the_wrong_length_is_refused_by_name(tmp_path, name, value, message):
    # when / then
    with pytest.raises(ConfigError) as raised:
        env.load(serve_env(tmp_path, **{name: value}))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "GUICHET_DATABASE_URL",
            "mysql://guichet@db/guichet",
            "GUICHET_DATABASE_URL must start with one of sqlite://, postgresql://, postgres://",
        ),
        (
            "GUICHET_DATABASE_URL",
            "/srv/guichet.sqlite3",
            "GUICHET_DATABASE_URL must start with one of sqlite://, postgresql://, postgres://",
        ),
        (
            "GUICHET_EMAIL_URL",
            "http://mail.example",
            "GUICHET_EMAIL_URL must start with one of smtp://, smtp+starttls://, smtps://",
        ),
        (
            "GUICHET_EMAIL_URL",
            "mail.example:25",
            "GUICHET_EMAIL_URL must start with one of smtp://, smtp+starttls://, smtps://",
        ),
        ("GUICHET_SMS_URL", "ftp://sms.example", "GUICHET_SMS_URL must start with one of http://, https://"),
        (
            "GUICHET_PUBLIC_URL",
            "acs.example.nc",
            "GUICHET_PUBLIC_URL must start with one of http://, https://",
        ),
        (
            "GUICHET_REDIS_URL",
            "memcached://c:11211",
            "GUICHET_REDIS_URL must start with one of redis://, rediss://",
        ),
        ("GUICHET_MODE", "production", "GUICHET_MODE must be one of serve, demo, test, got 'production'"),
        ("GUICHET_DELIVERY", "cron", "GUICHET_DELIVERY must be 'inprocess' or 'worker'"),
        ("GUICHET_PORTAL_IDLE_TIMEOUT", "5m", "GUICHET_PORTAL_IDLE_TIMEOUT must be a whole number, got '5m'"),
        ("GUICHET_LOGO_URL", "logo.svg", "GUICHET_LOGO_URL must start with one of https://, http://"),
        (
            "GUICHET_LOGO_URL",
            "javascript:alert(1)",
            "GUICHET_LOGO_URL must start with one of https://, http://",
        ),
    ],
)
def test_a_malformed_setting_is_refused_by_name(tmp_path, name, value, message):
    # when / then
    with pytest.raises(ConfigError) as raised:
        env.load(serve_env(tmp_path, **{name: value}))
    assert str(raised.value) == message


def test_demo_generates_its_keys_once_into_the_data_dir(tmp_path):
    # given
    environ = {"GUICHET_MODE": "demo", "GUICHET_DATA_DIR": str(tmp_path)}
    # when
    first = env.load(environ)
    second = env.load(environ)
    # then
    keys_file = tmp_path / "demo-keys.env"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    lines = keys_file.read_text(encoding="utf-8").splitlines()
    assert [line.partition("=")[0] for line in lines] == [
        "GUICHET_SECRET_KEY",
        "GUICHET_HMAC_KEY",
        "GUICHET_DATA_KEY",
    ]
    values = [line.partition("=")[2] for line in lines]
    assert all(len(v) == 64 for v in values)
    assert len(set(values)) == 3
    assert first.secret_key == values[0]
    assert first.hmac_key == bytes.fromhex(values[1])
    assert first.data_key == bytes.fromhex(values[2])
    assert (second.secret_key, second.hmac_key, second.data_key) == (
        first.secret_key,
        first.hmac_key,
        first.data_key,
    )
    assert first.demo
    assert first.database_url == f"sqlite:///{tmp_path.resolve()}/guichet.sqlite3"


def test_two_demo_data_dirs_get_different_keys(tmp_path):
    # when
    one = env.load({"GUICHET_MODE": "demo", "GUICHET_DATA_DIR": str(tmp_path / "one")})
    two = env.load({"GUICHET_MODE": "demo", "GUICHET_DATA_DIR": str(tmp_path / "two")})
    # then
    assert one.hmac_key != two.hmac_key
    assert one.data_key != two.data_key
    assert one.secret_key != two.secret_key


def test_demo_uses_keys_given_in_the_environment(tmp_path):
    # when
    config = env.load(
        {"GUICHET_MODE": "demo", "GUICHET_DATA_DIR": str(tmp_path), "GUICHET_HMAC_KEY": HMAC_HEX}
    )
    # then
    assert config.hmac_key == bytes.fromhex(HMAC_HEX)
    generated = dict(
        line.partition("=")[::2] for line in (tmp_path / "demo-keys.env").read_text("utf-8").splitlines()
    )
    assert config.data_key == bytes.fromhex(generated["GUICHET_DATA_KEY"])
    assert generated["GUICHET_HMAC_KEY"] != HMAC_HEX


def test_demo_completes_a_partial_keys_file_and_keeps_the_existing_key(tmp_path):
    # given: a keys file that lost two of its lines, readable by others
    keys_file = tmp_path / "demo-keys.env"
    keys_file.write_text(f"GUICHET_HMAC_KEY={HMAC_HEX}\n", encoding="utf-8")
    keys_file.chmod(0o644)
    # when
    config = env.load({"GUICHET_MODE": "demo", "GUICHET_DATA_DIR": str(tmp_path)})
    # then
    assert config.hmac_key == bytes.fromhex(HMAC_HEX)
    lines = keys_file.read_text(encoding="utf-8").splitlines()
    assert [line.partition("=")[0] for line in lines] == list(env.KEY_NAMES)
    assert lines[1] == f"GUICHET_HMAC_KEY={HMAC_HEX}"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600


def test_the_demo_issuer_has_a_logo_and_a_clearly_fictional_legal_footer(tmp_path):
    branding = env.load(serve_env(tmp_path, GUICHET_SUPPORT_PHONE="(+687) 11 22 33")).branding
    assert branding.logo_url == "/static/guichet/banque-corail.svg"
    assert branding.logo_origin == ""
    assert branding.legal == (
        "BANQUE CORAIL (démo)",
        "Direction des Services Bancaires - 1 rue des Coraux - BP 0000 - 98800 Nouméa - Nouvelle-Calédonie",
        "Service Relation Clientèle (+687) 11 22 33 - contact@banque-corail.invalid"
        " - RCS Nouméa 0000 B 000 000 - RIDET 0 000 000.000",
    )


def test_an_issuer_that_names_itself_gets_no_demo_logo_or_legal_footer(tmp_path):
    branding = env.load(serve_env(tmp_path, GUICHET_ISSUER_NAME="Banque du Récif")).branding
    assert (branding.logo_url, branding.legal) == ("", ())


def test_the_issuer_logo_and_legal_lines_are_read_as_given(tmp_path):
    branding = env.load(
        serve_env(
            tmp_path,
            GUICHET_ISSUER_NAME="Banque du Récif",
            GUICHET_LOGO_URL="https://cdn.recif.example/logo.svg",
            # a literal \n breaks a line too: an env file holds one line per variable
            GUICHET_ISSUER_LEGAL=" BANQUE DU RÉCIF \n 2 rue du Lagon, Nouméa\\nRCS Nouméa 1111 B 111 111\n\n",
        )
    ).branding
    assert branding.logo_url == "https://cdn.recif.example/logo.svg"
    assert branding.logo_origin == "https://cdn.recif.example"
    assert branding.legal == ("BANQUE DU RÉCIF", "2 rue du Lagon, Nouméa", "RCS Nouméa 1111 B 111 111")


def test_the_legal_footer_can_be_read_from_a_file(tmp_path):
    legal = tmp_path / "legal.txt"
    legal.write_text("BANQUE DU RÉCIF\nRIDET 111 111 111\n", encoding="utf-8")
    branding = env.load(serve_env(tmp_path, GUICHET_ISSUER_LEGAL_FILE=str(legal))).branding
    assert branding.legal == ("BANQUE DU RÉCIF", "RIDET 111 111 111")


# --- the boundary: GUICHET_EGRESS_ALLOW, GUICHET_ACS_DS_URLS -----------------------------------------


def test_production_allows_no_internal_destination_and_no_ds_by_default(tmp_path):
    config = env.load(serve_env(tmp_path))
    assert config.egress == EgressPolicy()
    assert config.acs.ds_urls == ()


@pytest.mark.parametrize("mode", ["demo", "test"])
def test_demo_and_test_allow_loopback(tmp_path, mode):
    config = env.load({"GUICHET_MODE": mode, "GUICHET_DATA_DIR": str(tmp_path)})
    assert [str(n) for n in config.egress.allow_networks] == ["127.0.0.1/32", "::1/128"]


def test_egress_allow_lists_hosts_and_networks(tmp_path):
    config = env.load(serve_env(tmp_path, GUICHET_EGRESS_ALLOW="sms.internal, 10.20.0.0/16"))
    assert config.egress.allow_hosts == frozenset({"sms.internal"})
    assert [str(n) for n in config.egress.allow_networks] == ["10.20.0.0/16"]


def test_a_bad_egress_entry_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"GUICHET_EGRESS_ALLOW: '10\.0\.0\.0/99' is neither"):
        env.load(serve_env(tmp_path, GUICHET_EGRESS_ALLOW="10.0.0.0/99"))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9/sms", "loopback address 127.0.0.1"),
        ("http://2130706433/sms", "loopback address 127.0.0.1"),
        ("http://localhost:9/sms", "loopback host localhost"),
        ("https://user:pw@sms.example/send", "a URL with a user name or password"),
    ],
)
def test_production_refuses_to_start_with_an_sms_gateway_the_policy_refuses(tmp_path, url, why):
    with pytest.raises(ConfigError, match=f"GUICHET_SMS_URL is refused by the egress policy: {why}"):
        env.load(serve_env(tmp_path, GUICHET_SMS_URL=url))


def test_an_internal_sms_gateway_starts_once_allowed(tmp_path):
    config = env.load(
        serve_env(tmp_path, GUICHET_SMS_URL="http://127.0.0.1:9/sms", GUICHET_EGRESS_ALLOW="127.0.0.1")
    )
    assert config.sms_url == "http://127.0.0.1:9/sms"


def test_ds_urls_are_prefixes_ending_at_a_path_boundary(tmp_path):
    config = env.load(
        serve_env(
            tmp_path, GUICHET_ACS_DS_URLS="https://DS.Visa.example, https://ds.mc.example:8443/3ds/rreq"
        )
    )
    assert config.acs.ds_urls == ("https://ds.visa.example/", "https://ds.mc.example:8443/3ds/rreq")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ds.example/rreq", "is not an http(s) URL prefix"),
        ("https://ds.example/rreq?x=1", "is not an http(s) URL prefix"),
        ("http://[::1]:8000/rreq", "is refused: loopback address ::1"),
        ("https://user:pw@ds.example/", "is refused: a URL with a user name or password"),
    ],
)
def test_a_bad_ds_url_is_refused_at_start(tmp_path, value, message):
    with pytest.raises(ConfigError, match=re.escape(f"GUICHET_ACS_DS_URLS: {value!r} {message}")):
        env.load(serve_env(tmp_path, GUICHET_ACS_DS_URLS=value))
