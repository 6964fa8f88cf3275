"""The back-office pages of subscribers (no password hash shown) and the demo subscribers."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from guichet.core import clock
from guichet.demo.subscribers import demo_seed
from guichet.payonbill.subscribers.billing import contract_charge
from guichet.payonbill.subscribers.models import Contract, Mailbox
from guichet.payonbill.subscribers.signin import mailbox_signin
from tests.payonbill.subscribers.factories import make_contract

pytestmark = pytest.mark.django_db


def test_the_back_office_shows_contracts_without_any_password_hash():
    # given
    contract = make_contract(number="LG-7", mailboxes=[("marie@lagon.example", "Lagon-2026", True)])
    mailbox = contract.mailboxes.get()
    contract_charge(
        contract=contract,
        mailbox=mailbox,
        payment_public_id="pay_7",
        merchant_name="EDITEUR",
        product="PANIER EDITEUR",
        amount=390,
        at=clock.now(),
    )
    client = Client()
    client.force_login(get_user_model().objects.create(username="op", is_staff=True, is_superuser=True))
    # when
    pages = [
        client.get("/admin/subscribers/contract/"),
        client.get(f"/admin/subscribers/contract/{contract.pk}/change/"),
        client.get("/admin/subscribers/billcharge/"),
    ]
    # then
    assert [p.status_code for p in pages] == [200, 200, 200]
    html = "".join(p.content.decode() for p in pages)
    assert "LG-7" in html
    assert "marie@lagon.example" in html
    assert "PANIER EDITEUR" in html
    assert mailbox.password_hash not in html
    assert "$argon2id$" not in html
    assert mailbox.import_digest not in html


def test_the_demo_subscribers_are_one_of_each_kind_and_seeded_once():
    # when
    first = demo_seed("http://127.0.0.1:8000")
    second = demo_seed("http://127.0.0.1:8000")
    # then
    assert first == second
    assert first[0] == "Customer space     http://127.0.0.1:8000/account/"
    assert "mono-BAL lagon100001 / Bienvenue-1 (must personalise first)" in first[1]
    assert "multi-BAL marie.kafeat@lagon.example, paul.kafeat@lagon.example / Lagon-2026" in first[2]
    assert Contract.objects.count() == 2
    assert Mailbox.objects.count() == 3
    # internet+ charges only a contract with an internet line
    assert dict(Contract.objects.values_list("number", "line_ip")) == {
        "LG-100001": "192.0.2.101",
        "LG-200002": "192.0.2.102",
    }
    mono = mailbox_signin(login="lagon100001", password="Bienvenue-1", ip="::1", language="fr")
    multi = mailbox_signin(login="paul.kafeat@lagon.example", password="Lagon-2026", ip="::1", language="fr")
    assert (mono.outcome.value, multi.outcome.value) == ("personalise", "signed_in")
