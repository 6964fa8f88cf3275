"""GUICHET_ACS_CHALLENGE_ATTEMPTS (attempts per challenge), GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT,
GUICHET_ACS_SMS_PER_HOUR and GUICHET_ACS_RRES_WAIT."""

from __future__ import annotations

import pytest

from guichet.config.env import ConfigError, load


def test_default_is_three() -> None:
    assert load({"GUICHET_MODE": "test"}).acs.challenge_attempts == 3


def test_set_from_the_environment() -> None:
    assert load({"GUICHET_MODE": "test", "GUICHET_ACS_CHALLENGE_ATTEMPTS": "5"}).acs.challenge_attempts == 5


@pytest.mark.parametrize("value", ["0", "-1", "11", "three"])
def test_bad_values_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="GUICHET_ACS_CHALLENGE_ATTEMPTS"):
        load({"GUICHET_MODE": "test", "GUICHET_ACS_CHALLENGE_ATTEMPTS": value})


def test_idle_timeout_default_is_five_minutes() -> None:
    assert load({"GUICHET_MODE": "test"}).acs.challenge_idle_timeout_s == 300


def test_idle_timeout_from_the_environment() -> None:
    env = {"GUICHET_MODE": "test", "GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT": "120"}
    assert load(env).acs.challenge_idle_timeout_s == 120


@pytest.mark.parametrize("value", ["0", "-5", "601", "5m"])
def test_bad_idle_timeouts_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT"):
        load({"GUICHET_MODE": "test", "GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT": value})


def test_sms_per_hour_default_is_ten() -> None:
    assert load({"GUICHET_MODE": "test"}).acs.sms_per_hour == 10


def test_sms_per_hour_from_the_environment() -> None:
    assert load({"GUICHET_MODE": "test", "GUICHET_ACS_SMS_PER_HOUR": "3"}).acs.sms_per_hour == 3


@pytest.mark.parametrize("value", ["0", "-1", "1001", "ten"])
def test_bad_sms_per_hour_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="GUICHET_ACS_SMS_PER_HOUR"):
        load({"GUICHET_MODE": "test", "GUICHET_ACS_SMS_PER_HOUR": value})


def test_rres_wait_default_is_ten_seconds() -> None:
    assert load({"GUICHET_MODE": "test"}).acs.rres_wait_s == 10


@pytest.mark.parametrize("value", ["1", "60"])
def test_rres_wait_from_the_environment(value: str) -> None:
    assert load({"GUICHET_MODE": "test", "GUICHET_ACS_RRES_WAIT": value}).acs.rres_wait_s == int(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "GUICHET_ACS_RRES_WAIT must be positive, got 0"),
        ("61", "GUICHET_ACS_RRES_WAIT must be from 1 to 60 seconds, got 61"),
        ("abc", "GUICHET_ACS_RRES_WAIT must be a whole number, got 'abc'"),
    ],
)
def test_bad_rres_waits_are_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load({"GUICHET_MODE": "test", "GUICHET_ACS_RRES_WAIT": value})
    assert str(refused.value) == message
