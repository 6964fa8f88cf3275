"""The typed, frozen sections of Guichet's configuration, with each setting's default written once.

`guichet/config/env.py` reads the environment into them; the rest of Guichet reads them through
`settings.GUICHET` (a `Config`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from guichet.core.egress import EgressPolicy

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
    """ACS settings (docs/issuers.md, Settings)."""

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
    # GUICHET_ACS_RRES_WAIT: how long the end of a challenge waits for the DS's RRes before the browser
    # posts the final CRes anyway (EMV 3DS: the CRes goes "at the end of the challenge and receipt of
    # the RRes"); 1 to 60 s. Only the browser is released: the RReq is retried by the outbox after it.
    rres_wait_s: int = 10
    # GUICHET_ACS_DS_URLS: the only URL prefixes an AReq's dsURL may start with (RReqs go there).
    # Empty in mode "serve": every AReq is refused (Erro 203 dsURL). Demo and test add the simulator's.
    ds_urls: tuple[str, ...] = ()
    # GUICHET_ACS_RREQ_CLIENT_CERT / _KEY: PEM files of the client certificate RReqs present (mutual
    # TLS with the DS); empty: none.
    rreq_client_cert: str = ""
    rreq_client_key: str = ""
    # GUICHET_ACS_METHOD: the 3DS Method (docs/issuers.md, The 3DS Method). `method` off: no range
    # names a threeDSMethodURL; on, `method_ranges` narrows it to these ranges (empty: every range).
    method: bool = True
    method_ranges: tuple[tuple[str, str], ...] = ()


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
    # GUICHET_BILLING_VAT_RATE ("20", "5.5"): the VAT included in pay-on-bill amounts, in basis points
    # (2000 = 20 %); None: not configured, the billing feed leaves its VAT columns empty.
    billing_vat_rate_bp: int | None = None
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
