"""Reading one setting: `NAME` or the file named by `NAME_FILE`, as text, a number, a URL, a share.

Only guichet/config/env.py passes these the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from guichet.config.sections import ConfigError

Environ = os._Environ[str] | dict[str, str]


def read(environ: os._Environ[str] | dict[str, str], name: str, default: str = "") -> str:
    """`NAME`, else the content of the file named by `NAME_FILE`, else `default`."""
    value = environ.get(name)
    if value:
        return value
    path = environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path} cannot be read: {exc.strerror}") from exc
    return default


def read_int(environ: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    raw = read(environ, name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    if value and urlsplit(value).scheme not in schemes:
        raise ConfigError(f"{name} must start with one of {', '.join(s + '://' for s in schemes)}")


def percent(env: Environ, name: str, default: int) -> int:
    raw = read(env, name, str(default)).strip().rstrip("%")
    if not raw.isdigit() or int(raw) > 100:
        raise ConfigError(f"{name} must be a whole percentage from 0 to 100, got {raw!r}")
    return int(raw)


def euros(env: Environ, name: str, default: int) -> int:
    """An amount in euros ("50", "49.99") as cents."""
    raw = read(env, name, f"{default // 100}.{default % 100:02d}")
    whole, _, cents = raw.strip().partition(".")
    if not whole.isdigit() or len(cents) > 2 or (cents and not cents.isdigit()):
        raise ConfigError(f"{name} must be an amount in euros such as 50 or 49.99, got {raw!r}")
    value = int(whole) * 100 + int(cents.ljust(2, "0") or "0")
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value
