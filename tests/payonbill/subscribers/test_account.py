"""The customer space (/account/), the bill (billing period, totals, refunds), the roll-out of the
individual sign-in and the legacy line path, and the change of password."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.test import Client

from guichet.audit.models import AuditEvent
from guichet.core import clock as domain_clock
from guichet.core.views import contrast
from guichet.payonbill.subscribers.billing import (
    BillError,
    billing_period,
    charge_refund,
    contract_charge,
    contract_lock,
    contract_month_total,
)
from guichet.payonbill.subscribers.models import BillCharge, Contract, Mailbox
from guichet.payonbill.subscribers.rollout import contract_individual_signin, line_contract, rollout_bucket
from guichet.payonbill.subscribers.sessions import subscribers_signin_url
from tests.payonbill.subscribers.factories import make_contract, multi_bal
from tests.payonbill.subscribers.helpers import (
    FAILED_FR,
    deliver_all,
    error,
    field_errors,
    fresh_browser,
    post_signin,
    shown_messages,
    signed_in_client,
    text,
)

pytestmark = pytest.mark.django_db

MARIE = "marie@lagon.example"
PASSWORD = "Lagon-2026"
UTC = dt.UTC


def subscriber_settings(settings, **changes) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, subscribers=dataclasses.replace(settings.GUICHET.subscribers, **changes)
    )


@pytest.fixture
def contract() -> Contract:
    return multi_bal(MARIE, "paul@lagon.example", password=PASSWORD)


def charge(contract: Contract, payment: str, amount: int, at: dt.datetime, **extra) -> BillCharge:
    return contract_charge(
        contract=contract,
        mailbox=extra.pop("mailbox", None),
        payment_public_id=payment,
        merchant_name=extra.pop("merchant", "EDITEUR"),
        product=extra.pop("product", "PANIER EDITEUR"),
        amount=amount,
        at=at,
    )


# --- the bill ---------------------------------------------------------------------------------


def test_the_billing_period_is_the_calendar_month_in_the_billing_time_zone(settings):
    # 23:30 UTC on 31 October is already 1 November in Paris (UTC+1 in winter)
    assert billing_period(dt.datetime(2026, 10, 31, 22, 59, tzinfo=UTC)) == "2026-10"
    assert billing_period(dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC)) == "2026-11"
    subscriber_settings(settings, billing_time_zone="Pacific/Noumea")
    assert billing_period(dt.datetime(2026, 10, 31, 12, 59, tzinfo=UTC)) == "2026-10"
    assert billing_period(dt.datetime(2026, 10, 31, 13, 0, tzinfo=UTC)) == "2026-11"


def test_the_month_total_counts_the_month_of_the_bill_net_of_refunds(contract):
    # given
    other = multi_bal("jean@lagon.example")
    charge(contract, "pay_oct", 4000, dt.datetime(2026, 10, 31, 22, 0, tzinfo=UTC))
    charge(contract, "pay_nov1", 390, dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    charge(contract, "pay_nov2", 5000, dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    charge(other, "pay_other", 1000, dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    # when
    charge_refund(payment_public_id="pay_nov2", amount=1200)
    # then
    november = dt.datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    assert contract_month_total(contract=contract, at=november) == 390 + 5000 - 1200
    assert contract_month_total(contract=contract, at=dt.datetime(2026, 10, 15, tzinfo=UTC)) == 4000
    assert contract_month_total(contract=contract, at=dt.datetime(2026, 12, 1, tzinfo=UTC)) == 0
    assert contract_month_total(contract=other, at=november) == 1000


def test_a_payment_is_charged_at_most_once(contract):
    at = domain_clock.now()
    first = charge(contract, "pay_1", 390, at)
    with pytest.raises(BillError) as raised:
        charge(contract, "pay_1", 390, at)
    assert raised.value.code == "exists"
    assert list(BillCharge.objects.values_list("pk", flat=True)) == [first.pk]


@pytest.mark.parametrize("amount", [0, -1])
def test_a_charge_must_be_positive(contract, amount):
    with pytest.raises(BillError) as raised:
        charge(contract, "pay_1", amount, domain_clock.now())
    assert raised.value.code == "amount"
    assert BillCharge.objects.count() == 0


def test_refunds_never_exceed_the_amount_charged(contract):
    charge(contract, "pay_1", 390, domain_clock.now())
    assert charge_refund(payment_public_id="pay_1", amount=200).refunded_amount == 200
    with pytest.raises(BillError) as too_much:
        charge_refund(payment_public_id="pay_1", amount=191)
    assert too_much.value.code == "too_much"
    assert charge_refund(payment_public_id="pay_1", amount=190).refunded_amount == 390
    with pytest.raises(BillError) as unknown:
        charge_refund(payment_public_id="pay_unknown", amount=1)
    assert unknown.value.code == "unknown"
    assert BillCharge.objects.get().refunded_amount == 390
    assert AuditEvent.objects.filter(event="subscribers:bill:refunded").count() == 2


def test_lock_contract_returns_the_row(contract):
    assert contract_lock(contract_id=contract.pk) == contract


# --- roll-out and the line ---------------------------------------------------------------------


def test_rollout_buckets_are_stable_and_spread():
    buckets = [rollout_bucket(f"LG-{n:05d}") for n in range(2000)]
    assert buckets == [rollout_bucket(f"LG-{n:05d}") for n in range(2000)]
    assert min(buckets) == 0
    assert max(buckets) == 99
    assert 150 < sum(1 for b in buckets if b < 10) < 250  # about 10 %


def test_rollout_share_start_date_and_list(settings, clock):
    # given 400 contracts
    contracts = [Contract(number=f"LG-{n:05d}") for n in range(400)]

    def share() -> int:
        return sum(contract_individual_signin(contract=c) for c in contracts)

    # everybody by default
    assert share() == 400
    # nobody at 0 %, except the listed pilots
    subscriber_settings(settings, rollout_percent=0, rollout_contracts=("LG-00007", "LG-00011"))
    assert [c.number for c in contracts if contract_individual_signin(contract=c)] == ["LG-00007", "LG-00011"]
    # a quarter at 25 %, always the same ones, and those of 25 % are still in at 50 %
    subscriber_settings(settings, rollout_percent=25, rollout_contracts=())
    quarter = {c.number for c in contracts if contract_individual_signin(contract=c)}
    assert 70 < len(quarter) < 130
    subscriber_settings(settings, rollout_percent=50)
    half = {c.number for c in contracts if contract_individual_signin(contract=c)}
    assert quarter < half
    # before the start date only the pilots have it
    start = domain_clock.now() + dt.timedelta(days=1)
    subscriber_settings(settings, rollout_start=start, rollout_contracts=("LG-00003",))
    assert [c.number for c in contracts if contract_individual_signin(contract=c)] == ["LG-00003"]
    clock.advance(seconds=86400)
    assert share() == len(half | {"LG-00003"})


def test_the_line_is_recognised_from_the_client_address():
    # given
    make_contract(number="LG-1", line_ip="203.0.113.10")
    make_contract(number="LG-2", line_ip="2001:db8::1")

    # then
    def number(ip: str) -> str | None:
        contract = line_contract(ip=ip)
        return contract.number if contract else None

    assert number("203.0.113.10") == "LG-1"
    assert number("2001:0db8:0000::0001") == "LG-2"
    assert number("::ffff:203.0.113.10") == "LG-1"
    assert number("203.0.113.11") is None
    assert number("") is None
    assert line_contract(ip="not an address") is None


def test_the_signin_url_keeps_only_local_paths():
    assert subscribers_signin_url("/pay/pay_1/") == "/account/signin/?next=%2Fpay%2Fpay_1%2F"
    assert subscribers_signin_url("https://evil.example/") == "/account/signin/?next=%2Faccount%2F"


# --- the customer space ------------------------------------------------------------------------


def test_the_customer_space_needs_a_signed_in_subscriber():
    response = Client().get("/account/")
    assert (response.status_code, response["Location"]) == (302, "/account/signin/?next=%2Faccount%2F")
    response = Client().get("/account/bills/2026-10/")
    assert response["Location"] == "/account/signin/?next=%2Faccount%2Fbills%2F2026-10%2F"


def test_the_customer_space_shows_the_current_bill_and_past_ones(contract, clock):
    # given purchases this month (by two mailboxes, one refunded in part) and two months ago
    now = domain_clock.now()
    marie, paul = contract.mailboxes.order_by("login")
    charge(contract, "pay_1", 390, now, mailbox=marie)
    charge(contract, "pay_2", 1250, now, mailbox=paul, merchant="Kiosque", product="Journal")
    charge_refund(payment_public_id="pay_2", amount=250)
    old = now - dt.timedelta(days=62)
    charge(contract, "pay_0", 999, old, product="Ancien achat")
    other = multi_bal("jean@lagon.example")
    charge(other, "pay_x", 777, now, product="Pas à Marie")
    client = signed_in_client(MARIE, PASSWORD)
    # when
    response = client.get("/account/")
    page = text(response)
    # then
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert '<dd id="account-login">marie@lagon.example</dd>' in page
    assert "Votre facture en cours\u00a0:" in page
    assert page.count('<tr class="charge">') == 2
    assert "PANIER EDITEUR" in page
    assert "Journal" in page
    assert "12,50\u00a0€" in page
    assert "remboursé\u00a0: 2,50\u00a0€" in page
    assert '<strong id="bill-total">13,90\u00a0€</strong>' in page
    assert "Pas à Marie" not in page
    assert "Ancien achat" not in page
    past = billing_period(old)
    assert f'href="/account/bills/{past}/"' in page
    # and the past bill has its own page
    old_page = text(client.get(f"/account/bills/{past}/"))
    assert "Ancien achat" in old_page
    assert '<strong id="bill-total">9,99\u00a0€</strong>' in old_page
    assert client.get("/account/bills/2026-13/").status_code == 404


def test_the_bill_dates_each_charge_in_the_billing_time_zone(contract, settings):
    # given a purchase at 23:30 UTC on 31 October: 1 November in Paris, so on November's bill
    charge(contract, "pay_1", 390, dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    client = signed_in_client(MARIE, PASSWORD)
    # then November's bill dates it 1 November, not 31 October
    page = text(client.get("/account/bills/2026-11/"))
    assert '<td class="charged-on">01/11/2026</td>' in page
    # and in Nouméa (UTC+11) too
    subscriber_settings(settings, billing_time_zone="Pacific/Noumea")
    assert '<td class="charged-on">01/11/2026</td>' in text(client.get("/account/bills/2026-11/"))


def test_the_customer_space_in_english(contract):
    charge(contract, "pay_1", 390, domain_clock.now())
    client = signed_in_client(MARIE, PASSWORD)
    client.cookies["django_language"] = "en"
    page = text(client.get("/account/"))
    assert "<h1>My customer space</h1>" in page
    assert '<strong id="bill-total">€3.90</strong>' in page
    assert "Block pay-on-bill" in page


def test_block_and_allow_pay_on_bill(contract):
    # given
    client = signed_in_client(MARIE, PASSWORD)
    # when
    blocked = client.post("/account/pay-on-bill/", {"action": "block"})
    # then
    assert (blocked.status_code, blocked["Location"]) == (302, "/account/")
    page = client.get("/account/")
    assert shown_messages(page) == ["Le paiement sur facture est désormais bloqué."]
    assert (
        "Le paiement sur facture est bloqué\u00a0: aucun achat ne peut être ajouté à votre facture."
        in text(page)
    )
    assert Contract.objects.get(pk=contract.pk).pay_on_bill_blocked is True
    # when allowed again
    client.post("/account/pay-on-bill/", {"action": "allow"})
    assert Contract.objects.get(pk=contract.pk).pay_on_bill_blocked is False
    assert list(
        AuditEvent.objects.filter(event__startswith="subscribers:payonbill:").values_list("event", flat=True)
    ) == ["subscribers:payonbill:allowed", "subscribers:payonbill:blocked"]
    # a bad action or a GET changes nothing
    assert client.post("/account/pay-on-bill/", {"action": "maybe"}).status_code == 400
    assert client.get("/account/pay-on-bill/").status_code == 405
    assert Contract.objects.get(pk=contract.pk).pay_on_bill_blocked is False


def test_change_password_ends_the_other_sessions_and_keeps_this_one(contract, outbound):
    # given Marie on two browsers, one "rester identifié"
    smtp, _ = outbound
    laptop = signed_in_client(MARIE, PASSWORD, stay=True)
    phone = signed_in_client(MARIE, PASSWORD)
    before = phone.cookies["guichet_session"].value
    # when she changes it on the phone
    response = phone.post(
        "/account/password/",
        {"current": PASSWORD, "password": "Nouveau-2027", "confirmation": "Nouveau-2027"},
    )
    # then the phone stays signed in, under a new session id; the laptop is signed out
    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert phone.cookies["guichet_session"].value != before
    assert shown_messages(phone.get("/account/")) == [
        "Votre mot de passe a été modifié. Vos autres sessions ont pris fin."
    ]
    assert laptop.get("/account/").status_code == 302
    assert fresh_browser(laptop).get("/account/").status_code == 302
    assert error(post_signin(Client(), MARIE, PASSWORD)) == FAILED_FR
    assert post_signin(Client(), MARIE, "Nouveau-2027").status_code == 302
    deliver_all()
    [mail] = smtp.to(MARIE)
    assert mail.subject == "Lagon - votre mot de passe a été modifié"
    assert "Nouveau-2027" not in mail.body


@pytest.mark.parametrize(
    ("current", "password", "confirmation", "errors"),
    [
        ("Wrong-2026", "Nouveau-2027", "Nouveau-2027", ["Votre mot de passe actuel n'est pas correct."]),
        (PASSWORD, "court", "court", ["Le mot de passe doit comporter de 8 à 128 caractères."]),
        (
            PASSWORD,
            "Nouveau-2027",
            "Nouveau-2028",
            ["Les deux mots de passe sont différents. Veuillez saisir deux fois le même mot de passe."],
        ),
        (
            PASSWORD,
            PASSWORD,
            PASSWORD,
            ["Veuillez choisir un mot de passe différent de votre mot de passe actuel."],
        ),
    ],
    ids=["wrong-current", "short", "mismatch", "same"],
)
def test_a_refused_password_change_changes_nothing(contract, current, password, confirmation, errors):
    client = signed_in_client(MARIE, PASSWORD)
    other = signed_in_client(MARIE, PASSWORD)
    epoch = Mailbox.objects.get(login=MARIE).session_epoch
    response = client.post(
        "/account/password/", {"current": current, "password": password, "confirmation": confirmation}
    )
    assert response.status_code == 400
    assert field_errors(response) == errors
    assert Mailbox.objects.get(login=MARIE).session_epoch == epoch
    assert other.get("/account/").status_code == 200
    assert post_signin(Client(), MARIE, PASSWORD).status_code == 302


def test_wrong_current_passwords_count_towards_the_block(contract):
    client = signed_in_client(MARIE, PASSWORD)
    for _ in range(5):
        client.post(
            "/account/password/",
            {"current": "Wrong", "password": "Nouveau-2027", "confirmation": "Nouveau-2027"},
        )
    response = client.post(
        "/account/password/",
        {"current": PASSWORD, "password": "Nouveau-2027", "confirmation": "Nouveau-2027"},
    )
    assert response.status_code == 429
    assert post_signin(Client(), MARIE, PASSWORD).status_code == 429


def test_operator_css_carries_the_configured_colour(settings):
    subscriber_settings(settings, operator_colour="#123abc")
    response = Client().get("/account/operator.css")
    assert response["Content-Type"] == "text/css"
    assert response.content.decode() == (
        ":root { --brand: #123abc; --operator: #123abc; --on-brand: #ffffff; --brand-text: #123abc; }\n"
        ".lang.current, .primary, .icon { color: var(--on-brand); }\n"
        "button.link, .portal-links a { color: var(--brand-text); }\n"
    )


def test_a_light_operator_colour_keeps_the_text_readable(settings):
    """Yellow: dark text on the buttons in it, a darker yellow for text in it (WCAG AA, 4.5:1)."""
    subscriber_settings(settings, operator_colour="#ffd400")
    css = Client().get("/account/operator.css").content.decode()
    assert css.startswith(
        ":root { --brand: #ffd400; --operator: #ffd400; --on-brand: #1d2630; --brand-text: #806a00; }\n"
    )
    assert contrast("#ffd400", "#1d2630") >= 4.5
    assert contrast("#806a00", "#ffffff") >= 4.5


def test_operator_branding_comes_from_configuration(settings):
    subscriber_settings(
        settings,
        operator_name="Câble du Récif",
        operator_short_name="Récif",
        operator_logo_url="https://cdn.example/recif.svg",
        operator_mail_domain="recif.nc",
        service_name="récif+",
    )
    page = text(Client().get("/account/signin/?next=/pay/p/"))
    assert '<img src="https://cdn.example/recif.svg" alt="Récif" class="logo">' in page
    assert "pour valider votre paiement avec récif+, identifiez-vous" in page
    assert "Votre mot de passe Récif est strictement confidentiel." in page
    assert 'placeholder="prenom.nom@recif.nc"' in page
    assert "<p>Câble du Récif</p>" in page
    assert "Lagon" not in page
