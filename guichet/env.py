"""The one place that reads the environment.

Every setting of PRODUCT.md §4 is read here into a typed, frozen `Config`. A secret may come from
`NAME` or from the file named by `NAME_FILE`. The mode decides how missing keys are handled:
`demo` generates them into the data dir, `test` uses fixed throwaway keys, `serve` refuses to start.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MODES = ("serve", "demo", "test")
KEY_NAMES = ("GUICHET_SECRET_KEY", "GUICHET_HMAC_KEY", "GUICHET_DATA_KEY")


class ConfigError(Exception):
    """The environment does not describe a deployment that can start."""


@dataclass(frozen=True)
class Branding:
    issuer_name: str
    issuer_short_name: str
    support_phone: str
    primary_colour: str
    logo_url: str
    help_url: str
    scheme_name: str


# Each product area keeps its settings in its own section, read by its own `_<area>` function below.


@dataclass(frozen=True)
class AcsConfig:
    """ACS (issue 3) settings."""


@dataclass(frozen=True)
class MerchantsConfig:
    """Merchant API, payments and notifications settings."""


@dataclass(frozen=True)
class SubscribersConfig:
    """Subscriber sign-in, sessions, personalisation roll-out, operator branding settings."""


@dataclass(frozen=True)
class CheckoutConfig:
    """Hosted checkout pages, pay-on-bill caps settings."""


@dataclass(frozen=True)
class Config:
    mode: str
    data_dir: Path
    database_url: str
    public_url: str
    secret_key: str
    hmac_key: bytes
    data_key: bytes
    email_url: str
    email_from: str
    sms_url: str
    sms_token: str
    redis_url: str
    delivery: str  # "inprocess" or "worker"
    branding: Branding
    email_lookup_limit: int
    email_lookup_window_s: int
    portal_idle_timeout_s: int
    log_level: str
    acs: AcsConfig = field(default_factory=AcsConfig)
    merchants: MerchantsConfig = field(default_factory=MerchantsConfig)
    subscribers: SubscribersConfig = field(default_factory=SubscribersConfig)
    checkout: CheckoutConfig = field(default_factory=CheckoutConfig)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def demo(self) -> bool:
        return self.mode == "demo"

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")


def _read(environ: os._Environ[str] | dict[str, str], name: str, default: str = "") -> str:
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


def _int(environ: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    raw = _read(environ, name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _decode_key(name: str, raw: str) -> bytes:
    """Keys are 32 random bytes, written as 64 hex digits or as base64."""
    raw = raw.strip()
    try:
        key = bytes.fromhex(raw) if len(raw) == 64 else base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ConfigError(f"{name} must be 32 bytes as 64 hex digits or base64") from exc
    if len(key) != 32:
        raise ConfigError(f"{name} must be 32 bytes (64 hex digits), got {len(key)} bytes")
    return key


def _demo_keys(data_dir: Path) -> dict[str, str]:
    """Keys kept in the data dir for the demo; made on first run, reused after."""
    path = data_dir / "demo-keys.env"
    keys: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if name in KEY_NAMES:
                keys[name] = value
    missing = [name for name in KEY_NAMES if name not in keys]
    if missing:
        for name in missing:
            keys[name] = secrets.token_hex(32)
        data_dir.mkdir(parents=True, exist_ok=True)
        # Created 0600 (not chmod-ed after writing), so the keys are never readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{n}={keys[n]}\n" for n in KEY_NAMES))
        path.chmod(0o600)
    return keys


# Fixed keys for the test suite only: never accepted outside mode "test".
_TEST_KEYS = {name: (bytes([i + 1]) * 32).hex() for i, name in enumerate(KEY_NAMES)}


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    if value and urlsplit(value).scheme not in schemes:
        raise ConfigError(f"{name} must start with one of {', '.join(s + '://' for s in schemes)}")


Environ = os._Environ[str] | dict[str, str]


def _acs(env: Environ) -> AcsConfig:
    return AcsConfig()


def _merchants(env: Environ) -> MerchantsConfig:
    return MerchantsConfig()


def _subscribers(env: Environ) -> SubscribersConfig:
    return SubscribersConfig()


def _checkout(env: Environ) -> CheckoutConfig:
    return CheckoutConfig()


def load(environ: os._Environ[str] | dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    mode = env.get("GUICHET_MODE", "serve")
    if mode not in MODES:
        raise ConfigError(f"GUICHET_MODE must be one of {', '.join(MODES)}, got {mode!r}")
    data_dir = Path(_read(env, "GUICHET_DATA_DIR", "./var")).resolve()

    raw_keys = {name: _read(env, name) for name in KEY_NAMES}
    if mode == "demo":
        generated = _demo_keys(data_dir)
        raw_keys = {name: raw_keys[name] or generated[name] for name in KEY_NAMES}
    elif mode == "test":
        raw_keys = {name: raw_keys[name] or _TEST_KEYS[name] for name in KEY_NAMES}
    missing = [name for name in KEY_NAMES if not raw_keys[name]]
    if missing:
        raise ConfigError(
            "missing required key(s): "
            + ", ".join(missing)
            + " (32 random bytes each, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`;"
            " set NAME or NAME_FILE)"
        )
    if len(raw_keys["GUICHET_SECRET_KEY"]) < 32:
        raise ConfigError("GUICHET_SECRET_KEY must be at least 32 characters")
    hmac_key = _decode_key("GUICHET_HMAC_KEY", raw_keys["GUICHET_HMAC_KEY"])
    data_key = _decode_key("GUICHET_DATA_KEY", raw_keys["GUICHET_DATA_KEY"])

    database_url = _read(env, "GUICHET_DATABASE_URL") or f"sqlite:///{data_dir / 'guichet.sqlite3'}"
    _check_url("GUICHET_DATABASE_URL", database_url, ("sqlite", "postgresql", "postgres"))
    public_url = _read(env, "GUICHET_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    _check_url("GUICHET_PUBLIC_URL", public_url, ("http", "https"))
    email_url = _read(env, "GUICHET_EMAIL_URL")
    _check_url("GUICHET_EMAIL_URL", email_url, ("smtp", "smtp+starttls", "smtps"))
    sms_url = _read(env, "GUICHET_SMS_URL")
    _check_url("GUICHET_SMS_URL", sms_url, ("http", "https"))
    redis_url = _read(env, "GUICHET_REDIS_URL")
    _check_url("GUICHET_REDIS_URL", redis_url, ("redis", "rediss"))
    delivery = _read(env, "GUICHET_DELIVERY", "inprocess")
    if delivery not in ("inprocess", "worker"):
        raise ConfigError("GUICHET_DELIVERY must be 'inprocess' or 'worker'")

    branding = Branding(
        issuer_name=_read(env, "GUICHET_ISSUER_NAME", "Banque Corail (démo)"),
        issuer_short_name=_read(env, "GUICHET_ISSUER_SHORT_NAME", "Banque Corail"),
        support_phone=_read(env, "GUICHET_SUPPORT_PHONE", "(+687) 00 00 00"),
        primary_colour=_read(env, "GUICHET_BRAND_COLOUR", "#0b5a8a"),
        logo_url=_read(env, "GUICHET_LOGO_URL"),
        help_url=_read(env, "GUICHET_HELP_URL"),
        scheme_name=_read(env, "GUICHET_SCHEME_NAME", "Visa Secure"),
    )
    return Config(
        mode=mode,
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        secret_key=raw_keys["GUICHET_SECRET_KEY"],
        hmac_key=hmac_key,
        data_key=data_key,
        email_url=email_url,
        email_from=_read(env, "GUICHET_EMAIL_FROM", "Guichet <no-reply@guichet.invalid>"),
        sms_url=sms_url,
        sms_token=_read(env, "GUICHET_SMS_TOKEN"),
        redis_url=redis_url,
        delivery=delivery,
        branding=branding,
        email_lookup_limit=_int(env, "GUICHET_EMAIL_LOOKUP_LIMIT", 20),
        email_lookup_window_s=_int(env, "GUICHET_EMAIL_LOOKUP_WINDOW", 600),
        portal_idle_timeout_s=_int(env, "GUICHET_PORTAL_IDLE_TIMEOUT", 300),
        log_level=_read(env, "GUICHET_LOG_LEVEL", "INFO"),
        acs=_acs(env),
        merchants=_merchants(env),
        subscribers=_subscribers(env),
        checkout=_checkout(env),
    )
