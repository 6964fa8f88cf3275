"""What the checkout tests share: a merchant with its real shop server, payments created through the
real API, subscribers imported through the operator's file, the checkout settings."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

from django.test import Client

from guichet.payonbill.merchants.accounts import merchant_create
from guichet.payonbill.merchants.models import Payment
from guichet.payonbill.subscribers.importing import subscribers_import
from guichet.payonbill.subscribers.models import BillCharge, Contract, Mailbox
from tests.payonbill.checkout.merchant import MerchantSite

PASSWORD = "initial-Passw0rd"
_seq = itertools.count(1)


@dataclass
class Shop:
    """A merchant ("EDITEUR") whose notifications and customers' returns reach `site`."""

    site: MerchantSite
    api_key: str
    merchant_id: int

    def pay(
        self,
        *,
        amount: int = 390,
        currency: str = "EUR",
        product: str = "PANIER EDITEUR",
        reference: str | None = None,
        client: Client | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """Create a payment with POST /api/v1/payments, as the merchant's server does."""
        answer = (client or Client()).post(
            "/api/v1/payments",
            data={
                "amount": amount,
                "currency": currency,
                "product": product,
                "reference": reference or f"order-{next(_seq)}",
                "return_url": self.site.url("/shop/thanks"),
                "cancel_url": self.site.url("/shop/basket"),
                **({"language": language} if language else {}),
            },
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": f"k-{next(_seq)}"},
        )
        assert answer.status_code == 201, answer.content
        body: dict[str, Any] = answer.json()
        assert body["status"] == "pending"
        return body


def open_shop(site: MerchantSite, *, name: str = "EDITEUR", logo_url: str = "") -> Shop:
    created = merchant_create(
        name=name, notification_url=site.url("/notify"), return_hosts=[site.host], logo_url=logo_url
    )
    site.secret = created.notification_secret
    return Shop(site=site, api_key=created.api_key, merchant_id=created.merchant.pk)


def import_subscribers(*rows: str) -> None:
    """Rows `contract,login,password,personalized,name,line_ip` of the operator's file (the line_ip of
    an internet subscriber is its box's public address; none for a mail-only customer)."""
    data = "contract,login,password,personalized,name,line_ip\n" + "\n".join(rows) + "\n"
    report = subscribers_import(data=data.encode(), source="tests")
    assert report.ok, report.errors


def mono_bal(*, contract: str = "C-MONO", login: str = "c-mono", line_ip: str = "198.51.100.10") -> Contract:
    """A contract with one mailbox never personalised: its owner must personalise it first."""
    import_subscribers(f"{contract},{login},{PASSWORD},false,Marie Kafeat,{line_ip}")
    return Contract.objects.get(number=contract)


def multi_bal(
    *,
    contract: str = "C-MULTI",
    logins: tuple[str, ...] = ("paul@lagon.example", "lea@lagon.example"),
    line_ip: str = "198.51.100.20",
) -> Contract:
    """A contract with several personalised mailboxes: they sign in directly."""
    import_subscribers(*(f"{contract},{login},{PASSWORD},true,Paul Wamytan,{line_ip}" for login in logins))
    return Contract.objects.get(number=contract)


def mailbox(login: str) -> Mailbox:
    return Mailbox.objects.select_related("contract").get(login=login)


def payment(public_id: str) -> Payment:
    return Payment.objects.get(public_id=public_id)


def charges(contract: Contract | None = None) -> list[tuple[str, int]]:
    """(payment id, amount) of the bill lines, oldest first."""
    query = BillCharge.objects.order_by("id")
    if contract is not None:
        query = query.filter(contract=contract)
    return [(c.payment_public_id, c.amount) for c in query]


def checkout_settings(settings: Any, **changes: Any) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, checkout=dataclasses.replace(settings.GUICHET.checkout, **changes)
    )


def subscribers_settings(settings: Any, **changes: Any) -> None:
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, subscribers=dataclasses.replace(settings.GUICHET.subscribers, **changes)
    )
