"""The issuer's colour on its pages (/brand.css) and the FR/EN choice kept across browser restarts."""

from __future__ import annotations

import dataclasses
import re
import runpy
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

import guichet.config.settings
from guichet.config import env
from guichet.config.env import ConfigError
from guichet.core.views import contrast

pytestmark = pytest.mark.django_db

YEAR = 365 * 24 * 3600
SETTINGS_FILE = guichet.config.settings.__file__


def _colour(settings: Any, colour: str) -> None:
    branding = dataclasses.replace(settings.GUICHET.branding, primary_colour=colour)
    settings.GUICHET = dataclasses.replace(settings.GUICHET, branding=branding)


def _declarations(css: str) -> dict[str, str]:
    root = re.search(r":root \{([^}]*)\}", css)
    assert root, css
    return {
        name.strip(): value.strip()
        for name, value in (part.split(":") for part in root.group(1).split(";") if part.strip())
    }


# --- brand colour -----------------------------------------------------------------------------------


def test_brand_css_carries_the_default_colour_and_is_cacheable():
    # when
    response = Client().get("/brand.css")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert _declarations(response.content.decode()) == {
        "--brand": "#0b5a8a",
        "--on-brand": "#ffffff",
        "--brand-text": "#0b5a8a",
    }


def test_brand_css_carries_the_configured_colour(settings):
    # given
    _colour(settings, "#6a1b9a")
    # when
    css = Client().get("/brand.css").content.decode()
    # then
    assert _declarations(css) == {"--brand": "#6a1b9a", "--on-brand": "#ffffff", "--brand-text": "#6a1b9a"}
    assert ".lang.current, .primary, .icon { color: var(--on-brand); }" in css
    assert (
        ".brand-name, .panel h1, .secondary, button.link, .portal-links a { color: var(--brand-text); }"
        in css
    )


@pytest.mark.parametrize(
    ("colour", "on_brand", "text"),
    [
        ("#ffd400", "#1d2630", "#806a00"),  # yellow: dark text on buttons, darker yellow as text
        ("#ffffff", "#1d2630", "#666666"),
        ("#00ff00", "#1d2630", "#008000"),
    ],
)
def test_a_light_colour_keeps_the_text_readable(settings, colour, on_brand, text):
    # given an issuer colour white text cannot be read on
    assert contrast(colour, "#ffffff") < 4.5
    _colour(settings, colour)
    # when
    declared = _declarations(Client().get("/brand.css").content.decode())
    # then: buttons keep the colour with dark text on it; text in the colour is darkened to AA
    assert declared == {"--brand": colour, "--on-brand": on_brand, "--brand-text": text}
    assert contrast(colour, on_brand) >= 4.5
    assert contrast(text, "#f3f5f7") >= 4.5
    assert contrast(text, "#ffffff") >= 4.5


def test_the_enrollment_page_links_the_brand_stylesheet_after_site_css(settings):
    # given
    _colour(settings, "#6a1b9a")
    # when
    response = Client().get("/enrollment/")
    page = response.content.decode()
    # then
    assert response.status_code == 200
    link = '<link rel="stylesheet" href="/brand.css?v=6a1b9a">'
    assert page.count(link) == 1
    assert page.index("guichet/site.css") < page.index(link)
    assert "style=" not in page  # no inline style: the CSP forbids it
    assert "style-src 'self';" in response["Content-Security-Policy"]
    assert "--brand: #6a1b9a;" in Client().get("/brand.css?v=6a1b9a").content.decode()


@pytest.mark.parametrize("value", ["blue", "#fff", "#0b5a8g", "0b5a8a", "#0b5a8a0", "#0b5a8a;}"])
def test_a_bad_brand_colour_is_refused_at_config_load(tmp_path, value):
    with pytest.raises(ConfigError, match="GUICHET_BRAND_COLOUR must be #rrggbb"):
        env.load({"GUICHET_MODE": "test", "GUICHET_DATA_DIR": str(tmp_path), "GUICHET_BRAND_COLOUR": value})


def test_the_brand_colour_is_read_trimmed_and_lower_case(tmp_path):
    config = env.load(
        {"GUICHET_MODE": "test", "GUICHET_DATA_DIR": str(tmp_path), "GUICHET_BRAND_COLOUR": " #0B5A8A "}
    )
    assert config.branding.primary_colour == "#0b5a8a"


# --- language cookie --------------------------------------------------------------------------------


def test_the_language_choice_is_a_persistent_cookie():
    # when
    response = Client().post("/i18n/setlang/", {"language": "en", "next": "/enrollment/"})
    # then: kept for a year, not for the browser session
    assert response.status_code == 302
    cookie = response.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["max-age"] == YEAR
    assert cookie["expires"]
    assert (cookie["samesite"], cookie["httponly"], cookie["secure"]) == ("Lax", True, "")
    assert f"Max-Age={YEAR}" in cookie.OutputString()


def test_the_language_cookie_is_secure_when_the_public_url_is_https(monkeypatch, tmp_path):
    # given the environment of an https deployment; when the settings are read
    monkeypatch.setenv("GUICHET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GUICHET_PUBLIC_URL", "https://guichet.example")
    https = runpy.run_path(SETTINGS_FILE)
    monkeypatch.setenv("GUICHET_PUBLIC_URL", "http://localhost:8000")
    http = runpy.run_path(SETTINGS_FILE)
    # then
    assert (https["LANGUAGE_COOKIE_AGE"], https["LANGUAGE_COOKIE_SECURE"]) == (YEAR, True)
    assert (http["LANGUAGE_COOKIE_AGE"], http["LANGUAGE_COOKIE_SECURE"]) == (YEAR, False)
    assert https["LANGUAGE_COOKIE_SAMESITE"] == "Lax"


# --- logo and legal footer ------------------------------------------------------------------------

LEGAL = ("BANQUE DU RÉCIF", "2 rue du Lagon - 98800 Nouméa", "RCS Nouméa 1111 B 111 111 - RIDET 111 111 111")
FOOTER = (
    '<footer class="issuer-legal" id="issuer-legal"><p>BANQUE DU RÉCIF</p>'
    "<p>2 rue du Lagon - 98800 Nouméa</p><p>RCS Nouméa 1111 B 111 111 - RIDET 111 111 111</p></footer>"
)


def _brand(settings: Any, **fields: Any) -> None:
    branding = dataclasses.replace(settings.GUICHET.branding, **fields)
    settings.GUICHET = dataclasses.replace(settings.GUICHET, branding=branding)


def test_the_demo_issuers_logo_and_legal_footer_are_on_the_portal():
    # given the defaults (the fictional Banque Corail)
    page = Client().get("/enrollment/").content.decode()
    assert '<img src="/static/guichet/banque-corail.svg" alt="Banque Corail" class="logo">' in page
    assert '<footer class="issuer-legal" id="issuer-legal"><p>BANQUE CORAIL (démo)</p>' in page
    assert "RCS Nouméa 0000 B 000 000 - RIDET 0 000 000.000" in page
    # and the logo is served
    assert Client().get("/static/guichet/banque-corail.svg").status_code == 200


@pytest.mark.parametrize("path", ["/enrollment/", "/enrollment/help/", "/enrollment/secure-shopping/"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_configured_legal_footer_and_logo_are_on_every_portal_page(settings, path, language):
    # given an issuer's own logo, on its own site, and legal lines
    _brand(settings, logo_url="https://cdn.recif.example/logo.svg", legal=LEGAL, issuer_short_name="Récif")
    client = Client()
    client.post("/i18n/setlang/", {"language": language, "next": "/enrollment/"})
    # when
    response = client.get(path)
    page = response.content.decode()
    # then the footer and the logo are there, and the CSP lets the logo load, from that host only
    assert response["Content-Language"] == language
    assert FOOTER in page
    assert '<img src="https://cdn.recif.example/logo.svg" alt="Récif" class="logo">' in page
    assert "img-src 'self' data: https://cdn.recif.example;" in response["Content-Security-Policy"]


def test_without_legal_lines_there_is_no_footer_and_a_logo_path_keeps_the_strict_policy(settings):
    _brand(settings, logo_url="/static/guichet/banque-corail.svg", legal=())
    response = Client().get("/enrollment/")
    assert 'id="issuer-legal"' not in response.content.decode()
    assert "img-src 'self' data:;" in response["Content-Security-Policy"]
