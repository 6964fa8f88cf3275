"""The one place that reads the environment.

Every setting (docs/operating.md lists them) is read here into the typed, frozen `Config` of
`sections.py`. A secret may come from
`NAME` or from the file named by `NAME_FILE`. The mode decides how missing keys are handled:
`demo` generates them into the data dir, `test` uses fixed throwaway keys, `serve` refuses to start.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from pathlib import Path

from guichet.config.issuer import acs_section
from guichet.config.parse import Environ, check_url, read, read_int
from guichet.config.payonbill import checkout_section, merchants_section, subscribers_section
from guichet.config.sections import (
    DEMO_ISSUER_LEGAL,
    DEMO_ISSUER_LOGO,
    KEY_NAMES,
    MODES,
    AcsConfig,
    Branding,
    CheckoutConfig,
    Config,
    ConfigError,
    MerchantsConfig,
    StaffConfig,
    SubscribersConfig,
)
from guichet.core.egress import (
    LOOPBACK_ADDRESSES,
    EgressPolicy,
    EgressRefused,
    egress_check_url,
    egress_policy_parse,
)


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


def _egress(env: Environ, mode: str) -> EgressPolicy:
    """GUICHET_EGRESS_ALLOW; demo and test always add loopback (their DS, shop and gateways are local)."""
    raw = read(env, "GUICHET_EGRESS_ALLOW")
    try:
        policy = egress_policy_parse(raw)
    except ValueError as exc:
        raise ConfigError(f"GUICHET_EGRESS_ALLOW: {exc}") from None
    if mode == "serve":
        return policy
    loopback = tuple(ipaddress.ip_network(address) for address in LOOPBACK_ADDRESSES)
    return EgressPolicy(allow_hosts=policy.allow_hosts, allow_networks=(*policy.allow_networks, *loopback))


def staff_section(env: Environ, mode: str) -> StaffConfig:
    base = StaffConfig  # the defaults
    otp = read(env, "GUICHET_STAFF_OTP", "required" if mode == "serve" else "off").strip()
    if otp not in ("required", "off"):
        raise ConfigError(f"GUICHET_STAFF_OTP must be 'required' or 'off', got {otp!r}")
    if otp == "off" and mode == "serve":
        raise ConfigError(
            "GUICHET_STAFF_OTP=off is refused in production: staff sign in with a password and a TOTP "
            "code (`guichet staff create` gives both)"
        )
    return StaffConfig(
        otp_required=otp == "required",
        signin_ip_limit=read_int(env, "GUICHET_STAFF_SIGNIN_IP_LIMIT", base.signin_ip_limit),
        signin_ip_window_s=read_int(env, "GUICHET_STAFF_SIGNIN_IP_WINDOW", base.signin_ip_window_s),
    )


def load(environ: os._Environ[str] | dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    mode = env.get("GUICHET_MODE", "serve")
    if mode not in MODES:
        raise ConfigError(f"GUICHET_MODE must be one of {', '.join(MODES)}, got {mode!r}")
    data_dir = Path(read(env, "GUICHET_DATA_DIR", "./var")).resolve()

    raw_keys = {name: read(env, name) for name in KEY_NAMES}
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

    database_url = read(env, "GUICHET_DATABASE_URL") or f"sqlite:///{data_dir / 'guichet.sqlite3'}"
    check_url("GUICHET_DATABASE_URL", database_url, ("sqlite", "postgresql", "postgres"))
    public_url = read(env, "GUICHET_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    check_url("GUICHET_PUBLIC_URL", public_url, ("http", "https"))
    email_url = read(env, "GUICHET_EMAIL_URL")
    check_url("GUICHET_EMAIL_URL", email_url, ("smtp", "smtp+starttls", "smtps"))
    egress = _egress(env, mode)
    sms_url = read(env, "GUICHET_SMS_URL")
    check_url("GUICHET_SMS_URL", sms_url, ("http", "https"))
    if sms_url:
        try:
            egress_check_url(sms_url, policy=egress)
        except EgressRefused as exc:
            raise ConfigError(f"GUICHET_SMS_URL is refused by the egress policy: {exc}") from None
    redis_url = read(env, "GUICHET_REDIS_URL")
    check_url("GUICHET_REDIS_URL", redis_url, ("redis", "rediss"))
    delivery = read(env, "GUICHET_DELIVERY", "inprocess")
    if delivery not in ("inprocess", "worker"):
        raise ConfigError("GUICHET_DELIVERY must be 'inprocess' or 'worker'")

    brand_colour = read(env, "GUICHET_BRAND_COLOUR", "#0b5a8a").strip()
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", brand_colour):
        raise ConfigError(f"GUICHET_BRAND_COLOUR must be #rrggbb, got {brand_colour!r}")
    demo_issuer = not (read(env, "GUICHET_ISSUER_NAME") or read(env, "GUICHET_ISSUER_SHORT_NAME"))
    support_phone = read(env, "GUICHET_SUPPORT_PHONE", "(+687) 00 00 00")
    logo_url = read(env, "GUICHET_LOGO_URL", DEMO_ISSUER_LOGO if demo_issuer else "").strip()
    if logo_url and not logo_url.startswith("/"):
        check_url("GUICHET_LOGO_URL", logo_url, ("https", "http"))
    demo_legal = "\n".join(DEMO_ISSUER_LEGAL).format(phone=support_phone) if demo_issuer else ""
    legal = read(env, "GUICHET_ISSUER_LEGAL", demo_legal).replace("\\n", "\n")
    branding = Branding(
        issuer_name=read(env, "GUICHET_ISSUER_NAME", "Banque Corail (démo)"),
        issuer_short_name=read(env, "GUICHET_ISSUER_SHORT_NAME", "Banque Corail"),
        support_phone=support_phone,
        primary_colour=brand_colour.lower(),
        logo_url=logo_url,
        help_url=read(env, "GUICHET_HELP_URL"),
        scheme_name=read(env, "GUICHET_SCHEME_NAME", "Visa Secure"),
        # One line per line of the value; a literal \n also breaks a line (env files hold one line).
        legal=tuple(line.strip() for line in legal.splitlines() if line.strip()),
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
        email_from=read(env, "GUICHET_EMAIL_FROM", "Guichet <no-reply@guichet.invalid>"),
        sms_url=sms_url,
        sms_token=read(env, "GUICHET_SMS_TOKEN"),
        redis_url=redis_url,
        delivery=delivery,
        branding=branding,
        email_lookup_limit=read_int(env, "GUICHET_EMAIL_LOOKUP_LIMIT", 20),
        email_lookup_window_s=read_int(env, "GUICHET_EMAIL_LOOKUP_WINDOW", 600),
        portal_idle_timeout_s=read_int(env, "GUICHET_PORTAL_IDLE_TIMEOUT", 300),
        log_level=read(env, "GUICHET_LOG_LEVEL", "INFO"),
        acs=acs_section(env, egress),
        merchants=merchants_section(env),
        subscribers=subscribers_section(env),
        checkout=checkout_section(env),
        egress=egress,
        staff=staff_section(env, mode),
    )


# What callers read from here: `env.load()`, `env.ConfigError`, the sections.
__all__ = [
    "DEMO_ISSUER_LEGAL",
    "DEMO_ISSUER_LOGO",
    "KEY_NAMES",
    "MODES",
    "AcsConfig",
    "Branding",
    "CheckoutConfig",
    "Config",
    "ConfigError",
    "MerchantsConfig",
    "StaffConfig",
    "SubscribersConfig",
    "load",
]
