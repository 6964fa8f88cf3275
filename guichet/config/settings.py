"""Django settings, derived from `guichet.config.env` only."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import django_stubs_ext
from django.utils.translation import gettext_lazy as _

from guichet.config import env

# Lets admin and form classes be written with type parameters at run time.
django_stubs_ext.monkeypatch()

CONFIG = env.load()
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # guichet/

SECRET_KEY = CONFIG.secret_key
DEBUG = False
_public = urlsplit(CONFIG.public_url)
ALLOWED_HOSTS = (
    ["*"] if CONFIG.mode != "serve" else [_public.hostname or "localhost", "127.0.0.1", "localhost"]
)
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]

INSTALLED_APPS = [
    "guichet.backoffice.adminconfig.GuichetAdminConfig",  # django.contrib.admin, guarded (backoffice/site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "guichet.core",
    "guichet.audit",
    "guichet.codes",
    "guichet.delivery",
    "guichet.issuer.cards",
    "guichet.issuer.enrollment",
    "guichet.issuer.acs",
    "guichet.issuer.acs.challenge",
    "guichet.payonbill.merchants",
    "guichet.payonbill.subscribers",
    "guichet.payonbill.checkout",
    "guichet.demo.shop",
    "guichet.backoffice",
    "guichet.demo.inbox",
    "guichet.demo",
]

MIDDLEWARE = [
    "guichet.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "guichet.core.middleware.LanguageMiddleware",
    "guichet.core.middleware.RequestTextMiddleware",
    "guichet.core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the staff's second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "guichet.server.urls"
WSGI_APPLICATION = "guichet.server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guichet.core.context.branding",
            ],
        },
    },
    {
        # SMS and email bodies are plain text: HTML escaping would put "M&amp;S" into an SMS.
        "NAME": "messages",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    },
]


def _database(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as in SQLAlchemy URLs.
        name = unquote(parts.path)[1:]
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # IMMEDIATE avoids lock-upgrade deadlocks between the web threads and the delivery thread.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
            # Reuse a thread's connection across requests: opening one costs more than a small request.
            "CONN_MAX_AGE": 60,
            "TEST": {"NAME": str(CONFIG.data_dir / "test.sqlite3")},
        }
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "guichet",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": _database(CONFIG.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if CONFIG.redis_url:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CONFIG.redis_url}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
# The kernel's catalogue first, as before the apps had their own (core/locale).
LOCALE_PATHS = [PACKAGE_DIR / "core" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# Sessions live in the database so any process can serve the next request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "guichet_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONFIG.https
SESSION_COOKIE_AGE = 8 * 3600  # hard ceiling; portal inactivity is enforced by the portal itself
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = CONFIG.https
CSRF_FAILURE_VIEW = "guichet.core.views.csrf_failure"
# The FR/EN choice outlives a browser restart (Django defaults to a session cookie).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SECURE = CONFIG.https
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if CONFIG.https else None
SECURE_HSTS_SECONDS = 31536000 if CONFIG.https else 0
X_FRAME_OPTIONS = "DENY"

# No field of ours is larger than a few hundred bytes; refuse big bodies before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 50

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # One line per request of the server (guichet.server.app), on standard output.
        "guichet.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}

GUICHET = CONFIG

# Who credits a merchant's refund (guichet.payonbill.merchants.billing.Biller): by default the
# subscriber's bill. An operator whose billing system credits refunds itself names its own class here.
GUICHET_BILLER = "guichet.payonbill.checkout.billing.BillBiller"
