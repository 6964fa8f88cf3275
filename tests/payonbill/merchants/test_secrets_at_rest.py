"""API keys and notification secrets are nowhere in clear: not in the database, not in the logs."""

from __future__ import annotations

import logging

import pytest
from django.apps import apps

from guichet.delivery.worker import deliver_due
from guichet.payonbill.merchants.accounts import merchant_key_add
from guichet.payonbill.merchants.payments import payment_cancel
from tests.payonbill.merchants.conftest import Api, make_merchant, payment_body

pytestmark = pytest.mark.django_db


def database_text() -> str:
    chunks: list[str] = []
    for model in apps.get_models():
        for row in model._default_manager.all().values_list():
            for value in row:
                if isinstance(value, bytes | memoryview):
                    chunks += [bytes(value).decode("latin-1"), bytes(value).hex()]
                else:
                    chunks.append(str(value))
    return "\n".join(chunks)


def test_keys_and_secrets_are_not_stored_or_logged_in_clear(client, caplog, http_receiver) -> None:
    caplog.set_level(logging.DEBUG)
    created = make_merchant(notification_url=http_receiver.url("/hooks"))
    _key, second = merchant_key_add(merchant=created.merchant, label="second")
    api = Api(client, created.api_key)
    payment_id = api.post("payments", payment_body()).json()["id"]
    api.post("payments", payment_body(), key=second + "x")  # a rejected key is audited, not stored
    payment_cancel(payment_id=payment_id)
    assert deliver_due() == 1  # a signed notification went out
    text = database_text()
    for secret in (created.api_key, second, created.notification_secret):
        assert secret not in text
        assert secret[12:] not in text  # not even the part after the visible prefix
        assert secret not in caplog.text
    assert created.api_key[:11] in text  # the prefix is, to recognise the key
