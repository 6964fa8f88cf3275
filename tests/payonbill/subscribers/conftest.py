from __future__ import annotations

import dataclasses
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def cheap_argon2(settings: Any) -> None:
    """The lowest Argon2id cost the configuration accepts: these tests check behaviour, not cost."""
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        subscribers=dataclasses.replace(
            settings.GUICHET.subscribers, argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1
        ),
    )
