"""The demo shop's pages, in French (default) and English, and the demo seed."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import stat
from typing import Any

import pytest
from django.test import Client

from guichet.demo.data import DEMO_CARDS
from guichet.demo.data import demo_seed as cards_demo_seed
from guichet.demo.shop.models import DsTransaction, Order
from guichet.demo.shop.seed import demo_seed, shop_url
from guichet.issuer.cards.services import cardholder_find
from tests.demo.shop.support import FakeAcs, ares

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.demo.shop.urls")]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def english(client: Client) -> Client:
    client.post("/i18n/setlang/", {"language": "en", "next": "/demo/shop/"})
    return client


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("lang", "names", "prices"),
    [
        ("fr", ["PANIER EDITEUR", "La collection complète reliée"], ["3,90\u00a0€", "299,00\u00a0€"]),
        ("en", ["PUBLISHER BASKET", "The complete bound collection"], ["€3.90", "€299.00"]),
    ],
)
def test_the_shop_lists_both_baskets_in_the_chosen_language(client, lang, names, prices):
    if lang == "en":
        english(client)
    response = client.get("/demo/shop/")
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in text(response)
    for name, price in zip(names, prices, strict=True):
        assert name in text(response)
        assert price in text(response)
    assert "Éditions du Lagon" in text(response)


def test_the_basket_offers_card_internet_plus_and_an_unavailable_third_method(client):
    response = client.get("/demo/shop/basket/panier-editeur/")
    page = text(response)
    assert "SÉLECTIONNEZ VOTRE MODE DE PAIEMENT\u00a0:" in page
    assert "MONTANT DE VOTRE COMMANDE <strong>3,90\u00a0€</strong>" in page
    assert re.search(r'value="card"[^>]*>\s*<strong>CARTE BANCAIRE</strong>', page)
    assert re.search(
        r'value="internetplus"[^>]*>\s*<strong>internet\+</strong>\s*'
        r"<span>Paiement sur votre facture internet",
        page,
    )
    assert re.search(r'id="method-prepaid" disabled aria-disabled="true">\s*<strong>CARTE PRÉPAYÉE', page)
    assert "Indisponible pour cette commande" in page
    # the redirect to Guichet's checkout is a form action the page's policy must allow
    assert "form-action 'self' http://127.0.0.1:8000;" in response["Content-Security-Policy"]


def test_the_basket_in_english(client):
    page = text(english(client).get("/demo/shop/basket/collection-reliee/"))
    assert "SELECT YOUR PAYMENT METHOD:" in page
    assert "AMOUNT OF YOUR ORDER <strong>€299.00</strong>" in page
    assert "Payment on your internet bill" in page
    assert "Unavailable for this order" in page


def test_an_unknown_product_or_method_creates_no_order(client):
    assert client.get("/demo/shop/basket/nothing/").status_code == 404
    response = client.post("/demo/shop/basket/panier-editeur/", {"method": "prepaid"})
    assert response.status_code == 400
    assert Order.objects.count() == 0


def test_choosing_the_card_opens_the_card_form_with_the_demo_cards(client):
    response = client.post("/demo/shop/basket/collection-reliee/", {"method": "card"})
    order = Order.objects.get()
    assert (order.product, order.amount, order.currency, order.status) == (
        "collection-reliee",
        29900,
        "EUR",
        Order.Status.NEW,
    )
    assert response.status_code == 302
    assert response["Location"] == f"/demo/shop/order/{order.id}/card/"
    page = text(client.get(response["Location"]))
    assert "Payer 299,00\u00a0€" in page
    pan = DEMO_CARDS[0].pan
    assert " ".join(pan[i : i + 4] for i in range(0, 16, 4)) in page
    assert "ePin 6789, sauf si vous l'avez changé sur le portail d'enrôlement" in page


def test_a_wrong_card_number_is_refused_and_nothing_is_sent(client, fake_acs: FakeAcs):
    client.post("/demo/shop/basket/collection-reliee/", {"method": "card"})
    order = Order.objects.get()
    response = client.post(
        f"/demo/shop/order/{order.id}/card/", {"pan": "4970100000000049", "expiry": "12/29"}
    )
    assert response.status_code == 400
    assert "Ce numéro de carte n'est pas valable." in text(response)
    assert fake_acs.received == []
    order.refresh_from_db()
    assert order.status == Order.Status.NEW
    assert DsTransaction.objects.count() == 0


def test_a_bad_expiry_is_refused(client, fake_acs: FakeAcs):
    client.post("/demo/shop/basket/collection-reliee/", {"method": "card"})
    order = Order.objects.get()
    response = client.post(
        f"/demo/shop/order/{order.id}/card/", {"pan": DEMO_CARDS[0].pan, "expiry": "13/29"}
    )
    assert response.status_code == 400
    assert "Veuillez écrire la date d'expiration sous la forme MM/AA." in text(response)
    assert fake_acs.received == []


def pay_by_card(client: Client, **extra: str) -> tuple[Order, Any]:
    client.post("/demo/shop/basket/collection-reliee/", {"method": "card"})
    order = Order.objects.get()
    form = {"pan": "4970 1000 0000 0048", "expiry": "12/29", "name": "Marie Kafeat", **extra}
    response = client.post(f"/demo/shop/order/{order.id}/card/", form, HTTP_ACCEPT="text/html")
    order.refresh_from_db()
    return order, response


def test_paying_by_card_shows_the_challenge_in_an_iframe_posting_to_the_acs(client, fake_acs: FakeAcs):
    # when the customer pays with a demo card and the ACS asks for a challenge
    order, response = pay_by_card(
        client, js="1", color_depth="24", screen_height="900", screen_width="1440", tz="-660"
    )
    # then the AReq carried the browser the script measured, and the shop's return addresses
    sent = fake_acs.received[0]
    assert (sent["browserJavascriptEnabled"], sent["browserScreenWidth"], sent["browserTZ"]) == (
        True,
        "1440",
        "-660",
    )
    assert sent["browserAcceptHeader"] == "text/html"
    assert sent["browserLanguage"] == "fr"
    assert sent["notificationURL"] == f"http://testserver/demo/shop/order/{order.id}/3ds/complete"
    assert sent["dsURL"] == f"{fake_acs.url}/demo/ds/rreq"
    # and the order page holds the challenge: a form posting creq into the iframe
    assert response["Location"] == f"/demo/shop/order/{order.id}/"
    page_response = client.get(response["Location"])
    page = text(page_response)
    assert (
        f'<form id="creq-form" method="post" action="{fake_acs.url}/3ds/challenge" target="challenge">'
        in page
    )
    assert f'name="creq" value="{order.creq}"' in page
    assert f'name="threeDSSessionData" value="{order.session_data}"' in page
    assert '<iframe name="challenge" id="challenge"' in page
    policy = page_response["Content-Security-Policy"]
    assert f"form-action 'self' {fake_acs.url};" in policy
    assert f"frame-src 'self' {fake_acs.url};" in policy
    assert "frame-ancestors 'none'" in policy


def test_without_javascript_the_areq_says_so(client, fake_acs: FakeAcs):
    pay_by_card(client, js="1", color_depth="23", screen_height="900", screen_width="1440", tz="0")
    sent = fake_acs.received[0]
    assert sent["browserJavascriptEnabled"] is False
    assert "browserColorDepth" not in sent


def test_the_result_page_shows_what_the_ds_received(client, fake_acs: FakeAcs):
    order, _ = pay_by_card(client)
    ds = DsTransaction.objects.get()
    rreq = {
        "messageType": "RReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": ds.three_ds_server_trans_id,
        "acsTransID": ds.acs_trans_id,
        "dsTransID": ds.ds_trans_id,
        "messageCategory": "01",
        "transStatus": "Y",
        "authenticationType": "02",
        "authenticationMethod": "02",
        "authenticationValue": "AAECAwQFBgcICQoLDA0ODxAREhM=",
        "eci": "05",
        "interactionCounter": "01",
    }
    client.post("/demo/ds/rreq", data=json.dumps(rreq), content_type="application/json")
    cres = {
        "messageType": "CRes",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": ds.three_ds_server_trans_id,
        "acsTransID": ds.acs_trans_id,
        "transStatus": "Y",
        "challengeCompletionInd": "Y",
    }
    from guichet.demo.shop.messages import b64url_encode

    Client().post(
        f"/demo/shop/order/{order.id}/3ds/complete",
        {"cres": b64url_encode(json.dumps(cres).encode()), "threeDSSessionData": order.session_data},
    )
    page = text(client.get(f"/demo/shop/order/{order.id}/"))
    assert "<h1>Paiement accepté</h1>" in page
    assert '<dd id="trans-status">Y — authentification réussie</dd>' in page
    assert '<dd id="eci">05</dd>' in page
    assert "AAECAwQFBgcICQoLDA0ODxAREhM=" in page
    assert "RReq reçu à" in page
    assert "valide\u00a0: réponse RRes (resultsStatus 01)" in page
    assert 'http-equiv="refresh"' not in page
    assert "demoshop/reload.js" not in page


INFO = "Pas de mot de passe fixe ? Enrôlez-vous d'abord sur le portail : https://banque.example/enrollment/"


@pytest.mark.parametrize(
    ("lang", "label"), [("fr", "Message de votre banque\u00a0:"), ("en", "Message from your bank:")]
)
def test_the_result_page_shows_the_cardholder_info_of_the_ares(client, fake_acs: FakeAcs, lang, label):
    # given an ACS that refuses the card of a cardholder without an ePin, with a text for them
    fake_acs.answer = lambda areq: (
        200,
        json.dumps(ares(areq, "N", transStatusReason="13", cardholderInfo=INFO)).encode(),
    )
    if lang == "en":
        english(client)
    order, _ = pay_by_card(client)
    # then the shop shows the bank's text to the customer, under the outcome
    page = text(client.get(f"/demo/shop/order/{order.id}/"))
    assert f'<p id="cardholder-info" role="note"><span class="label">{label}</span> {INFO}</p>' in page


def test_the_result_page_has_no_cardholder_info_when_the_ares_has_none(client, fake_acs: FakeAcs):
    fake_acs.answer = lambda areq: (200, json.dumps(ares(areq, "N", transStatusReason="01")).encode())
    order, _ = pay_by_card(client)
    assert 'id="cardholder-info"' not in text(client.get(f"/demo/shop/order/{order.id}/"))


def test_the_result_page_waits_for_the_rreq(client, fake_acs: FakeAcs):
    order, _ = pay_by_card(client)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.ACCEPTED, trans_status="Y")
    page = text(client.get(f"/demo/shop/order/{order.id}/"))
    # shown again every 2 seconds by a script; no meta refresh, which assistive technologies cannot stop
    assert '<script src="/static/demoshop/reload.js" defer></script>' in page
    assert '<p class="hint" id="ds-waiting" data-reload-after="2">' in page
    assert 'http-equiv="refresh"' not in page
    assert "En attente du résultat de la banque (RReq)…" in page


def test_the_dev_inbox_is_linked_in_demo_mode_only(client, settings):
    assert "/dev/inbox" not in text(client.get("/demo/shop/"))
    settings.GUICHET = dataclasses.replace(settings.GUICHET, mode="demo")
    page = text(client.get("/demo/shop/"))
    assert '<a href="http://127.0.0.1:8000/dev/inbox" target="_blank" rel="noopener" id="inbox-link">' in page


def test_the_shop_sits_on_another_origin_than_guichet():
    assert shop_url("http://127.0.0.1:8000") == "http://localhost:8000/demo/shop/"
    assert shop_url("http://0.0.0.0:9000") == "http://0.0.0.0:9000/demo/shop/"


def test_demo_seed_registers_the_merchant_once_and_gives_a_known_epin(settings, tmp_path):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, data_dir=tmp_path)
    cards_demo_seed()
    # when the demo starts twice
    lines = demo_seed("http://127.0.0.1:8000")
    saved = (tmp_path / "demo-merchant.json").read_text()
    assert demo_seed("http://127.0.0.1:8000") == lines
    # then the merchant was registered once (new keys each time otherwise), its secrets kept in the
    # data dir, readable by the owner only
    assert (tmp_path / "demo-merchant.json").read_text() == saved
    assert stat.S_IMODE(os.stat(tmp_path / "demo-merchant.json").st_mode) == 0o600
    assert set(json.loads(saved)) == {"api_key", "notification_secret"}
    # and the first cardholder has the printed ePin, the other none
    first, other = cardholder_find(email=DEMO_CARDS[0].email), cardholder_find(email=DEMO_CARDS[2].email)
    assert first is not None
    assert other is not None
    assert (first.has_epin, other.has_epin) == (True, False)
    assert lines[0].startswith("Demo shop          http://localhost:8000/demo/shop/")
    assert f"  card {DEMO_CARDS[0].pan}  exp 12/29  Marie Kafeat (ePin 6789 unless changed)" in lines
    assert any(DEMO_CARDS[2].pan in line and "/enrollment/" in line for line in lines)


def test_the_shop_has_its_own_favicon(client):
    page = text(client.get("/demo/shop/"))
    assert page.count('<link rel="icon" href="/static/demoshop/favicon.svg" type="image/svg+xml">') == 1
    assert client.get("/static/demoshop/favicon.svg").status_code == 200
