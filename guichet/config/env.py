"""The one place that reads the environment.

Every setting of PRODUCT.md §4 is read here into a typed, frozen `Config`. A secret may come from
`NAME` or from the file named by `NAME_FILE`. The mode decides how missing keys are handled:
`demo` generates them into the data dir, `test` uses fixed throwaway keys, `serve` refuses to start.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import re
import secrets
import ssl
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from guichet.core.egress import (
    LOOPBACK_ADDRESSES,
    EgressPolicy,
    EgressRefused,
    egress_check_url,
    egress_policy_parse,
)

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
    legal: tuple[str, ...] = ()  # GUICHET_ISSUER_LEGAL: the footer's lines (address, registration)

    @property
    def logo_origin(self) -> str:
        """The logo's origin when it is served elsewhere, for the pages' img-src; "" for a path here."""
        parts = urlsplit(self.logo_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# The fictional demo issuer's logo (a static file) and legal footer, used while the issuer's names are
# not configured: an issuer that sets its own name gets no one else's logo or registration.
DEMO_ISSUER_LOGO = "/static/guichet/banque-corail.svg"
DEMO_ISSUER_LEGAL = (
    "BANQUE CORAIL (démo)",
    "Direction des Services Bancaires - 1 rue des Coraux - BP 0000 - 98800 Nouméa - Nouvelle-Calédonie",
    "Service Relation Clientèle {phone} - contact@banque-corail.invalid"
    " - RCS Nouméa 0000 B 000 000 - RIDET 0 000 000.000",
)


# Each product area keeps its settings in its own section, read by its own `_<area>` function below.


@dataclass(frozen=True)
class AcsConfig:
    """ACS (issue 3) settings."""

    reference_number: str = "GUICHET-ACS-DEMO"  # acsReferenceNumber (EMVCo-assigned), max 32
    operator_id: str = ""  # acsOperatorID (DS-assigned), max 32; empty: not sent
    # PAN ranges answered for, as (start, end) of equal length; empty: the imported cards alone.
    card_ranges: tuple[tuple[str, str], ...] = ()
    # Issuer decision rules, in order: (name or dotted path, arguments).
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()
    no_epin_policy: str = "refuse"  # card without an ePin: "refuse" or "sms_only"
    verify_token: str = ""  # bearer token of POST /3ds/verify; empty: the endpoint refuses
    challenge_attempts: int = 3  # wrong ePin/SMS code combinations allowed per challenge (1-10)
    # GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT: a challenge page left this long ends the challenge (PSD2 RTS
    # art. 4(3)(d): 5 minutes of inactivity); 1 to 600, the overall limit being 10 minutes.
    challenge_idle_timeout_s: int = 300
    # GUICHET_ACS_SMS_PER_HOUR: challenge SMS codes per cardholder and hour, across transactions; past
    # it the challenge ends N / 04 (anyone holding a PAN could otherwise pump SMS through merchants).
    sms_per_hour: int = 10
    # GUICHET_ACS_DS_URLS: the only URL prefixes an AReq's dsURL may start with (RReqs go there).
    # Empty in mode "serve": every AReq is refused (Erro 203 dsURL). Demo and test add the simulator's.
    ds_urls: tuple[str, ...] = ()
    # GUICHET_ACS_RREQ_CLIENT_CERT / _KEY: PEM files of the client certificate RReqs present (mutual
    # TLS with the DS); empty: none.
    rreq_client_cert: str = ""
    rreq_client_key: str = ""


@dataclass(frozen=True)
class MerchantsConfig:
    """Merchant API, payments and notifications settings."""

    payment_ttl_s: int = 900  # a payment not completed within this time expires
    max_amount: int = 1_000_000  # largest amount accepted by the API, in minor units
    currencies: tuple[str, ...] = ("EUR",)  # ISO 4217 codes the API accepts
    notification_valid_days: int = 3  # notifications are retried for this long
    # Wrong/revoked API keys per client address and window before the API answers 429.
    api_key_failure_limit: int = 20  # GUICHET_API_KEY_FAILURE_LIMIT
    api_key_failure_window_s: int = 600  # GUICHET_API_KEY_FAILURE_WINDOW, seconds


@dataclass(frozen=True)
class SubscribersConfig:
    """Subscriber sign-in, sessions, personalisation roll-out, operator branding settings.

    Operator branding (`operator_*`, `service_name`) is shown on every operator page: the sign-in,
    the customer space and the hosted checkout (template `subscribers/operator_base.html`).
    """

    operator_name: str = "Opérateur Lagon (démo)"  # GUICHET_OPERATOR_NAME
    operator_short_name: str = "Lagon"  # GUICHET_OPERATOR_SHORT_NAME: "Votre mot de passe Lagon"
    operator_colour: str = "#c2410c"  # GUICHET_OPERATOR_COLOUR, #rrggbb
    operator_logo_url: str = ""  # GUICHET_OPERATOR_LOGO_URL; empty: the short name in text
    operator_terms_url: str = ""  # GUICHET_OPERATOR_TERMS_URL; empty: the checkout's /pay/terms/ page
    operator_mail_domain: str = "lagon.example"  # GUICHET_OPERATOR_MAIL_DOMAIN; chosen logins end so
    service_name: str = "internet+"  # GUICHET_PAY_ON_BILL_NAME: the pay-on-bill service's name
    billing_time_zone: str = "Europe/Paris"  # GUICHET_BILLING_TIME_ZONE: calendar months of the bill
    idle_timeout_s: int = 300  # GUICHET_SUBSCRIBER_IDLE_TIMEOUT: a session without "rester identifié"
    stay_signed_in_days: int = 30  # GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS: "rester identifié"
    remember_email_days: int = 365  # GUICHET_SUBSCRIBER_REMEMBER_EMAIL_DAYS: "mémoriser l'adresse mail"
    signin_ip_limit: int = 30  # GUICHET_SUBSCRIBER_SIGNIN_IP_LIMIT: sign-in attempts per address...
    signin_ip_window_s: int = 600  # GUICHET_SUBSCRIBER_SIGNIN_IP_WINDOW: ...per this many seconds
    rollout_start: dt.datetime | None = None  # GUICHET_SIGNIN_ROLLOUT_START: ISO date (UTC) or none
    rollout_percent: int = 100  # GUICHET_SIGNIN_ROLLOUT_PERCENT: share of contracts, 0 to 100
    rollout_contracts: tuple[str, ...] = ()  # GUICHET_SIGNIN_ROLLOUT_CONTRACTS: always included
    argon2_time_cost: int = 2  # GUICHET_ARGON2_TIME_COST: passes
    argon2_memory_kib: int = 19_456  # GUICHET_ARGON2_MEMORY_KIB: 19 MiB
    argon2_parallelism: int = 1  # GUICHET_ARGON2_PARALLELISM: lanes


@dataclass(frozen=True)
class CheckoutConfig:
    """Hosted checkout pages, pay-on-bill caps settings."""

    payment_cap: int = 5_000  # largest pay-on-bill payment, in euro cents (PSD2 art. 3(l): 50 EUR)
    monthly_cap: int = 30_000  # per subscriber and billing month, in euro cents (300 EUR)
    return_delay_s: int = 5  # the end page returns to the merchant after this many seconds


@dataclass(frozen=True)
class StaffConfig:
    """Back-office (/admin/) sign-in settings."""

    # GUICHET_STAFF_OTP: "required" (a TOTP code after the password; always so in production) or
    # "off" (demo and test modes only: their staff sign in with the password alone).
    otp_required: bool = True
    signin_ip_limit: int = 20  # GUICHET_STAFF_SIGNIN_IP_LIMIT: sign-in attempts per address...
    signin_ip_window_s: int = 600  # GUICHET_STAFF_SIGNIN_IP_WINDOW: ...per this many seconds


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
    # GUICHET_EGRESS_ALLOW: internal hosts and networks Guichet's outgoing HTTP may reach.
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    staff: StaffConfig = field(default_factory=StaffConfig)
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


def _acs_ranges(raw: str) -> tuple[tuple[str, str], ...]:
    """`4970100000-4970109999, 5123` (a bare prefix is the range of every PAN that starts with it)."""
    ranges: list[tuple[str, str]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        start, _, end = item.partition("-")
        start, end = start.strip(), (end.strip() or start.strip())
        if not (start.isascii() and start.isdigit() and end.isascii() and end.isdigit()):
            raise ConfigError(f"GUICHET_ACS_CARD_RANGES: {item!r} is not digits or START-END")
        if len(start) != len(end) or not 1 <= len(start) <= 19 or start > end:
            raise ConfigError(
                f"GUICHET_ACS_CARD_RANGES: {item!r} needs START <= END with as many digits (1 to 19)"
            )
        ranges.append((start, end))
    return tuple(ranges)


def _acs_rules(raw: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`low_value(3000, 978), challenge_indicator, mybank.rules.Night` into (name, arguments) pairs."""
    rules: list[tuple[str, tuple[str, ...]]] = []
    depth, current, items = 0, "", []
    for ch in raw:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0 or depth > 1:
            raise ConfigError(f"GUICHET_ACS_RULES: unbalanced parentheses in {raw!r}")
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise ConfigError(f"GUICHET_ACS_RULES: unbalanced parentheses in {raw!r}")
    items.append(current)
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, _, rest = item.partition("(")
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", name) or (rest and not rest.endswith(")")):
            raise ConfigError(f"GUICHET_ACS_RULES: {item!r} is not NAME or NAME(ARG, ...)")
        args = tuple(a.strip() for a in rest[:-1].split(",") if a.strip()) if rest else ()
        rules.append((name, args))
    return tuple(rules)


def _acs_ds_urls(raw: str, egress: EgressPolicy) -> tuple[str, ...]:
    """`https://ds.visa.example/rreq, https://ds.mc.example/` as prefixes ending at a path boundary.

    A prefix without a path gets "/", so `https://ds.example` cannot match `https://ds.example.evil/`.
    """
    prefixes: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(f"GUICHET_ACS_DS_URLS: {item!r} is not an http(s) URL prefix without a query")
        try:
            egress_check_url(item, policy=egress)
        except EgressRefused as exc:
            raise ConfigError(f"GUICHET_ACS_DS_URLS: {item!r} is refused: {exc}") from None
        prefixes.append(f"{parts.scheme}://{parts.netloc.lower()}{parts.path or '/'}")
    return tuple(prefixes)


def _egress(env: Environ, mode: str) -> EgressPolicy:
    """GUICHET_EGRESS_ALLOW; demo and test always add loopback (their DS, shop and gateways are local)."""
    raw = _read(env, "GUICHET_EGRESS_ALLOW")
    try:
        policy = egress_policy_parse(raw)
    except ValueError as exc:
        raise ConfigError(f"GUICHET_EGRESS_ALLOW: {exc}") from None
    if mode == "serve":
        return policy
    loopback = tuple(ipaddress.ip_network(address) for address in LOOPBACK_ADDRESSES)
    return EgressPolicy(allow_hosts=policy.allow_hosts, allow_networks=(*policy.allow_networks, *loopback))


def _acs_client_cert(env: Environ) -> tuple[str, str]:
    """The RReq's client certificate and key files, loaded once here so a bad pair stops the start."""
    cert = _read(env, "GUICHET_ACS_RREQ_CLIENT_CERT")
    key = _read(env, "GUICHET_ACS_RREQ_CLIENT_KEY")
    if bool(cert) != bool(key):
        raise ConfigError(
            "GUICHET_ACS_RREQ_CLIENT_CERT and GUICHET_ACS_RREQ_CLIENT_KEY go together: set both"
        )
    if cert:
        try:
            ssl.create_default_context().load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"GUICHET_ACS_RREQ_CLIENT_CERT / _KEY cannot be loaded (PEM certificate chain and its "
                f"unencrypted key): {exc}"
            ) from None
    return cert, key


def _acs(env: Environ, egress: EgressPolicy) -> AcsConfig:
    reference = _read(env, "GUICHET_ACS_REFERENCE_NUMBER", AcsConfig.reference_number)
    operator = _read(env, "GUICHET_ACS_OPERATOR_ID")
    for name, value in (("GUICHET_ACS_REFERENCE_NUMBER", reference), ("GUICHET_ACS_OPERATOR_ID", operator)):
        if len(value) > 32 or not value.isprintable():
            raise ConfigError(f"{name} must be at most 32 printable characters")
    policy = _read(env, "GUICHET_ACS_NO_EPIN_POLICY", "refuse")
    if policy not in ("refuse", "sms_only"):
        raise ConfigError(f"GUICHET_ACS_NO_EPIN_POLICY must be 'refuse' or 'sms_only', got {policy!r}")
    token = _read(env, "GUICHET_ACS_VERIFY_TOKEN")
    if token and len(token) < 32:
        raise ConfigError("GUICHET_ACS_VERIFY_TOKEN must be at least 32 characters")
    cert, key = _acs_client_cert(env)
    return AcsConfig(
        reference_number=reference,
        operator_id=operator,
        card_ranges=_acs_ranges(_read(env, "GUICHET_ACS_CARD_RANGES")),
        rules=_acs_rules(_read(env, "GUICHET_ACS_RULES")),
        no_epin_policy=policy,
        verify_token=token,
        challenge_attempts=_acs_attempts(env),
        challenge_idle_timeout_s=_acs_idle_timeout(env),
        sms_per_hour=_acs_sms_per_hour(env),
        ds_urls=_acs_ds_urls(_read(env, "GUICHET_ACS_DS_URLS"), egress),
        rreq_client_cert=cert,
        rreq_client_key=key,
    )


def _acs_sms_per_hour(env: Environ) -> int:
    count = _int(env, "GUICHET_ACS_SMS_PER_HOUR", AcsConfig.sms_per_hour)
    if count > 1000:
        raise ConfigError(f"GUICHET_ACS_SMS_PER_HOUR must be from 1 to 1000, got {count}")
    return count


def _acs_attempts(env: Environ) -> int:
    attempts = _int(env, "GUICHET_ACS_CHALLENGE_ATTEMPTS", 3)
    if attempts > 10:
        raise ConfigError(f"GUICHET_ACS_CHALLENGE_ATTEMPTS must be from 1 to 10, got {attempts}")
    return attempts


def _acs_idle_timeout(env: Environ) -> int:
    seconds = _int(env, "GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT", AcsConfig.challenge_idle_timeout_s)
    if seconds > 600:
        raise ConfigError(f"GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT must be from 1 to 600 seconds, got {seconds}")
    return seconds


def _merchants(env: Environ) -> MerchantsConfig:
    from guichet.core.money import ISO_4217

    raw = _read(env, "GUICHET_PAYMENT_CURRENCIES", "EUR")
    currencies = tuple(c.strip().upper() for c in raw.split(",") if c.strip())
    unknown = [c for c in currencies if c not in ISO_4217]
    if not currencies or unknown:
        raise ConfigError(
            f"GUICHET_PAYMENT_CURRENCIES must list ISO 4217 codes separated by commas, got {raw!r}"
        )
    return MerchantsConfig(
        payment_ttl_s=_int(env, "GUICHET_PAYMENT_TTL", 900),
        max_amount=_int(env, "GUICHET_PAYMENT_MAX_AMOUNT", 1_000_000),
        currencies=currencies,
        notification_valid_days=_int(env, "GUICHET_NOTIFICATION_VALID_DAYS", 3),
        api_key_failure_limit=_int(env, "GUICHET_API_KEY_FAILURE_LIMIT", 20),
        api_key_failure_window_s=_int(env, "GUICHET_API_KEY_FAILURE_WINDOW", 600),
    )


def _percent(env: Environ, name: str, default: int) -> int:
    raw = _read(env, name, str(default)).strip().rstrip("%")
    if not raw.isdigit() or int(raw) > 100:
        raise ConfigError(f"{name} must be a whole percentage from 0 to 100, got {raw!r}")
    return int(raw)


def _subscribers(env: Environ) -> SubscribersConfig:
    """Subscriber settings (docs/operators.md lists them with their meaning)."""
    colour = _read(env, "GUICHET_OPERATOR_COLOUR", "#c2410c").strip()
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
        raise ConfigError(f"GUICHET_OPERATOR_COLOUR must be #rrggbb, got {colour!r}")
    logo_url = _read(env, "GUICHET_OPERATOR_LOGO_URL")
    if logo_url and not logo_url.startswith("/"):
        _check_url("GUICHET_OPERATOR_LOGO_URL", logo_url, ("https", "http"))
    terms_url = _read(env, "GUICHET_OPERATOR_TERMS_URL")
    _check_url("GUICHET_OPERATOR_TERMS_URL", terms_url, ("https", "http"))
    domain = _read(env, "GUICHET_OPERATOR_MAIL_DOMAIN", "lagon.example").strip().lower().lstrip("@")
    label = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
    if domain and not re.fullmatch(rf"{label}(\.{label})+", domain):
        raise ConfigError(
            f"GUICHET_OPERATOR_MAIL_DOMAIN must be a domain name such as lagon.nc, got {domain!r}"
        )
    zone = _read(env, "GUICHET_BILLING_TIME_ZONE", "Europe/Paris").strip()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"GUICHET_BILLING_TIME_ZONE must be an IANA time zone, got {zone!r}") from exc
    raw_start = _read(env, "GUICHET_SIGNIN_ROLLOUT_START").strip()
    start: dt.datetime | None = None
    if raw_start:
        try:
            start = dt.datetime.fromisoformat(raw_start)
        except ValueError as exc:
            raise ConfigError(
                f"GUICHET_SIGNIN_ROLLOUT_START must be an ISO date such as 2026-07-01, got {raw_start!r}"
            ) from exc
        start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    contracts = tuple(
        c.strip() for c in _read(env, "GUICHET_SIGNIN_ROLLOUT_CONTRACTS").split(",") if c.strip()
    )
    memory = _int(env, "GUICHET_ARGON2_MEMORY_KIB", 19_456)
    if memory < 8 * 1024:
        raise ConfigError(f"GUICHET_ARGON2_MEMORY_KIB must be at least 8192 (8 MiB), got {memory}")
    return SubscribersConfig(
        operator_name=_read(env, "GUICHET_OPERATOR_NAME", "Opérateur Lagon (démo)"),
        operator_short_name=_read(env, "GUICHET_OPERATOR_SHORT_NAME", "Lagon"),
        operator_colour=colour.lower(),
        operator_logo_url=logo_url,
        operator_terms_url=terms_url,
        operator_mail_domain=domain,
        service_name=_read(env, "GUICHET_PAY_ON_BILL_NAME", "internet+"),
        billing_time_zone=zone,
        idle_timeout_s=_int(env, "GUICHET_SUBSCRIBER_IDLE_TIMEOUT", 300),
        stay_signed_in_days=_int(env, "GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS", 30),
        remember_email_days=_int(env, "GUICHET_SUBSCRIBER_REMEMBER_EMAIL_DAYS", 365),
        signin_ip_limit=_int(env, "GUICHET_SUBSCRIBER_SIGNIN_IP_LIMIT", 30),
        signin_ip_window_s=_int(env, "GUICHET_SUBSCRIBER_SIGNIN_IP_WINDOW", 600),
        rollout_start=start,
        rollout_percent=_percent(env, "GUICHET_SIGNIN_ROLLOUT_PERCENT", 100),
        rollout_contracts=contracts,
        argon2_time_cost=_int(env, "GUICHET_ARGON2_TIME_COST", 2),
        argon2_memory_kib=memory,
        argon2_parallelism=_int(env, "GUICHET_ARGON2_PARALLELISM", 1),
    )


def _checkout_euros(env: Environ, name: str, default: int) -> int:
    """An amount in euros ("50", "49.99") as cents."""
    raw = _read(env, name, f"{default // 100}.{default % 100:02d}")
    whole, _, cents = raw.strip().partition(".")
    if not whole.isdigit() or len(cents) > 2 or (cents and not cents.isdigit()):
        raise ConfigError(f"{name} must be an amount in euros such as 50 or 49.99, got {raw!r}")
    value = int(whole) * 100 + int(cents.ljust(2, "0") or "0")
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _checkout(env: Environ) -> CheckoutConfig:
    payment_cap = _checkout_euros(env, "GUICHET_CHECKOUT_PAYMENT_CAP", 5_000)
    monthly_cap = _checkout_euros(env, "GUICHET_CHECKOUT_MONTHLY_CAP", 30_000)
    if monthly_cap < payment_cap:
        raise ConfigError("GUICHET_CHECKOUT_MONTHLY_CAP must not be below GUICHET_CHECKOUT_PAYMENT_CAP")
    return CheckoutConfig(
        payment_cap=payment_cap,
        monthly_cap=monthly_cap,
        return_delay_s=_int(env, "GUICHET_CHECKOUT_RETURN_DELAY", 5),
    )


def _staff(env: Environ, mode: str) -> StaffConfig:
    otp = _read(env, "GUICHET_STAFF_OTP", "required" if mode == "serve" else "off").strip()
    if otp not in ("required", "off"):
        raise ConfigError(f"GUICHET_STAFF_OTP must be 'required' or 'off', got {otp!r}")
    if otp == "off" and mode == "serve":
        raise ConfigError(
            "GUICHET_STAFF_OTP=off is refused in production: staff sign in with a password and a TOTP "
            "code (`guichet staff create` gives both)"
        )
    return StaffConfig(
        otp_required=otp == "required",
        signin_ip_limit=_int(env, "GUICHET_STAFF_SIGNIN_IP_LIMIT", 20),
        signin_ip_window_s=_int(env, "GUICHET_STAFF_SIGNIN_IP_WINDOW", 600),
    )


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
    egress = _egress(env, mode)
    sms_url = _read(env, "GUICHET_SMS_URL")
    _check_url("GUICHET_SMS_URL", sms_url, ("http", "https"))
    if sms_url:
        try:
            egress_check_url(sms_url, policy=egress)
        except EgressRefused as exc:
            raise ConfigError(f"GUICHET_SMS_URL is refused by the egress policy: {exc}") from None
    redis_url = _read(env, "GUICHET_REDIS_URL")
    _check_url("GUICHET_REDIS_URL", redis_url, ("redis", "rediss"))
    delivery = _read(env, "GUICHET_DELIVERY", "inprocess")
    if delivery not in ("inprocess", "worker"):
        raise ConfigError("GUICHET_DELIVERY must be 'inprocess' or 'worker'")

    brand_colour = _read(env, "GUICHET_BRAND_COLOUR", "#0b5a8a").strip()
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", brand_colour):
        raise ConfigError(f"GUICHET_BRAND_COLOUR must be #rrggbb, got {brand_colour!r}")
    demo_issuer = not (_read(env, "GUICHET_ISSUER_NAME") or _read(env, "GUICHET_ISSUER_SHORT_NAME"))
    support_phone = _read(env, "GUICHET_SUPPORT_PHONE", "(+687) 00 00 00")
    logo_url = _read(env, "GUICHET_LOGO_URL", DEMO_ISSUER_LOGO if demo_issuer else "").strip()
    if logo_url and not logo_url.startswith("/"):
        _check_url("GUICHET_LOGO_URL", logo_url, ("https", "http"))
    demo_legal = "\n".join(DEMO_ISSUER_LEGAL).format(phone=support_phone) if demo_issuer else ""
    legal = _read(env, "GUICHET_ISSUER_LEGAL", demo_legal).replace("\\n", "\n")
    branding = Branding(
        issuer_name=_read(env, "GUICHET_ISSUER_NAME", "Banque Corail (démo)"),
        issuer_short_name=_read(env, "GUICHET_ISSUER_SHORT_NAME", "Banque Corail"),
        support_phone=support_phone,
        primary_colour=brand_colour.lower(),
        logo_url=logo_url,
        help_url=_read(env, "GUICHET_HELP_URL"),
        scheme_name=_read(env, "GUICHET_SCHEME_NAME", "Visa Secure"),
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
        acs=_acs(env, egress),
        merchants=_merchants(env),
        subscribers=_subscribers(env),
        checkout=_checkout(env),
        egress=egress,
        staff=_staff(env, mode),
    )
