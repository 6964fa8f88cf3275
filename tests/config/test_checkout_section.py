"""The checkout settings read from the environment."""

from __future__ import annotations

import pytest

from guichet.config import env
from guichet.config.payonbill import checkout_section


def test_checkout_defaults_are_the_legal_caps():
    config = checkout_section({})
    assert config == env.CheckoutConfig(payment_cap=5000, monthly_cap=30000, return_delay_s=5)


def test_checkout_caps_are_read_in_euros():
    config = checkout_section(
        {
            "GUICHET_CHECKOUT_PAYMENT_CAP": "49.9",
            "GUICHET_CHECKOUT_MONTHLY_CAP": "120",
            "GUICHET_CHECKOUT_RETURN_DELAY": "2",
        }
    )
    assert (config.payment_cap, config.monthly_cap, config.return_delay_s) == (4990, 12000, 2)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GUICHET_CHECKOUT_PAYMENT_CAP", "-1", "must be an amount in euros"),
        ("GUICHET_CHECKOUT_PAYMENT_CAP", "0", "must be positive"),
        ("GUICHET_CHECKOUT_PAYMENT_CAP", "1.234", "must be an amount in euros"),
        ("GUICHET_CHECKOUT_MONTHLY_CAP", "trois cents", "must be an amount in euros"),
        ("GUICHET_CHECKOUT_MONTHLY_CAP", "40", "must not be below GUICHET_CHECKOUT_PAYMENT_CAP"),
        ("GUICHET_CHECKOUT_RETURN_DELAY", "soon", "must be a whole number"),
    ],
)
def test_bad_checkout_settings_stop_the_start_with_a_clear_message(name, value, message):
    with pytest.raises(env.ConfigError, match=message) as raised:
        checkout_section({name: value})
    assert name in str(raised.value)
