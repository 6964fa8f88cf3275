"""Rate limits are shared by every process: in the database by default, in Redis when configured."""

from __future__ import annotations

import datetime as dt
import os
import secrets

import pytest

from guichet.codes.models import RateBucket
from guichet.codes.ratelimit import DatabaseRateStore, RedisRateStore

WINDOW = dt.timedelta(seconds=600)


@pytest.mark.django_db
def test_database_store_counts_per_key_and_restarts_with_the_window(clock):
    # given
    store = DatabaseRateStore()
    # when
    counts = [store.hit("ip:192.0.2.1", WINDOW) for _ in range(3)]
    other = store.hit("ip:192.0.2.2", WINDOW)
    clock.advance(seconds=600)
    after_window = store.hit("ip:192.0.2.1", WINDOW)
    # then
    assert counts == [1, 2, 3]
    assert other == 1
    assert after_window == 1
    assert RateBucket.objects.count() == 2


def _redis_url() -> str:
    url = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return url


def test_redis_store_counts_per_key_and_restarts_with_the_window(clock):
    # given
    store = RedisRateStore(_redis_url())
    key = f"test:{secrets.token_hex(8)}"
    # when
    counts = [store.hit(key, WINDOW) for _ in range(3)]
    other = store.hit(f"{key}:other", WINDOW)
    clock.advance(seconds=600)
    after_window = store.hit(key, WINDOW)
    # then
    assert counts == [1, 2, 3]
    assert other == 1
    assert after_window == 1
