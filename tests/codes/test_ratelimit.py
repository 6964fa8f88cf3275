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


@pytest.mark.django_db
def test_buckets_idle_for_a_day_are_pruned_by_the_delivery_pass(clock):
    from guichet.codes import ratelimit
    from guichet.delivery.worker import deliver_due

    store = DatabaseRateStore()
    store.hit("lookup:203.0.113.1", dt.timedelta(minutes=10))
    clock.advance(seconds=23 * 3600)
    store.hit("lookup:203.0.113.2", dt.timedelta(minutes=10))
    clock.advance(seconds=3600 + 1)
    ratelimit._last_prune = None
    deliver_due()
    # the first is a day and a second old: gone; the second is an hour old: kept
    assert list(RateBucket.objects.values_list("key", flat=True)) == ["lookup:203.0.113.2"]

    # an idle bucket found within 10 minutes of the last prune waits for the next one
    RateBucket.objects.create(
        key="lookup:203.0.113.3", window_start=clock.now() - dt.timedelta(days=2), count=1
    )
    clock.advance(seconds=300)
    deliver_due()
    assert RateBucket.objects.count() == 2
    clock.advance(seconds=300)
    deliver_due()
    assert list(RateBucket.objects.values_list("key", flat=True)) == ["lookup:203.0.113.2"]
