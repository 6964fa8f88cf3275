"""Keyed hashes, constant-time checks and encryption at rest.

Each use derives its own key from the configured master key (HKDF with a purpose label), so a hash
computed for one purpose can never be replayed as another.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import string

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _derived(master: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(master)


def keyed_hash(label: str, *parts: str) -> str:
    """HMAC-SHA256 of the parts under a key derived from GUICHET_HMAC_KEY for `label`."""
    key = _derived(settings.GUICHET.hmac_key, f"guichet/{label}")
    # Length-prefixed parts so ("ab", "c") and ("a", "bc") differ.
    message = b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def encrypt(label: str, plaintext: str) -> bytes:
    """AES-256-GCM under a key derived from GUICHET_DATA_KEY; the label is the associated data."""
    key = _derived(settings.GUICHET.data_key, "guichet/data-at-rest")
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), label.encode())


def decrypt(label: str, blob: bytes | memoryview) -> str:
    key = _derived(settings.GUICHET.data_key, "guichet/data-at-rest")
    data = bytes(blob)
    return AESGCM(key).decrypt(data[:12], data[12:], label.encode()).decode()


DIGITS = string.digits
# Letters and digits a person cannot confuse when copying from an email (no 0/O, 1/l/I).
EMAIL_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


def random_code(length: int, alphabet: str = DIGITS) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
