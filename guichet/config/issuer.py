"""The issuer's settings: the ACS (card ranges, rules, Directory Servers, RReq certificate, limits)."""

from __future__ import annotations

import re
import ssl
from urllib.parse import urlsplit

from guichet.config.parse import Environ, read, read_int
from guichet.config.sections import AcsConfig, ConfigError
from guichet.core.egress import EgressPolicy, EgressRefused, egress_check_url


def _acs_ranges(raw: str, name: str = "GUICHET_ACS_CARD_RANGES") -> tuple[tuple[str, str], ...]:
    """`4970100000-4970109999, 5123` (a bare prefix is the range of every PAN that starts with it)."""
    ranges: list[tuple[str, str]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        start, _, end = item.partition("-")
        start, end = start.strip(), (end.strip() or start.strip())
        if not (start.isascii() and start.isdigit() and end.isascii() and end.isdigit()):
            raise ConfigError(f"{name}: {item!r} is not digits or START-END")
        if len(start) != len(end) or not 1 <= len(start) <= 19 or start > end:
            raise ConfigError(f"{name}: {item!r} needs START <= END with as many digits (1 to 19)")
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


def _acs_client_cert(env: Environ) -> tuple[str, str]:
    """The RReq's client certificate and key files, loaded once here so a bad pair stops the start."""
    cert = read(env, "GUICHET_ACS_RREQ_CLIENT_CERT")
    key = read(env, "GUICHET_ACS_RREQ_CLIENT_KEY")
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


def _acs_sms_per_hour(env: Environ) -> int:
    base = AcsConfig  # the defaults
    count = read_int(env, "GUICHET_ACS_SMS_PER_HOUR", base.sms_per_hour)
    if count > 1000:
        raise ConfigError(f"GUICHET_ACS_SMS_PER_HOUR must be from 1 to 1000, got {count}")
    return count


def _acs_attempts(env: Environ) -> int:
    attempts = read_int(env, "GUICHET_ACS_CHALLENGE_ATTEMPTS", 3)
    if attempts > 10:
        raise ConfigError(f"GUICHET_ACS_CHALLENGE_ATTEMPTS must be from 1 to 10, got {attempts}")
    return attempts


def _acs_idle_timeout(env: Environ) -> int:
    seconds = read_int(env, "GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT", AcsConfig.challenge_idle_timeout_s)
    if seconds > 600:
        raise ConfigError(f"GUICHET_ACS_CHALLENGE_IDLE_TIMEOUT must be from 1 to 600 seconds, got {seconds}")
    return seconds


def _acs_rres_wait(env: Environ) -> int:
    seconds = read_int(env, "GUICHET_ACS_RRES_WAIT", AcsConfig.rres_wait_s)
    if seconds > 60:
        raise ConfigError(f"GUICHET_ACS_RRES_WAIT must be from 1 to 60 seconds, got {seconds}")
    return seconds


def _acs_method(env: Environ) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """`on` (every range has the 3DS Method), `off`, or the ranges that have it (card-range syntax)."""
    raw = read(env, "GUICHET_ACS_METHOD", "on").strip()
    if raw.lower() in ("on", "off"):
        return raw.lower() == "on", ()
    ranges = _acs_ranges(raw, "GUICHET_ACS_METHOD")
    if not ranges:
        raise ConfigError("GUICHET_ACS_METHOD must be 'on', 'off' or card ranges (START-END or prefixes)")
    return True, ranges


def acs_section(env: Environ, egress: EgressPolicy) -> AcsConfig:
    base = AcsConfig  # the defaults
    reference = read(env, "GUICHET_ACS_REFERENCE_NUMBER", base.reference_number)
    operator = read(env, "GUICHET_ACS_OPERATOR_ID")
    for name, value in (("GUICHET_ACS_REFERENCE_NUMBER", reference), ("GUICHET_ACS_OPERATOR_ID", operator)):
        if len(value) > 32 or not value.isprintable():
            raise ConfigError(f"{name} must be at most 32 printable characters")
    policy = read(env, "GUICHET_ACS_NO_EPIN_POLICY", "refuse")
    if policy not in ("refuse", "sms_only"):
        raise ConfigError(f"GUICHET_ACS_NO_EPIN_POLICY must be 'refuse' or 'sms_only', got {policy!r}")
    token = read(env, "GUICHET_ACS_VERIFY_TOKEN")
    if token and len(token) < 32:
        raise ConfigError("GUICHET_ACS_VERIFY_TOKEN must be at least 32 characters")
    cert, key = _acs_client_cert(env)
    method, method_ranges = _acs_method(env)
    return AcsConfig(
        reference_number=reference,
        operator_id=operator,
        card_ranges=_acs_ranges(read(env, "GUICHET_ACS_CARD_RANGES")),
        rules=_acs_rules(read(env, "GUICHET_ACS_RULES")),
        no_epin_policy=policy,
        verify_token=token,
        challenge_attempts=_acs_attempts(env),
        challenge_idle_timeout_s=_acs_idle_timeout(env),
        sms_per_hour=_acs_sms_per_hour(env),
        rres_wait_s=_acs_rres_wait(env),
        ds_urls=_acs_ds_urls(read(env, "GUICHET_ACS_DS_URLS"), egress),
        rreq_client_cert=cert,
        rreq_client_key=key,
        method=method,
        method_ranges=method_ranges,
    )
