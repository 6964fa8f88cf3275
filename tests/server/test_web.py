"""Pages and messages around the portal: dev inbox, branding, help pages, per-language messages."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils import translation

from guichet.config.env import Branding
from guichet.delivery.services import outbox_enqueue_email, outbox_enqueue_http, outbox_enqueue_sms
from guichet.delivery.worker import deliver_due
from guichet.demo.inbox.views import inbox
from tests.support.factories import make_cardholder

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_dev_inbox_shows_each_message_as_the_recipient_reads_it_in_demo_mode(settings):
    # given a demo deployment with two messages in the outbox
    settings.GUICHET = dataclasses.replace(settings.GUICHET, mode="demo")
    outbox_enqueue_sms(
        to="+687751123",
        template="enrollment_code",
        language="fr",
        context={"code": "31415926", "brand": settings.GUICHET.branding},
    )
    outbox_enqueue_sms(
        to="+687762245",
        template="enrollment_code",
        language="en",
        context={"code": "27182818", "brand": settings.GUICHET.branding},
    )
    # when
    response = inbox(RequestFactory().get("/dev/inbox"))
    # then
    page = _text(response)
    assert response.status_code == 200
    assert page.count('class="inbox-message sms"') == 2
    assert "Banque Corail : votre code de vérification est 31415926." in page
    assert "Banque Corail: your verification code is 27182818." in page
    assert page.index("27182818") < page.index("31415926")  # newest first


def _three_kinds(settings) -> None:
    """A demo deployment with one SMS, one email and one RReq in the outbox."""
    settings.GUICHET = dataclasses.replace(settings.GUICHET, mode="demo")
    brand = settings.GUICHET.branding
    outbox_enqueue_sms(to="+687751123", template="enrollment_code", language="fr",
                       context={"code": "31415926", "brand": brand})  # fmt: skip
    outbox_enqueue_email(to="marie@example.com", template="enrollment_code", language="fr",
                         context={"code": "Zx8w7", "brand": brand})  # fmt: skip
    outbox_enqueue_http(kind="3ds.rreq", key="rreq:1", url="https://ds.example/rreq",
                        body=b'{"messageType":"RReq","transStatus":"Y"}')  # fmt: skip


def _kinds(page: str) -> list[str]:
    return re.findall(r'class="inbox-message (\w+)"', page)


def _inbox(query: str = "", language: str = "fr") -> str:
    # The view itself: /dev/ is routed in demo mode only, and the tests' URLs are not a demo's.
    with translation.override(language):
        return _text(inbox(RequestFactory().get(f"/dev/inbox{query}")))


@pytest.mark.parametrize(
    ("language", "labels"),
    [("fr", ["Tout", "SMS", "E-mails", "Requêtes HTTP"]), ("en", ["All", "SMS", "E-mails", "HTTP requests"])],
)
def test_dev_inbox_has_a_tab_per_kind_of_message_with_its_count(settings, language, labels):
    _three_kinds(settings)
    page = _inbox(language=language)
    tabs = re.findall(
        r'<a href="(/dev/inbox[^"]*)" class="inbox-tab[^"]*" id="tab-\w+"[^>]*>([^<]+) <span', page
    )
    assert tabs == [
        ("/dev/inbox", labels[0]),
        ("/dev/inbox?channel=sms", labels[1]),
        ("/dev/inbox?channel=email", labels[2]),
        ("/dev/inbox?channel=http", labels[3]),
    ]
    assert re.findall(r'<span class="count">\((\d+)\)</span>', page) == ["3", "1", "1", "1"]
    # all of them, newest first, the current tab marked
    assert _kinds(page) == ["http", "email", "sms"]
    assert 'id="tab-all" aria-current="page"' in page


@pytest.mark.parametrize(("channel", "kinds"), [("sms", ["sms"]), ("email", ["email"]), ("http", ["http"])])
def test_each_dev_inbox_tab_shows_only_its_kind(settings, channel, kinds):
    _three_kinds(settings)
    page = _inbox(f"?channel={channel}")
    assert _kinds(page) == kinds
    assert f'id="tab-{channel}" aria-current="page"' in page
    assert page.count('aria-current="page"') == 1


def test_the_dev_inbox_shows_an_http_post_as_its_receiver_gets_it(settings):
    _three_kinds(settings)
    page = _inbox("?channel=http")
    assert "<strong>POST 3ds.rreq</strong> → https://ds.example/rreq" in page
    assert '<pre>{\n  "messageType": "RReq",\n  "transStatus": "Y"\n}</pre>' in page


def test_an_unknown_dev_inbox_tab_shows_everything(settings):
    _three_kinds(settings)
    assert _kinds(_inbox("?channel=fax")) == ["http", "email", "sms"]


def test_dev_inbox_does_not_exist_outside_demo_mode():
    # given the test deployment (not a demo)
    client = Client()
    # when
    response = client.get("/dev/inbox")
    # then
    assert response.status_code == 404


def test_sms_and_email_are_written_in_the_language_of_the_page(outbound):
    # given a cardholder using the portal in English
    smtp, sms = outbound
    holder = make_cardholder(email="english.texts@example.com", phone="+687751177")
    client = Client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    # when
    client.post("/enrollment/", {"email": holder.email})
    deliver_due()
    # then
    [message] = sms.to("+687751177")
    [mail] = smtp.to("english.texts@example.com")
    assert message["text"].startswith("Banque Corail: your verification code is ")
    assert mail.subject == "Banque Corail - your verification code"
    assert "Your email verification code: " in mail.body
    assert "votre" not in message["text"]


def test_branding_comes_from_configuration(settings):
    # given an issuer's own branding
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        branding=Branding(
            issuer_name="Banque du Récif",
            issuer_short_name="Récif",
            support_phone="(+687) 99 88 77",
            primary_colour="#123456",
            logo_url="",
            help_url="",
            scheme_name="Visa Secure",
        ),
    )
    # when
    page = _text(Client().get("/enrollment/"))
    # then
    assert '<span class="brand-name">Récif</span>' in page
    assert "l'établissement Banque du Récif émetteur de votre carte" in page
    assert "(+687) 99 88 77" in page
    assert "Banque Corail" not in page


@pytest.mark.parametrize(
    ("path", "title_fr"),
    [
        ("/enrollment/help/", "<h1>Aide</h1>"),
        ("/enrollment/secure-shopping/", "<h1>Sécuriser mes achats sur Internet</h1>"),
    ],
)
def test_help_and_secure_shopping_pages_are_linked_from_every_portal_step(path, title_fr):
    # given
    client = Client()
    # when
    start = _text(client.get("/enrollment/"))
    page = client.get(path)
    # then
    assert f'href="{path}"' in start
    assert page.status_code == 200
    assert title_fr in _text(page)
    assert page["X-Frame-Options"] == "DENY"


ICON = '<link rel="icon" href="/static/guichet/favicon.svg" type="image/svg+xml">'


@pytest.mark.parametrize("path", ["/enrollment/", "/enrollment/help/", "/account/signin/"])
def test_the_issuer_and_operator_pages_link_the_favicon(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response.content.decode().count(ICON) == 1


def test_favicon_ico_leads_to_the_svg_icon():
    client = Client()
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/guichet/favicon.svg")
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in icon.getvalue()
