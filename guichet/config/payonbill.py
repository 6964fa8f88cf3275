"""The operator's settings: merchants and payments, subscribers and their sign-in, the checkout."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from guichet.config.parse import Environ, check_url, euros, percent, read, read_int
from guichet.config.sections import CheckoutConfig, ConfigError, MerchantsConfig, SubscribersConfig


def merchants_section(env: Environ) -> MerchantsConfig:
    base = MerchantsConfig  # the defaults
    from guichet.core.money import ISO_4217

    raw = read(env, "GUICHET_PAYMENT_CURRENCIES", ",".join(base.currencies))
    currencies = tuple(c.strip().upper() for c in raw.split(",") if c.strip())
    unknown = [c for c in currencies if c not in ISO_4217]
    if not currencies or unknown:
        raise ConfigError(
            f"GUICHET_PAYMENT_CURRENCIES must list ISO 4217 codes separated by commas, got {raw!r}"
        )
    return MerchantsConfig(
        payment_ttl_s=read_int(env, "GUICHET_PAYMENT_TTL", base.payment_ttl_s),
        max_amount=read_int(env, "GUICHET_PAYMENT_MAX_AMOUNT", base.max_amount),
        currencies=currencies,
        notification_valid_days=read_int(
            env, "GUICHET_NOTIFICATION_VALID_DAYS", base.notification_valid_days
        ),
        api_key_failure_limit=read_int(env, "GUICHET_API_KEY_FAILURE_LIMIT", base.api_key_failure_limit),
        api_key_failure_window_s=read_int(
            env, "GUICHET_API_KEY_FAILURE_WINDOW", base.api_key_failure_window_s
        ),
    )


def _vat_rate(raw: str) -> int | None:
    """GUICHET_BILLING_VAT_RATE, a percentage with at most two decimals ("20", "5.5"), in basis points."""
    if not raw:
        return None
    whole, _, decimals = raw.rstrip("%").strip().partition(".")
    if not re.fullmatch(r"[0-9]{1,2}", whole) or not re.fullmatch(r"[0-9]{0,2}", decimals):
        raise ConfigError(f"GUICHET_BILLING_VAT_RATE must be a percentage such as 20 or 5.5, got {raw!r}")
    return int(whole) * 100 + int(decimals.ljust(2, "0"))


def subscribers_section(env: Environ) -> SubscribersConfig:
    """Subscriber settings (docs/operators.md lists them with their meaning)."""
    base = SubscribersConfig  # the defaults
    colour = read(env, "GUICHET_OPERATOR_COLOUR", base.operator_colour).strip()
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
        raise ConfigError(f"GUICHET_OPERATOR_COLOUR must be #rrggbb, got {colour!r}")
    logo_url = read(env, "GUICHET_OPERATOR_LOGO_URL")
    if logo_url and not logo_url.startswith("/"):
        check_url("GUICHET_OPERATOR_LOGO_URL", logo_url, ("https", "http"))
    terms_url = read(env, "GUICHET_OPERATOR_TERMS_URL")
    check_url("GUICHET_OPERATOR_TERMS_URL", terms_url, ("https", "http"))
    domain = read(env, "GUICHET_OPERATOR_MAIL_DOMAIN", base.operator_mail_domain).strip().lower().lstrip("@")
    label = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
    if domain and not re.fullmatch(rf"{label}(\.{label})+", domain):
        raise ConfigError(
            f"GUICHET_OPERATOR_MAIL_DOMAIN must be a domain name such as lagon.nc, got {domain!r}"
        )
    zone = read(env, "GUICHET_BILLING_TIME_ZONE", base.billing_time_zone).strip()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"GUICHET_BILLING_TIME_ZONE must be an IANA time zone, got {zone!r}") from exc
    vat_rate_bp = _vat_rate(read(env, "GUICHET_BILLING_VAT_RATE").strip())
    raw_start = read(env, "GUICHET_SIGNIN_ROLLOUT_START").strip()
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
        c.strip() for c in read(env, "GUICHET_SIGNIN_ROLLOUT_CONTRACTS").split(",") if c.strip()
    )
    memory = read_int(env, "GUICHET_ARGON2_MEMORY_KIB", base.argon2_memory_kib)
    if memory < 8 * 1024:
        raise ConfigError(f"GUICHET_ARGON2_MEMORY_KIB must be at least 8192 (8 MiB), got {memory}")
    return SubscribersConfig(
        operator_name=read(env, "GUICHET_OPERATOR_NAME", base.operator_name),
        operator_short_name=read(env, "GUICHET_OPERATOR_SHORT_NAME", base.operator_short_name),
        operator_colour=colour.lower(),
        operator_logo_url=logo_url,
        operator_terms_url=terms_url,
        operator_mail_domain=domain,
        service_name=read(env, "GUICHET_PAY_ON_BILL_NAME", base.service_name),
        billing_time_zone=zone,
        billing_vat_rate_bp=vat_rate_bp,
        idle_timeout_s=read_int(env, "GUICHET_SUBSCRIBER_IDLE_TIMEOUT", base.idle_timeout_s),
        stay_signed_in_days=read_int(env, "GUICHET_SUBSCRIBER_STAY_SIGNED_IN_DAYS", base.stay_signed_in_days),
        remember_email_days=read_int(env, "GUICHET_SUBSCRIBER_REMEMBER_EMAIL_DAYS", base.remember_email_days),
        signin_ip_limit=read_int(env, "GUICHET_SUBSCRIBER_SIGNIN_IP_LIMIT", base.signin_ip_limit),
        signin_ip_window_s=read_int(env, "GUICHET_SUBSCRIBER_SIGNIN_IP_WINDOW", base.signin_ip_window_s),
        rollout_start=start,
        rollout_percent=percent(env, "GUICHET_SIGNIN_ROLLOUT_PERCENT", base.rollout_percent),
        rollout_contracts=contracts,
        argon2_time_cost=read_int(env, "GUICHET_ARGON2_TIME_COST", base.argon2_time_cost),
        argon2_memory_kib=memory,
        argon2_parallelism=read_int(env, "GUICHET_ARGON2_PARALLELISM", base.argon2_parallelism),
    )


def checkout_section(env: Environ) -> CheckoutConfig:
    base = CheckoutConfig  # the defaults
    payment_cap = euros(env, "GUICHET_CHECKOUT_PAYMENT_CAP", base.payment_cap)
    monthly_cap = euros(env, "GUICHET_CHECKOUT_MONTHLY_CAP", base.monthly_cap)
    if monthly_cap < payment_cap:
        raise ConfigError("GUICHET_CHECKOUT_MONTHLY_CAP must not be below GUICHET_CHECKOUT_PAYMENT_CAP")
    return CheckoutConfig(
        payment_cap=payment_cap,
        monthly_cap=monthly_cap,
        return_delay_s=read_int(env, "GUICHET_CHECKOUT_RETURN_DELAY", base.return_delay_s),
    )
