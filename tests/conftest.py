"""Test environment: set before Django loads its settings (pytest-django sets it up afterwards)."""

from __future__ import annotations

import os
import tempfile

os.environ["GUICHET_MODE"] = "test"
os.environ["DJANGO_SETTINGS_MODULE"] = "guichet.config.settings"
# DJANGO_ALLOW_ASYNC_UNSAFE is not set here: Django's guard must catch an ORM call on the AReq's
# event loop. The browser tests set it for themselves (tests/browser/conftest.py).
os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
os.environ.setdefault("GUICHET_DATA_DIR", tempfile.mkdtemp(prefix="guichet-test-"))
for name in ("GUICHET_EMAIL_URL", "GUICHET_SMS_URL", "GUICHET_REDIS_URL", "GUICHET_DATABASE_URL"):
    os.environ.pop(name, None)
# The DS the tests' AReqs name (tests.issuer.acs.support); a test's local DS adds its own URL (the `ds`
# fixture). Test mode's egress policy allows loopback, as demo mode's does: the tests' peers listen on
# 127.0.0.1, and a test that needs loopback refused builds its own policy.
os.environ["GUICHET_ACS_DS_URLS"] = "https://ds.example.test/"
os.environ["GUICHET_EGRESS_ALLOW"] = "127.0.0.0/8,::1"
if os.environ.get("GUICHET_TEST_DATABASE_URL"):
    os.environ["GUICHET_DATABASE_URL"] = os.environ["GUICHET_TEST_DATABASE_URL"]

import django  # noqa: E402

django.setup()

pytest_plugins = ["tests.support.fixtures"]
# The demo walk drives the installed wheel, not this checkout: scripts/walk runs it on its own.
collect_ignore = ["walk"]
