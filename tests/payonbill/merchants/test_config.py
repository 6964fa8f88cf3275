"""The merchants section of the environment (guichet/config/env.py)."""

from __future__ import annotations

import pytest

from guichet.config import env
from guichet.config.env import ConfigError, MerchantsConfig

BASE = {"GUICHET_MODE": "test"}


def test_defaults(tmp_path) -> None:
    config = env.load({**BASE, "GUICHET_DATA_DIR": str(tmp_path)}).merchants
    assert config == MerchantsConfig(
        payment_ttl_s=900, max_amount=1_000_000, currencies=("EUR",), notification_valid_days=3
    )


def test_values(tmp_path) -> None:
    config = env.load(
        {
            **BASE,
            "GUICHET_DATA_DIR": str(tmp_path),
            "GUICHET_PAYMENT_TTL": "600",
            "GUICHET_PAYMENT_MAX_AMOUNT": "5000",
            "GUICHET_PAYMENT_CURRENCIES": "eur, XPF",
            "GUICHET_NOTIFICATION_VALID_DAYS": "1",
        }
    ).merchants
    assert config == MerchantsConfig(
        payment_ttl_s=600, max_amount=5000, currencies=("EUR", "XPF"), notification_valid_days=1
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GUICHET_PAYMENT_CURRENCIES", "EUR,EURO", "GUICHET_PAYMENT_CURRENCIES must list ISO 4217 codes"),
        ("GUICHET_PAYMENT_CURRENCIES", ",", "GUICHET_PAYMENT_CURRENCIES must list ISO 4217 codes"),
        ("GUICHET_PAYMENT_TTL", "0", "GUICHET_PAYMENT_TTL must be positive"),
        ("GUICHET_PAYMENT_MAX_AMOUNT", "ten", "GUICHET_PAYMENT_MAX_AMOUNT must be a whole number"),
    ],
)
def test_bad_values_stop_the_start(tmp_path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        env.load({**BASE, "GUICHET_DATA_DIR": str(tmp_path), name: value})
