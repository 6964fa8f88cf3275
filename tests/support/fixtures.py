from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from guichet.core import clock as guichet_clock
from tests.support.codes import EMAIL_CODE, SMS_CODE, email_code, sms_code  # noqa: F401 (the tests import them from here)
from tests.support.servers import FullListener, HttpReceiver, SilentListener, SmsGateway, SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway()
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server recording POSTs (a DS receiving RReqs, a merchant receiving notifications)."""
    receiver = HttpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    """A real socket that accepts connections and never answers."""
    listener = SilentListener()
    listener.start()
    yield listener
    listener.stop()


@pytest.fixture
def full_listener() -> Iterator[FullListener]:
    """A real socket whose accept queue is full: a connection to it is never taken."""
    listener = FullListener()
    listener.start()
    yield listener
    listener.stop()


@pytest.fixture
def outbound(
    settings: Any, smtp_server: SmtpServer, sms_gateway: SmsGateway
) -> tuple[SmtpServer, SmsGateway]:
    """Point Guichet at the real SMTP server and SMS receiver of the test."""
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, email_url=smtp_server.url, sms_url=sms_gateway.url, sms_token="test-token"
    )
    return smtp_server, sms_gateway


@pytest.fixture
def clock() -> Iterator[Any]:
    """The domain clock; `clock.advance(seconds=...)` moves time forward. Reset after the test."""
    guichet_clock.reset()
    yield guichet_clock
    guichet_clock.reset()


@pytest.fixture
def delivery_thread(transactional_db: None) -> Iterator[None]:
    """The embedded deliverer, as `guichet demo` and `guichet serve` run it."""
    from guichet.delivery.worker import DeliveryThread

    thread = DeliveryThread(interval=0.1)
    thread.start()
    yield
    thread.stop()
