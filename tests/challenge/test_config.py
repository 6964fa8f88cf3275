"""GUICHET_ACS_CHALLENGE_ATTEMPTS: attempts per challenge."""

from __future__ import annotations

import pytest

from guichet.env import ConfigError, load


def test_default_is_three() -> None:
    assert load({"GUICHET_MODE": "test"}).acs.challenge_attempts == 3


def test_set_from_the_environment() -> None:
    assert load({"GUICHET_MODE": "test", "GUICHET_ACS_CHALLENGE_ATTEMPTS": "5"}).acs.challenge_attempts == 5


@pytest.mark.parametrize("value", ["0", "-1", "11", "three"])
def test_bad_values_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="GUICHET_ACS_CHALLENGE_ATTEMPTS"):
        load({"GUICHET_MODE": "test", "GUICHET_ACS_CHALLENGE_ATTEMPTS": value})
