"""The hosted checkout through Django's test client: who pays, the charge, the refusals, the returns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.core import clock as guichet_clock
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content
from guichet.payonbill.merchants.accounts import merchant_secret_get
from guichet.payonbill.subscribers.billing import contract_charge, contract_month_total
from guichet.payonbill.subscribers.models import BillCharge, Contract
from tests.payonbill.checkout.merchant import signature_ok
from tests.payonbill.checkout.support import (
    PASSWORD,
    charges,
    checkout_settings,
    import_subscribers,
    mailbox,
    mono_bal,
    multi_bal,
    open_shop,
    payment,
    subscribers_settings,
)

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
LINE = "203.0.113.7"  # the address the customer connects from in these tests


def browser(*, language: str = "fr", csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf, REMOTE_ADDR=LINE)
    if language != "fr":
        client.cookies["django_language"] = language
    return client


def sign_in(client: Client, login: str, *, next_url: str = "/account/") -> None:
    answer = client.post(
        f"/account/signin/?next={next_url}", {"login": login, "password": PASSWORD, "stay": "on"}
    )
    assert answer.status_code == 302, answer.content
    assert answer["Location"] == next_url


def page_text(answer) -> str:
    text = re.sub(r"<[^>]+>", " ", answer.content.decode())
    # Only ASCII white space is collapsed: the French no-break spaces are part of what is checked.
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(text)).strip()


def return_query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def signed_return(shop, url: str, path: str, status: str, payment_id: str) -> None:
    """The return URL goes to the shop, carries the payment and status, and is signed."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == shop.site.url(path)
    query = return_query(url)
    assert (query["payment_id"], query["status"]) == (payment_id, status)
    secret = merchant_secret_get(merchant=payment(payment_id).merchant)
    assert signature_ok(
        secret, f"t={query['t']},v1={query['v1']}", f"payment_id={payment_id}&status={status}".encode()
    )


def summaries() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(template="checkout_summary"))


# --- the confirmation page -------------------------------------------------------------------------


def test_confirmation_page_in_french_says_what_the_original_page_says(shop):
    created = shop.pay(amount=390)
    answer = browser().get(f"/pay/{created['id']}/")
    assert answer.status_code == 200
    text = page_text(answer)
    assert "paiement sur facture internet Lagon" in text
    assert f"produit{NBSP}: PANIER EDITEUR édité par EDITEUR" in text
    assert f"prix{NBSP}: 3,90{NBSP}€ TTC" in text
    assert "Ce montant sera ajouté à votre facture internet Lagon" in text
    assert "Les conditions de paiement internet Lagon que vous acceptez en confirmant votre achat" in text
    assert "Annuler la commande" in text
    assert "confirmer votre achat" in text
    body = answer.content.decode()
    assert body.count('name="csrfmiddlewaretoken"') == 3  # language switch, cancel, confirm
    assert f'action="/pay/{created["id"]}/confirm/"' in body
    assert f'action="/pay/{created["id"]}/cancel/"' in body
    assert 'href="/pay/terms/"' in body
    # nothing happened by looking
    assert payment(created["id"]).status == "pending"
    assert charges() == []


def test_confirmation_page_in_english(shop):
    created = shop.pay(amount=1250)
    text = page_text(browser(language="en").get(f"/pay/{created['id']}/"))
    assert "payment on the Lagon internet bill" in text
    assert "product: PANIER EDITEUR published by EDITEUR" in text
    assert "price: €12.50 incl. VAT" in text
    assert "This amount will be added to your Lagon internet bill" in text
    assert "Cancel the order" in text
    assert "confirm your purchase" in text


def test_the_checkout_opens_in_the_language_the_merchant_passed_and_keeps_it(shop):
    # given a payment the merchant created for a customer of its English pages
    created = shop.pay(language="en")
    assert created["language"] == "en"
    client = browser()
    # when the customer arrives, without having chosen a language on Guichet's pages
    answer = client.get(f"/pay/{created['id']}/")
    # then the checkout speaks English, and so do the pages that follow (the cookie the switch sets)
    assert answer["Content-Language"] == "en"
    assert "confirm your purchase" in page_text(answer)
    assert client.cookies["django_language"].value == "en"
    assert "sign in to your customer space" in page_text(client.get("/account/signin/"))


def test_a_language_the_customer_chose_wins_over_the_merchants(shop):
    created = shop.pay(language="en")
    client = browser()
    client.cookies["django_language"] = "fr"
    answer = client.get(f"/pay/{created['id']}/")
    assert answer["Content-Language"] == "fr"
    assert "confirmer votre achat" in page_text(answer)
    assert "Set-Cookie" not in answer.headers


def test_without_a_language_the_checkout_is_french_and_sets_no_cookie(shop):
    created = shop.pay()
    assert created["language"] is None
    answer = browser().get(f"/pay/{created['id']}/")
    assert answer["Content-Language"] == "fr"
    assert "Set-Cookie" not in answer.headers


def test_checkout_pages_refuse_framing_and_caching(shop):
    created = shop.pay()
    for url in (f"/pay/{created['id']}/", "/pay/pay_unknown/", "/pay/terms/"):
        answer = browser().get(url)
        assert answer["X-Frame-Options"] == "DENY", url
        assert "frame-ancestors 'none'" in answer["Content-Security-Policy"], url
        assert "no-store" in answer["Cache-Control"], url


def test_merchant_logo_is_shown_and_allowed_by_the_page_policy(merchant_site, db):
    shop = open_shop(merchant_site, logo_url="https://cdn.editeur.example/logo.png")
    created = shop.pay()
    answer = browser().get(f"/pay/{created['id']}/")
    assert 'src="https://cdn.editeur.example/logo.png" alt="EDITEUR"' in answer.content.decode()
    policy = answer["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.editeur.example;" in policy
    assert "frame-ancestors 'none'" in policy


def test_unknown_payment_is_a_404_page(db):
    answer = browser().get("/pay/pay_doesnotexist/")
    assert answer.status_code == 404
    assert "Ce paiement n'existe pas." in page_text(answer)
    answer = browser().post("/pay/pay_doesnotexist/confirm/")
    assert answer.status_code == 404
    answer = browser().post("/pay/pay_doesnotexist/cancel/")
    assert answer.status_code == 404


def test_confirm_and_cancel_take_only_posts(shop):
    created = shop.pay()
    assert browser().get(f"/pay/{created['id']}/confirm/").status_code == 405
    assert browser().get(f"/pay/{created['id']}/cancel/").status_code == 405
    assert browser().post(f"/pay/{created['id']}/").status_code == 405
    assert payment(created["id"]).status == "pending"


def test_forms_without_csrf_token_change_nothing(shop):
    multi_bal()
    created = shop.pay()
    client = browser(csrf=True)
    for action in ("confirm", "cancel"):
        answer = client.post(f"/pay/{created['id']}/{action}/")
        assert answer.status_code == 403
    assert payment(created["id"]).status == "pending"
    assert charges() == []


# --- signed in, or signing in --------------------------------------------------------------------


def test_signed_in_customer_pays_without_signing_in_again(shop):
    # given a multi-BAL subscriber already signed in ("rester identifié")
    contract = multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay(amount=390)
    # when they confirm
    answer = client.post(f"/pay/{created['id']}/confirm/")
    # then the charge is on the contract's bill, the payment succeeded, and the end page shows
    assert answer.status_code == 302
    assert answer["Location"] == f"/pay/{created['id']}/"
    assert charges(contract) == [(created["id"], 390)]
    charge = BillCharge.objects.get()
    assert (charge.mailbox, charge.merchant_name, charge.product) == (
        mailbox("paul@lagon.example"),
        "EDITEUR",
        "PANIER EDITEUR",
    )
    done = payment(created["id"])
    assert (done.status, done.payer_email) == ("succeeded", "paul@lagon.example")
    end = client.get(answer["Location"])
    text, markup = page_text(end), end.content.decode()
    assert f"un mail récapitulatif sera envoyé à l'adresse{NBSP}: paul@lagon.example ok" in text
    assert "redirection sur le service dans quelques secondes" in text
    # the "ok" link goes back to the merchant, followed after 5 seconds by the page's script (no meta
    # refresh, which assistive technologies cannot stop)
    link = re.search(
        r'<a href="([^"]+)" class="button primary" id="return-link" data-return-after="5">', markup
    )
    assert link is not None
    back = html.unescape(link.group(1))
    signed_return(shop, back, "/shop/thanks", "succeeded", created["id"])
    assert '<script src="/static/checkout/return.js" defer></script>' in markup
    assert 'http-equiv="refresh"' not in markup
    # and one summary email, in French, to that mailbox
    [summary] = summaries()
    content = outbox_content(summary)
    assert (summary.recipient, summary.language) == ("paul@lagon.example", "fr")
    assert "récapitulatif" in content.subject
    assert f"prix{NBSP}: 3,90{NBSP}€ TTC" in content.body
    assert "PANIER EDITEUR" in content.body
    assert created["id"] in content.body


@pytest.mark.parametrize(
    ("language", "line"), [("fr", f"  date{NBSP}: %d/%m/%Y %H:%M"), ("en", "  date: %Y-%m-%d %H:%M")]
)
def test_the_summary_email_dates_the_purchase_in_the_billing_time_zone(shop, settings, language, line):
    # given a billing time zone whose date differs from UTC's at this hour (UTC+14, or UTC-11)
    zone = "Pacific/Kiritimati" if guichet_clock.now().hour >= 10 else "Pacific/Pago_Pago"
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        subscribers=dataclasses.replace(settings.GUICHET.subscribers, billing_time_zone=zone),
    )
    multi_bal()
    client = browser(language=language)
    sign_in(client, "paul@lagon.example")
    created = shop.pay(amount=390)
    # when they confirm
    client.post(f"/pay/{created['id']}/confirm/")
    # then the summary gives the date and time of the charge in that zone, and names it
    charged_at = BillCharge.objects.get().charged_at
    local = charged_at.astimezone(ZoneInfo(zone))
    assert local.date() != charged_at.astimezone(dt.UTC).date()
    [summary] = summaries()
    body = outbox_content(summary).body.splitlines()
    assert f"{local.strftime(line)} ({zone})" in body
    assert "(UTC)" not in outbox_content(summary).body


def test_merchant_texts_reach_the_page_and_the_summary_email_as_one_line_each(shop):
    # given a product name with a line separator, a C1 control and a bidi override (the API takes them)
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay(amount=390, product="Jeu & co\u2028Votre mot de passe Lagon\x85: \u202e1234")
    # when the customer sees the confirmation page and confirms
    page = client.get(f"/pay/{created['id']}/").content.decode()
    client.post(f"/pay/{created['id']}/confirm/")
    # then the page and the email show the product on one line, nothing hidden in it
    shown = "Jeu & co Votre mot de passe Lagon : 1234"
    assert f'<span class="product" id="product">{html.escape(shown)}</span>' in page
    [summary] = summaries()
    body = outbox_content(summary).body
    [line] = [line for line in body.splitlines() if "Votre mot de passe" in line]
    assert line == f"  produit{NBSP}: {shown}"  # plain text: "&", not "&amp;"
    assert not any(char in body for char in "\u2028\x85\u202e")


def test_confirming_again_never_charges_again(shop):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay(amount=390)
    for _ in range(3):
        answer = client.post(f"/pay/{created['id']}/confirm/")
        assert answer["Location"] == f"/pay/{created['id']}/"
    assert charges() == [(created["id"], 390)]
    assert len(summaries()) == 1
    assert "paul@lagon.example" in page_text(client.get(f"/pay/{created['id']}/"))


def test_someone_else_opening_a_paid_checkout_sees_no_address(shop):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay()
    client.post(f"/pay/{created['id']}/confirm/")
    answer = browser().get(f"/pay/{created['id']}/")
    text = page_text(answer)
    assert "Ce paiement a déjà été effectué." in text
    assert "paul@lagon.example" not in text
    assert "Retour vers EDITEUR" in text


def test_customer_not_signed_in_signs_in_then_the_confirmation_goes_on(shop):
    # given a rolled-out contract on the customer's line, nobody signed in
    contract = multi_bal(line_ip=LINE)
    client = browser()
    created = shop.pay()
    # when they confirm: the sign-in page, coming back to the checkout
    answer = client.post(f"/pay/{created['id']}/confirm/")
    resume = f"/pay/{created['id']}/resume/"
    assert answer["Location"] == f"/account/signin/?next=%2Fpay%2F{created['id']}%2Fresume%2F"
    assert charges() == []
    # when they sign in
    sign_in(client, "lea@lagon.example", next_url=resume)
    answer = client.get(resume)
    # then the confirmation given before is carried out: charged once, the end page
    assert answer["Location"] == f"/pay/{created['id']}/"
    assert charges(contract) == [(created["id"], 390)]
    assert payment(created["id"]).payer_email == "lea@lagon.example"
    assert "lea@lagon.example" in page_text(client.get(answer["Location"]))
    # and resuming again changes nothing
    client.get(resume)
    assert len(charges()) == 1


def test_a_link_to_resume_does_not_make_a_signed_in_customer_pay(shop):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay()
    # the confirmation was never given in this browser: resuming only shows the page
    answer = client.get(f"/pay/{created['id']}/resume/")
    assert answer["Location"] == f"/pay/{created['id']}/"
    assert charges() == []
    assert payment(created["id"]).status == "pending"


def test_an_unknown_line_leads_to_the_sign_in(shop):
    created = shop.pay()
    answer = browser().post(f"/pay/{created['id']}/confirm/")
    assert answer["Location"].startswith("/account/signin/?next=")
    assert payment(created["id"]).status == "pending"


def test_legacy_contract_confirms_with_the_recognised_line(shop, settings):
    # given a contract not yet on the individual sign-in, whose line the customer connects from
    subscribers_settings(settings, rollout_percent=0)
    contract = multi_bal(line_ip=LINE)
    created = shop.pay(amount=420)
    client = browser()
    # when the customer confirms, without signing in
    answer = client.post(f"/pay/{created['id']}/confirm/")
    # then the line's contract pays; no mailbox on the charge; the summary goes to its first mailbox
    assert answer["Location"] == f"/pay/{created['id']}/"
    assert charges(contract) == [(created["id"], 420)]
    assert BillCharge.objects.get().mailbox is None
    assert [m.recipient for m in summaries()] == ["paul@lagon.example"]
    assert "paul@lagon.example" in page_text(client.get(answer["Location"]))


def test_legacy_contract_without_a_known_address_pays_without_summary(shop, settings):
    subscribers_settings(settings, rollout_percent=0)
    contract = mono_bal(line_ip=LINE)
    created = shop.pay()
    client = browser()
    client.post(f"/pay/{created['id']}/confirm/")
    assert charges(contract) == [(created["id"], 390)]
    assert summaries() == []
    text = page_text(client.get(f"/pay/{created['id']}/"))
    assert "Votre achat a été ajouté à votre facture internet." in text
    assert "récapitulatif" not in text


# --- refusals ------------------------------------------------------------------------------------


def refused(shop, client: Client, created: dict, reason: str, words: str) -> None:
    """The refusal page says why and returns to the merchant, signed; nothing charged or sent."""
    done = payment(created["id"])
    assert (done.status, done.refusal_reason) == ("refused", reason)
    answer = client.get(f"/pay/{created['id']}/")
    text = page_text(answer)
    assert "Paiement refusé" in text
    assert words in text
    assert "Rien n'a été ajouté à votre facture." in text
    link = re.search(r'<a href="([^"]+)" class="button primary" id="return-link">', answer.content.decode())
    assert link is not None
    signed_return(shop, html.unescape(link.group(1)), "/shop/basket", "refused", created["id"])
    assert charges() == []
    assert summaries() == []
    assert AuditEvent.objects.filter(event="checkout:payment:refused", subject=created["id"]).count() == 1


def test_payment_above_the_payment_cap_is_refused_before_any_sign_in(shop):
    multi_bal(line_ip=LINE)
    created = shop.pay(amount=5001)
    client = browser()
    answer = client.post(f"/pay/{created['id']}/confirm/")
    assert answer["Location"] == f"/pay/{created['id']}/"
    refused(shop, client, created, "payment_cap_exceeded", f"Cet achat dépasse 50,00{NBSP}€")


def test_payment_at_the_payment_cap_is_charged(shop):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay(amount=5000)
    client.post(f"/pay/{created['id']}/confirm/")
    assert charges() == [(created["id"], 5000)]


def test_monthly_cap_counts_the_contract_s_month_and_refuses_beyond(shop, settings):
    contract = multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    # 280 EUR already on this month's bill, by both mailboxes of the contract
    for n, login in enumerate(["paul@lagon.example", "lea@lagon.example"] * 3 + ["paul@lagon.example"]):
        contract_charge(
            contract=contract,
            mailbox=mailbox(login),
            payment_public_id=f"pay_earlier{n}",
            merchant_name="EDITEUR",
            product="earlier",
            amount=4000,
        )
    before = charges()
    # 30 EUR more would be 310: refused
    over = shop.pay(amount=3000)
    client.post(f"/pay/{over['id']}/confirm/")
    assert payment(over["id"]).refusal_reason == "monthly_cap_exceeded"
    assert charges() == before
    text = page_text(client.get(f"/pay/{over['id']}/"))
    assert f"dépasseraient 300,00{NBSP}€, la limite mensuelle" in text
    # exactly 20 EUR more reaches 300: charged
    exact = shop.pay(amount=2000)
    client.post(f"/pay/{exact['id']}/confirm/")
    assert charges()[-1] == (exact["id"], 2000)


def test_monthly_cap_ignores_last_month(shop):
    contract = multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    last_month = guichet_clock.now().replace(day=1) - dt.timedelta(days=3)  # surely last month in Paris
    contract_charge(
        contract=contract,
        mailbox=None,
        payment_public_id="pay_lastmonth",
        merchant_name="EDITEUR",
        product="old",
        amount=29000,
        at=last_month,
    )
    first = shop.pay(amount=5000)
    client.post(f"/pay/{first['id']}/confirm/")
    assert payment(first["id"]).status == "succeeded"


def test_configured_caps_apply(shop, settings):
    checkout_settings(settings, payment_cap=1000, monthly_cap=1500)
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    statuses = []
    for amount in (1001, 1000, 600, 500):
        created = shop.pay(amount=amount)
        client.post(f"/pay/{created['id']}/confirm/")
        done = payment(created["id"])
        statuses.append((amount, done.status, done.refusal_reason))
    assert statuses == [
        (1001, "refused", "payment_cap_exceeded"),
        (1000, "succeeded", ""),
        (600, "refused", "monthly_cap_exceeded"),
        (500, "succeeded", ""),
    ]


def test_pay_on_bill_blocked_by_the_customer_is_refused(shop):
    contract = multi_bal()
    Contract.objects.filter(pk=contract.pk).update(pay_on_bill_blocked=True)
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay()
    client.post(f"/pay/{created['id']}/confirm/")
    refused(shop, client, created, "pay_on_bill_blocked", "Le paiement sur facture internet est bloqué")


def test_mailbox_of_a_contract_without_internet_line_is_not_a_subscriber(shop):
    # the operator's file gives this contract no line: a mail-only customer
    import_subscribers("C-MAIL,marie@lagon.example,initial-Passw0rd,true,Marie,")
    client = browser()
    sign_in(client, "marie@lagon.example")
    created = shop.pay()
    client.post(f"/pay/{created['id']}/confirm/")
    refused(shop, client, created, "not_a_subscriber", "est réservé aux abonnés internet Lagon")


def test_payment_in_another_currency_is_refused(merchant_site, settings, db):
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET,
        merchants=dataclasses.replace(settings.GUICHET.merchants, currencies=("EUR", "USD")),
    )
    shop = open_shop(merchant_site)
    created = shop.pay(currency="USD")
    client = browser()
    client.post(f"/pay/{created['id']}/confirm/")
    refused(shop, client, created, "currency_not_supported", "uniquement en euros")


def test_expired_payment_shows_its_page_and_is_never_charged(shop, clock, settings):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay()
    clock.advance(seconds=settings.GUICHET.merchants.payment_ttl_s + 1)
    text = page_text(client.get(f"/pay/{created['id']}/"))
    assert "Ce paiement a expiré" in text
    client.post(f"/pay/{created['id']}/confirm/")
    assert payment(created["id"]).status == "expired"
    assert charges() == []
    assert summaries() == []


def test_cancel_returns_to_the_cancel_url_signed_and_charges_nothing(shop):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay()
    answer = client.post(f"/pay/{created['id']}/cancel/")
    assert answer.status_code == 302
    signed_return(shop, answer["Location"], "/shop/basket", "cancelled", created["id"])
    assert payment(created["id"]).status == "cancelled"
    # confirming afterwards charges nothing and shows the cancelled page
    client.post(f"/pay/{created['id']}/confirm/")
    assert charges() == []
    assert "Cette commande a été annulée." in page_text(client.get(f"/pay/{created['id']}/"))


def test_cancel_after_payment_keeps_the_payment(shop):
    multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay()
    client.post(f"/pay/{created['id']}/confirm/")
    answer = client.post(f"/pay/{created['id']}/cancel/")
    assert answer["Location"] == f"/pay/{created['id']}/"
    assert payment(created["id"]).status == "succeeded"
    assert len(charges()) == 1


# --- refunds credit the bill ---------------------------------------------------------------------


def test_refund_through_the_api_is_credited_on_the_bill(shop):
    contract = multi_bal()
    client = browser()
    sign_in(client, "paul@lagon.example")
    created = shop.pay(amount=4000)
    client.post(f"/pay/{created['id']}/confirm/")
    answer = Client().post(
        f"/api/v1/payments/{created['id']}/refunds",
        data={"amount": 1500},
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop.api_key}"},
    )
    assert answer.status_code == 201, answer.content
    charge = BillCharge.objects.get(payment_public_id=created["id"])
    assert (charge.amount, charge.refunded_amount) == (4000, 1500)
    assert contract_month_total(contract=contract, at=guichet_clock.now()) == 2500


def test_posting_a_confirmation_for_a_payment_paid_elsewhere_does_not_reveal_the_address(shop):
    multi_bal()
    payer = browser()
    sign_in(payer, "paul@lagon.example")
    created = shop.pay()
    payer.post(f"/pay/{created['id']}/confirm/")
    # someone else, signed in with another mailbox, posts a confirmation of the same payment
    other = browser()
    sign_in(other, "lea@lagon.example")
    answer = other.post(f"/pay/{created['id']}/confirm/")
    assert answer["Location"] == f"/pay/{created['id']}/"
    text = page_text(other.get(answer["Location"]))
    assert "Ce paiement a déjà été effectué." in text
    assert "paul@lagon.example" not in text
    assert charges() == [(created["id"], 390)]


def test_confirmation_page_lets_the_cancel_form_return_to_the_merchant_only(shop):
    created = shop.pay()
    policy = browser().get(f"/pay/{created['id']}/")["Content-Security-Policy"]
    assert f"form-action 'self' http://{shop.site.host};" in policy
    assert "frame-ancestors 'none'" in policy


def test_terms_link_goes_to_the_operator_s_terms_when_configured(shop, settings):
    created = shop.pay()
    assert 'href="/pay/terms/"' in browser().get(f"/pay/{created['id']}/").content.decode()
    subscribers_settings(settings, operator_terms_url="https://operateur.example/conditions")
    body = browser().get(f"/pay/{created['id']}/").content.decode()
    assert 'href="https://operateur.example/conditions" id="terms-link"' in body


def test_built_in_terms_state_the_caps(db):
    text = page_text(browser().get("/pay/terms/"))
    assert f"Un paiement ne peut pas dépasser 50,00{NBSP}€" in text
    assert f"300,00{NBSP}€ par mois de facturation" in text


def test_the_paying_mailbox_sees_the_end_page_in_any_of_its_sessions(shop):
    # e.g. a double click: the answer shown is the second request's, which did not charge
    multi_bal()
    first = browser()
    sign_in(first, "paul@lagon.example")
    created = shop.pay()
    first.post(f"/pay/{created['id']}/confirm/")
    second = browser()
    sign_in(second, "paul@lagon.example")
    second.post(f"/pay/{created['id']}/confirm/")
    text = page_text(second.get(f"/pay/{created['id']}/"))
    assert f"un mail récapitulatif sera envoyé à l'adresse{NBSP}: paul@lagon.example" in text
    assert charges() == [(created["id"], 390)]


def test_the_month_is_the_calendar_month_in_the_billing_time_zone(shop, clock):
    # given 290 EUR on the January bill of a contract; it is 31 January, 23:30 in Paris (22:30 UTC)
    year = guichet_clock.now().year + 1
    clock.advance(
        seconds=(dt.datetime(year, 1, 31, 22, 30, tzinfo=dt.UTC) - guichet_clock.now()).total_seconds()
    )
    contract = multi_bal()
    contract_charge(
        contract=contract,
        mailbox=None,
        payment_public_id="pay_january",
        merchant_name="EDITEUR",
        product="earlier",
        amount=29000,
        at=dt.datetime(year, 1, 2, 12, 0, tzinfo=dt.UTC),
    )
    client = browser()
    sign_in(client, "paul@lagon.example")
    # when 20 EUR is bought at 23:30 on 31 January: January's bill would reach 310 EUR, refused
    late = shop.pay(amount=2000)
    client.post(f"/pay/{late['id']}/confirm/")
    assert payment(late["id"]).refusal_reason == "monthly_cap_exceeded"
    # when the same is bought one hour later, 00:30 on 1 February in Paris: February's bill, charged
    clock.advance(seconds=3600)
    sign_in(client, "paul@lagon.example")
    early = shop.pay(amount=2000)
    client.post(f"/pay/{early['id']}/confirm/")
    assert payment(early["id"]).status == "succeeded"
    assert BillCharge.objects.get(payment_public_id=early["id"]).period == f"{year}-02"
