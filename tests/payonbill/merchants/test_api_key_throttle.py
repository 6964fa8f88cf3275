"""Wrong API keys are limited per client address: beyond the limit, 429 and no audit row per request."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.codes.models import RateBucket
from guichet.config import env
from guichet.config.env import ConfigError
from guichet.payonbill.merchants.accounts import merchant_key_add, merchant_key_revoke
from guichet.payonbill.merchants.models import Payment
from tests.codes.test_ratelimit import _redis_url
from tests.payonbill.merchants.conftest import Api, payment_body

WRONG = "gk_00000000_unknownunknownunknownunknownunknown0000"
ADDRESS = "203.0.113.7"
THROTTLED = "too many requests with a wrong or revoked API key from this address; retry later."


def _limits(settings: Any, *, limit: int, window_s: int, redis_url: str = "") -> None:
    merchants = dataclasses.replace(
        settings.GUICHET.merchants, api_key_failure_limit=limit, api_key_failure_window_s=window_s
    )
    settings.GUICHET = dataclasses.replace(settings.GUICHET, merchants=merchants, redis_url=redis_url)


def _rejected() -> int:
    return AuditEvent.objects.filter(event="merchants:key:rejected").count()


def _throttled() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event="merchants:key:throttled"))


def test_the_default_limit_is_20_failures_per_10_minutes(merchant, settings) -> None:
    # given the default configuration and one client address
    assert settings.GUICHET.merchants.api_key_failure_limit == 20
    assert settings.GUICHET.merchants.api_key_failure_window_s == 600
    api = Api(Client(REMOTE_ADDR=ADDRESS), WRONG)
    before = AuditEvent.objects.count()
    # when: 25 requests with an unknown key
    statuses = [api.get("payments").status_code for _ in range(25)]
    # then: 20 refusals audited one by one, then 429 with a single audit row for the whole burst
    assert statuses == [401] * 20 + [429] * 5
    assert _rejected() == 20
    throttled = _throttled()
    assert len(throttled) == 1
    assert throttled[0].ip == ADDRESS
    assert throttled[0].outcome == AuditEvent.Outcome.REFUSED
    assert AuditEvent.objects.count() - before == 21


def test_beyond_the_limit_429_with_retry_after_and_no_more_audit_rows(merchant, settings) -> None:
    # given a limit of 3 failures per 10 minutes
    _limits(settings, limit=3, window_s=600)
    api = Api(Client(REMOTE_ADDR=ADDRESS), WRONG)
    for _ in range(3):
        response = api.post("payments", payment_body())
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
    assert _rejected() == 3
    assert _throttled() == []
    before = AuditEvent.objects.count()
    # when: ten more wrong keys from the same address
    responses = [api.post("payments", payment_body()) for _ in range(10)]
    # then
    assert [r.status_code for r in responses] == [429] * 10
    for response in responses:
        assert response.json() == {
            "error": {
                "code": "too_many_failed_authentications",
                "message": THROTTLED,
                "field": None,
            }
        }
        assert response.headers["Retry-After"] == "600"
        assert "WWW-Authenticate" not in response.headers
    assert AuditEvent.objects.count() - before == 1  # the first 429 only
    assert _rejected() == 3
    assert len(_throttled()) == 1
    assert Payment.objects.count() == 0
    assert RateBucket.objects.count() == 1  # one counter row, updated in place


def test_a_revoked_key_counts_as_a_failure(merchant, settings) -> None:
    # given a revoked key and a limit of 2
    _limits(settings, limit=2, window_s=600)
    key, clear = merchant_key_add(merchant=merchant.merchant, label="old")
    merchant_key_revoke(prefix=key.prefix)
    api = Api(Client(REMOTE_ADDR=ADDRESS), clear)
    # when
    statuses = [api.get("payments").status_code for _ in range(4)]
    # then
    assert statuses == [401, 401, 429, 429]
    throttled = _throttled()
    assert len(throttled) == 1
    assert throttled[0].subject == f"key:{key.prefix}"
    assert throttled[0].detail["reason"] == "revoked"


def test_a_valid_key_still_works_from_an_address_over_the_limit(merchant, settings) -> None:
    # given an address that is over its failure limit (a shared NAT with a key guesser behind it)
    _limits(settings, limit=2, window_s=600)
    client = Client(REMOTE_ADDR=ADDRESS)
    wrong = Api(client, WRONG)
    assert [wrong.get("payments").status_code for _ in range(3)] == [401, 401, 429]
    # when: the merchant's own key is used from that address
    good = Api(client, merchant.api_key)
    created = good.post("payments", payment_body())
    listed = good.get("payments")
    # then: served, and the failure count is not reset by the success
    assert created.status_code == 201
    assert listed.status_code == 200
    assert Payment.objects.count() == 1
    assert wrong.get("payments").status_code == 429
    assert _rejected() == 2
    assert len(_throttled()) == 1


def test_other_addresses_are_not_limited(merchant, settings) -> None:
    # given an address over the limit
    _limits(settings, limit=2, window_s=600)
    assert [Api(Client(REMOTE_ADDR=ADDRESS), WRONG).get("payments").status_code for _ in range(3)] == [
        401,
        401,
        429,
    ]
    # when: another address sends a wrong key
    response = Api(Client(REMOTE_ADDR="198.51.100.9"), WRONG).get("payments")
    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert _rejected() == 3


def test_the_limit_restarts_with_the_next_window(merchant, settings, clock) -> None:
    # given an address that hit the limit
    _limits(settings, limit=2, window_s=600)
    api = Api(Client(REMOTE_ADDR=ADDRESS), WRONG)
    assert [api.get("payments").status_code for _ in range(3)] == [401, 401, 429]
    # when: 9 minutes later, then 10 minutes after the first failure
    clock.advance(seconds=540)
    still = api.get("payments").status_code
    clock.advance(seconds=60)
    after = [api.get("payments").status_code for _ in range(3)]
    # then
    assert still == 429
    assert after == [401, 401, 429]
    assert _rejected() == 4
    assert len(_throttled()) == 2  # one per window


def test_a_missing_key_is_not_counted(merchant, settings) -> None:
    # given a limit of 1
    _limits(settings, limit=1, window_s=600)
    client = Client(REMOTE_ADDR=ADDRESS)
    # when: requests without any key (nothing is looked up, nothing is written)
    statuses = [client.get("/api/v1/payments").status_code for _ in range(3)]
    # then
    assert statuses == [401, 401, 401]
    assert RateBucket.objects.count() == 0
    assert Api(client, WRONG).get("payments").status_code == 401


def test_the_limit_is_shared_through_redis_when_configured(merchant, settings) -> None:
    # given Redis as the rate store and a fresh address (the Redis database outlives the test)
    _limits(settings, limit=2, window_s=600, redis_url=_redis_url())
    address = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    # when: two processes' worth of clients from the same address
    first, second = Api(Client(REMOTE_ADDR=address), WRONG), Api(Client(REMOTE_ADDR=address), WRONG)
    statuses = [first.get("payments").status_code, second.get("payments").status_code]
    statuses += [first.get("payments").status_code, second.get("payments").status_code]
    # then
    assert statuses == [401, 401, 429, 429]
    assert RateBucket.objects.count() == 0
    assert _rejected() == 2
    assert len(_throttled()) == 1


def test_configuration_is_read_from_the_environment(tmp_path) -> None:
    config = env.load(
        {
            "GUICHET_MODE": "test",
            "GUICHET_DATA_DIR": str(tmp_path),
            "GUICHET_API_KEY_FAILURE_LIMIT": "5",
            "GUICHET_API_KEY_FAILURE_WINDOW": "60",
        }
    ).merchants
    assert (config.api_key_failure_limit, config.api_key_failure_window_s) == (5, 60)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GUICHET_API_KEY_FAILURE_LIMIT", "0"),
        ("GUICHET_API_KEY_FAILURE_LIMIT", "twenty"),
        ("GUICHET_API_KEY_FAILURE_WINDOW", "-1"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        env.load({"GUICHET_MODE": "test", "GUICHET_DATA_DIR": str(tmp_path), name: value})


def test_openapi_documents_the_429_on_every_authenticated_operation(client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if operation.get("security") != []
    ]
    assert len(operations) == 4
    for path, method, operation in operations:
        answer = operation["responses"].get("429")
        assert answer is not None, (path, method)
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error429"
        }  # Error, code narrowed
        assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "429" not in document["paths"]["/openapi.json"]["get"]["responses"]
