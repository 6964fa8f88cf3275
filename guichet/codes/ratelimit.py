"""Fixed-window request limits (e.g. email look-ups per client address).

The store is shared by every server process: Redis when GUICHET_REDIS_URL is set, else the database.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from guichet.codes.models import RateBucket
from guichet.core import clock


class RateStore(Protocol):
    def hit(self, key: str, window: dt.timedelta) -> int:
        """Count one hit for `key` in the current window and return the window's count."""


class DatabaseRateStore:
    def hit(self, key: str, window: dt.timedelta) -> int:
        now = clock.now()
        with transaction.atomic():
            bucket = RateBucket.objects.select_for_update().filter(key=key).first()
            if bucket is None:
                try:
                    with transaction.atomic():
                        RateBucket.objects.create(key=key, window_start=now, count=1)
                    return 1
                except IntegrityError:  # another process created it first
                    bucket = RateBucket.objects.select_for_update().get(key=key)
            if now - bucket.window_start >= window:
                bucket.window_start, bucket.count = now, 0
            bucket.count += 1
            bucket.save(update_fields=["window_start", "count"])
            return bucket.count


class RedisRateStore:
    def __init__(self, url: str) -> None:
        import redis  # only needed when configured

        self._redis = redis.Redis.from_url(url)

    def hit(self, key: str, window: dt.timedelta) -> int:
        seconds = int(window.total_seconds())
        slot = int(clock.now().timestamp()) // seconds
        name = f"guichet:rate:{key}:{slot}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, seconds)
        count, _ = pipe.execute()
        return int(count)


@functools.cache
def _redis_store(url: str) -> RedisRateStore:
    return RedisRateStore(url)  # one connection pool per process


def rate_store() -> RateStore:
    url = settings.GUICHET.redis_url
    return _redis_store(url) if url else DatabaseRateStore()


def rate_allow(*, key: str, limit: int, window: dt.timedelta) -> bool:
    return rate_store().hit(key, window) <= limit


# No limit counts over more than an hour; a day leaves a wide margin. Without this, the table would
# keep one row for every client address ever seen.
BUCKET_RETENTION = dt.timedelta(days=1)
PRUNE_EVERY = dt.timedelta(minutes=10)
_last_prune: dt.datetime | None = None


def rate_buckets_prune() -> None:
    """Delete database buckets idle for a day (a periodic task: at most every 10 minutes per process)."""
    global _last_prune
    now = clock.now()
    if _last_prune is not None and now - _last_prune < PRUNE_EVERY:
        return
    _last_prune = now
    RateBucket.objects.filter(window_start__lt=now - BUCKET_RETENTION).delete()
