"""RReqs to a DS that authenticates its ACSs by certificate: GUICHET_ACS_RREQ_CLIENT_CERT / _KEY.

The DS listens on 127.0.0.1 under the name ds.test (answered by a stub resolver), with a certificate
of a throwaway CA the ACS is made to trust (OpenSSL reads SSL_CERT_FILE when a context is made).
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from guichet.config.env import ConfigError, load
from guichet.delivery.models import OutboxMessage
from guichet.delivery.worker import deliver_due
from tests.issuer.acs.challenge.support import DirectoryServer, ds_list, post_creq, start, step
from tests.support.tls import TestCa

pytestmark = pytest.mark.django_db


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path)


@pytest.fixture
def tls_ds(ca: TestCa, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[DirectoryServer]:
    issued = ca.issue("ds.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    context.verify_mode = ssl.CERT_REQUIRED  # the DS checks the ACS's client certificate
    context.load_verify_locations(cafile=ca.path)
    ds = DirectoryServer()
    ds.serve_tls(context, "ds.test")
    ds.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.path))
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "ds.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    ds_list(settings, ds.url)
    yield ds
    ds.stop()


def _cancelled_challenge(client: Client, ds: DirectoryServer) -> OutboxMessage:
    started = start(client, ds_url=ds.url)
    html = post_creq(client, started.creq()).content.decode()
    step(client, html, action="cancel", epin="")
    deliver_due()
    return OutboxMessage.objects.get(channel="http", template="3ds.rreq")


def test_the_rreq_presents_the_configured_client_certificate(
    client: Client, outbound: Any, tls_ds: DirectoryServer, ca: TestCa, settings: Any
) -> None:
    # given
    mine = ca.issue("acs.guichet.test", client=True)
    acs = dataclasses.replace(
        settings.GUICHET.acs, rreq_client_cert=str(mine.cert), rreq_client_key=str(mine.key)
    )
    settings.GUICHET = dataclasses.replace(settings.GUICHET, acs=acs)
    # when
    message = _cancelled_challenge(client, tls_ds)
    # then
    assert message.status == OutboxMessage.Status.SENT
    [rreq] = tls_ds.received
    assert rreq["transStatus"] == "N"
    [peer] = tls_ds.client_certs
    assert dict(item[0] for item in peer["subject"]) == {"commonName": "acs.guichet.test"}


def test_without_a_client_certificate_the_ds_refuses_the_connection(
    client: Client, outbound: Any, tls_ds: DirectoryServer
) -> None:
    message = _cancelled_challenge(client, tls_ds)
    assert message.status == OutboxMessage.Status.PENDING  # retried: the DS may be fixed
    assert message.last_error.startswith("unreachable: ")
    assert tls_ds.received == []


def test_the_client_certificate_is_loaded_at_start(tmp_path: Path, ca: TestCa) -> None:
    mine = ca.issue("acs.guichet.test", client=True)
    base = {"GUICHET_MODE": "test", "GUICHET_DATA_DIR": str(tmp_path)}
    config = load(
        base | {"GUICHET_ACS_RREQ_CLIENT_CERT": str(mine.cert), "GUICHET_ACS_RREQ_CLIENT_KEY": str(mine.key)}
    )
    assert (config.acs.rreq_client_cert, config.acs.rreq_client_key) == (str(mine.cert), str(mine.key))
    with pytest.raises(ConfigError, match="go together: set both"):
        load(base | {"GUICHET_ACS_RREQ_CLIENT_CERT": str(mine.cert)})
    with pytest.raises(ConfigError, match="cannot be loaded"):
        load(
            base
            | {"GUICHET_ACS_RREQ_CLIENT_CERT": str(mine.key), "GUICHET_ACS_RREQ_CLIENT_KEY": str(mine.key)}
        )
