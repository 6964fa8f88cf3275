"""Subscriber passwords: Argon2id with the cost of the configuration, and the chosen-password rule.

The cost (`GUICHET_ARGON2_*`) defaults to 2 passes over 19 MiB with one lane; `bench/signin_cost.py`
measures what that means in time and memory. A stored hash made with other parameters still
verifies, and is replaced at the next successful sign-in.
"""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings

MIN_LENGTH = 8
MAX_LENGTH = 128


@functools.cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hasher() -> PasswordHasher:
    """The Argon2id hasher with the configured cost."""
    config = settings.GUICHET.subscribers
    return _hasher(config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallelism)


def password_hash(password: str) -> str:
    return hasher().hash(password)


@functools.cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash("not the password of anyone")


def password_verify(stored: str | None, password: str) -> bool:
    """True when `password` matches the stored hash.

    With no stored hash (an unknown address) a dummy hash of the same cost is checked, so the
    answer takes as long whether the address exists or not.
    """
    if stored is None:
        config = settings.GUICHET.subscribers
        stored = _dummy_hash(config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallelism)
        target = False
    else:
        target = True
    try:
        hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return target


def password_needs_rehash(stored: str) -> bool:
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


def password_problem(password: str, *, login: str = "") -> str:
    """Why a password chosen by the subscriber is refused (a code), or "" when it is fine."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return "length"
    if not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
        return "letters_digits"
    local = login.partition("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        return "contains_login"
    return ""
