"""The subscribers' settings (guichet/config/env.py `_subscribers`): defaults and clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from guichet.config import env


def load(**variables: str) -> env.SubscribersConfig:
    return env.load({"GUICHET_MODE": "test", **variables}).subscribers


def test_defaults():
    config = load()
    assert (config.operator_name, config.operator_short_name, config.operator_colour) == (
        "Opérateur Lagon (démo)",
        "Lagon",
        "#c2410c",
    )
    assert (config.idle_timeout_s, config.stay_signed_in_days, config.remember_email_days) == (300, 30, 365)
    assert (config.rollout_start, config.rollout_percent, config.rollout_contracts) == (None, 100, ())
    assert (config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallelism) == (2, 19456, 1)
    assert config.billing_time_zone == "Europe/Paris"
    assert config.billing_vat_rate_bp is None


def test_every_setting_is_read():
    config = load(
        GUICHET_OPERATOR_NAME="Câble du Récif",
        GUICHET_OPERATOR_SHORT_NAME="Récif",
        GUICHET_OPERATOR_COLOUR="#12AB34",
        GUICHET_OPERATOR_LOGO_URL="https://cdn.example/logo.svg",
        GUICHET_OPERATOR_TERMS_URL="https://recif.example/cgv",
        GUICHET_OPERATOR_MAIL_DOMAIN="@Recif.NC",
        GUICHET_PAY_ON_BILL_NAME="récif+",
        GUICHET_BILLING_TIME_ZONE="Pacific/Noumea",
        GUICHET_BILLING_VAT_RATE="5.5",
        GUICHET_SUBSCRIBER_IDLE_TIMEOUT="600",
        GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS="7",
        GUICHET_SUBSCRIBER_REMEMBER_EMAIL_DAYS="90",
        GUICHET_SUBSCRIBER_SIGNIN_IP_LIMIT="10",
        GUICHET_SUBSCRIBER_SIGNIN_IP_WINDOW="60",
        GUICHET_SIGNIN_ROLLOUT_START="2026-07-01",
        GUICHET_SIGNIN_ROLLOUT_PERCENT="25%",
        GUICHET_SIGNIN_ROLLOUT_CONTRACTS="LG-1, LG-2,,",
        GUICHET_ARGON2_TIME_COST="3",
        GUICHET_ARGON2_MEMORY_KIB="65536",
        GUICHET_ARGON2_PARALLELISM="2",
    )
    assert config == env.SubscribersConfig(
        operator_name="Câble du Récif",
        operator_short_name="Récif",
        operator_colour="#12ab34",
        operator_logo_url="https://cdn.example/logo.svg",
        operator_terms_url="https://recif.example/cgv",
        operator_mail_domain="recif.nc",
        service_name="récif+",
        billing_time_zone="Pacific/Noumea",
        billing_vat_rate_bp=550,
        idle_timeout_s=600,
        stay_signed_in_days=7,
        remember_email_days=90,
        signin_ip_limit=10,
        signin_ip_window_s=60,
        rollout_start=dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
        rollout_percent=25,
        rollout_contracts=("LG-1", "LG-2"),
        argon2_time_cost=3,
        argon2_memory_kib=65536,
        argon2_parallelism=2,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GUICHET_OPERATOR_COLOUR", "red", "GUICHET_OPERATOR_COLOUR must be #rrggbb, got 'red'"),
        ("GUICHET_OPERATOR_LOGO_URL", "ftp://x/logo.png", "GUICHET_OPERATOR_LOGO_URL must start with one of"),
        ("GUICHET_OPERATOR_MAIL_DOMAIN", "lagon", "GUICHET_OPERATOR_MAIL_DOMAIN must be a domain name"),
        ("GUICHET_BILLING_TIME_ZONE", "Mars/Olympus", "GUICHET_BILLING_TIME_ZONE must be an IANA time zone"),
        ("GUICHET_BILLING_VAT_RATE", "20,5", "GUICHET_BILLING_VAT_RATE must be a percentage such as 20"),
        ("GUICHET_BILLING_VAT_RATE", "100", "GUICHET_BILLING_VAT_RATE must be a percentage such as 20"),
        ("GUICHET_BILLING_VAT_RATE", "5.555", "GUICHET_BILLING_VAT_RATE must be a percentage such as 20"),
        ("GUICHET_SIGNIN_ROLLOUT_START", "1 July", "GUICHET_SIGNIN_ROLLOUT_START must be an ISO date"),
        (
            "GUICHET_SIGNIN_ROLLOUT_PERCENT",
            "120",
            "GUICHET_SIGNIN_ROLLOUT_PERCENT must be a whole percentage",
        ),
        (
            "GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS",
            "0",
            "GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS must be positive",
        ),
        ("GUICHET_ARGON2_MEMORY_KIB", "1024", "GUICHET_ARGON2_MEMORY_KIB must be at least 8192"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(name, value, message):
    with pytest.raises(env.ConfigError) as raised:
        load(**{name: value})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(("raw", "basis_points"), [("20", 2000), ("20%", 2000), ("5.5", 550), ("0", 0)])
def test_the_vat_rate_is_read_in_basis_points(raw, basis_points):
    assert load(GUICHET_BILLING_VAT_RATE=raw).billing_vat_rate_bp == basis_points
