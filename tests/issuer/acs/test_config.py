"""The ACS settings (GUICHET_ACS_*): parsed values, clear errors, and a misnamed rule stopping the start."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from guichet.config import env


def acs(**variables: str) -> env.AcsConfig:
    return env.load({"GUICHET_MODE": "test", **variables}).acs


def test_defaults():
    config = acs()
    assert (config.reference_number, config.operator_id, config.card_ranges, config.rules) == (
        "GUICHET-ACS-DEMO",
        "",
        (),
        (),
    )
    assert (config.no_epin_policy, config.verify_token) == ("refuse", "")


def test_values():
    config = acs(
        GUICHET_ACS_REFERENCE_NUMBER="3DS_LOA_ACS_BKCO_020200_00001",
        GUICHET_ACS_OPERATOR_ID="OP-1",
        GUICHET_ACS_CARD_RANGES=" 4970100000000000-4970109999999999 , 5137,",
        GUICHET_ACS_RULES="low_value(3000, 978), challenge_indicator,mybank.rules.Night( 23 ,6 )",
        GUICHET_ACS_NO_EPIN_POLICY="sms_only",
        GUICHET_ACS_VERIFY_TOKEN="v" * 32,
    )
    assert config.reference_number == "3DS_LOA_ACS_BKCO_020200_00001"
    assert config.operator_id == "OP-1"
    assert config.card_ranges == (("4970100000000000", "4970109999999999"), ("5137", "5137"))
    assert config.rules == (
        ("low_value", ("3000", "978")),
        ("challenge_indicator", ()),
        ("mybank.rules.Night", ("23", "6")),
    )
    assert (config.no_epin_policy, config.verify_token) == ("sms_only", "v" * 32)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GUICHET_ACS_REFERENCE_NUMBER": "x" * 33}, "GUICHET_ACS_REFERENCE_NUMBER must be at most 32"),
        ({"GUICHET_ACS_OPERATOR_ID": "a\nb"}, "GUICHET_ACS_OPERATOR_ID must be at most 32 printable"),
        ({"GUICHET_ACS_NO_EPIN_POLICY": "allow"}, "must be 'refuse' or 'sms_only'"),
        ({"GUICHET_ACS_VERIFY_TOKEN": "short"}, "at least 32 characters"),
        ({"GUICHET_ACS_CARD_RANGES": "4970-x"}, "'4970-x' is not digits or START-END"),
        ({"GUICHET_ACS_CARD_RANGES": "4971-4970"}, "needs START <= END"),
        ({"GUICHET_ACS_CARD_RANGES": "497-4970"}, "needs START <= END with as many digits"),
        ({"GUICHET_ACS_RULES": "low_value(3000"}, "unbalanced parentheses"),
        ({"GUICHET_ACS_RULES": "low_value(a(b))"}, "unbalanced parentheses"),
        ({"GUICHET_ACS_RULES": "9lives"}, "'9lives' is not NAME or NAME(ARG, ...)"),
        ({"GUICHET_ACS_RULES": "a b"}, "'a b' is not NAME"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(variables, message):
    with pytest.raises(env.ConfigError) as raised:
        acs(**variables)
    assert message in str(raised.value)


def test_a_rule_that_cannot_be_loaded_stops_the_start(settings):
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, rules=(("nope", ()),))
    )
    with pytest.raises(ImproperlyConfigured, match="GUICHET_ACS_RULES: unknown rule 'nope'"):
        apps.get_app_config("acs").ready()


# --- GUICHET_ACS_METHOD: the 3DS Method on every range, none, or some ---------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, (True, ())),
        ("on", (True, ())),
        ("OFF", (False, ())),
        ("4970, 5137000000-5137009999", (True, (("4970", "4970"), ("5137000000", "5137009999")))),
    ],
)
def test_the_method_setting(raw, expected):
    config = acs(**({} if raw is None else {"GUICHET_ACS_METHOD": raw}))
    assert (config.method, config.method_ranges) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [("yes", "GUICHET_ACS_METHOD: 'yes' is not digits"), (",", "GUICHET_ACS_METHOD must be 'on', 'off'")],
)
def test_a_bad_method_setting_stops_the_start(raw, message):
    with pytest.raises(env.ConfigError, match=re.escape(message)):
        acs(GUICHET_ACS_METHOD=raw)
