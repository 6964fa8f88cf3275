"""The egress policy (guichet.core.egress): what may be posted to, checked before any connection.

Every refusal here is shown with a spy on socket.create_connection and socket.getaddrinfo (or a
listener counting its connections): nothing is attempted. Only loopback and documentation addresses
are ever put in a URL; loopback is refused by building a policy without it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guichet.core.egress import (
    EgressFailed,
    EgressPolicy,
    EgressRefused,
    address_class,
    egress_check_url,
    egress_policy_parse,
    egress_post,
    ip_literal,
)
from guichet.delivery.http import register_http_kind
from guichet.delivery.models import OutboxMessage
from guichet.delivery.senders import HttpSmsGateway, PermanentDeliveryError
from guichet.delivery.services import outbox_enqueue_http
from guichet.delivery.worker import deliver_due
from tests.support.servers import HttpReceiver, SmsGateway
from tests.support.tls import TestCa

REFUSE_ALL = EgressPolicy()  # the production default: global addresses only
LOOPBACK = egress_policy_parse("127.0.0.0/8, ::1")

register_http_kind("test.egress")


@dataclasses.dataclass
class Spy:
    connects: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    lookups: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    """Records every connection and name look-up (and lets them happen)."""
    seen = Spy()
    real_connect, real_lookup = socket.create_connection, socket.getaddrinfo

    def connect(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        seen.connects.append(address)
        return real_connect(address, *args, **kwargs)

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.lookups.append(str(host))
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return seen


def _post(url: str, policy: EgressPolicy, **kwargs: Any) -> tuple[int, bytes]:
    return egress_post(url=url, body=b"{}", headers={}, timeout=5, max_answer=1024, policy=policy, **kwargs)


# --- what a host stands for -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),  # one 32-bit number
        ("127.1", "127.0.0.1"),  # a.(24 bits)
        ("127.0.1", "127.0.0.1"),  # a.b.(16 bits)
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f000001", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("192.0.2.7", "192.0.2.7"),
    ],
)
def test_short_and_decimal_ip_forms_are_read_as_the_resolver_reads_them(host: str, address: str) -> None:
    assert ip_literal(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["shop.example", "08", "256.1", "1.2.3.4.5", "127.0.0.1x"])
def test_names_are_not_ip_literals(host: str) -> None:
    assert ip_literal(host) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address classified, never bound)
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("192.0.2.1", "private"),  # documentation
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("203.0.113.9", "private"),
    ],
)
def test_internal_address_classes(address: str, kind: str) -> None:
    assert address_class(ipaddress.ip_address(address)) == kind


def test_a_global_address_has_no_class() -> None:
    assert address_class(ipaddress.ip_address("8.8.8.8")) == ""


# --- refused before any connection --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:5432/", "loopback address 127.0.0.1"),
        ("http://localhost:6379/", "loopback host localhost"),
        ("http://api.localhost/", "loopback host api.localhost"),
        ("http://127.1/", "loopback address 127.0.0.1"),
        ("http://2130706433/", "loopback address 127.0.0.1"),
        ("http://0x7f.1/", "loopback address 127.0.0.1"),
        ("http://[::1]:8000/", "loopback address ::1"),
        ("http://[::ffff:127.0.0.1]/", "loopback address ::ffff:7f00:1"),
        ("https://192.0.2.10/rreq", "private address 192.0.2.10"),
        ("https://user:pw@ds.example/rreq", "user name or password"),
        ("https://user@ds.example/rreq", "user name or password"),
        ("ftp://ds.example/", "only http:// and https://"),
        ("http://ds.example:99999/", "invalid port"),
    ],
)
def test_refused_destinations_are_never_connected_to(url: str, why: str, spy: Spy) -> None:
    with pytest.raises(EgressRefused, match=why):
        _post(url, REFUSE_ALL)
    assert spy.connects == []
    assert spy.lookups == []


def test_a_listener_refused_by_the_policy_sees_no_connection() -> None:
    accepted = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]

    def count() -> None:
        try:
            connection, _ = listener.accept()
            accepted.append(connection)
        except OSError:
            pass

    thread = threading.Thread(target=count)
    thread.start()
    try:
        with pytest.raises(EgressRefused):
            _post(f"http://127.0.0.1:{port}/", REFUSE_ALL)
        thread.join()
    finally:
        listener.close()
    assert accepted == []


def test_a_name_resolving_to_an_internal_address_is_refused_after_one_look_up(
    spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve(monkeypatch, {"rebind.example": ["127.0.0.1"]})
    with pytest.raises(EgressRefused, match=r"host resolves to loopback address 127\.0\.0\.1"):
        _post("https://rebind.example/hook", REFUSE_ALL)
    assert spy.connects == []


def test_a_name_with_internal_and_allowed_addresses_connects_only_to_the_allowed(
    http_receiver: HttpReceiver, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a name that resolves to a refused address (a documentation one) and an allowed one
    _resolve(monkeypatch, {"mixed.test": ["192.0.2.1", "127.0.0.1"]})
    # when
    status, _ = _post(f"http://mixed.test:{http_receiver.port}/", LOOPBACK)
    # then only the allowed address was tried
    assert status == 200
    assert spy.connects == [("127.0.0.1", http_receiver.port)]


# --- allowed: the checked address, the name kept --------------------------------------------------


def _resolve(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Answer look-ups of `names` as a DNS would (no DNS is asked); return the names looked up."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            asked.append(host)
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in names[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return asked


def test_a_name_is_resolved_once_and_the_checked_address_connected_to(
    http_receiver: HttpReceiver, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a DNS that would answer another address on a second look-up (rebinding)
    answers = iter([["127.0.0.1"], ["192.0.2.99"]])
    asked: list[str] = []
    real = socket.getaddrinfo

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "shop.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    # when
    status, _ = _post(f"http://shop.test:{http_receiver.port}/hook?x=1", LOOPBACK)
    # then
    assert status == 200
    assert asked == ["shop.test"]
    assert spy.connects == [("127.0.0.1", http_receiver.port)]
    assert http_receiver.received[0].headers["Host"] == f"shop.test:{http_receiver.port}"
    assert http_receiver.received[0].path == "/hook?x=1"


def test_an_allowed_host_name_may_resolve_to_internal_addresses(
    http_receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve(monkeypatch, {"sms.internal": ["127.0.0.1"]})
    policy = egress_policy_parse("sms.internal")
    assert _post(f"http://sms.internal:{http_receiver.port}/", policy)[0] == 200
    with pytest.raises(EgressRefused):
        _post(f"http://127.0.0.1:{http_receiver.port}/", policy)  # the address itself is not allowed


def test_a_redirect_is_an_answer_not_followed(http_receiver: HttpReceiver) -> None:
    http_receiver.respond_with(lambda r: (307, b""))
    assert _post(http_receiver.url("/"), LOOPBACK) == (307, b"")
    assert len(http_receiver.received) == 1


def test_policy_entries() -> None:
    policy = egress_policy_parse(" SMS.Internal., 10.1.0.0/16, ::1, [fd00::1], 2130706433 ")
    assert policy.allow_hosts == frozenset({"sms.internal"})
    assert [str(n) for n in policy.allow_networks] == [
        "10.1.0.0/16",
        "::1/128",
        "fd00::1/128",
        "127.0.0.1/32",
    ]
    for bad in ("http://x/", "10.0.0.0/33", "a b"):
        with pytest.raises(ValueError, match="neither a host name"):
            egress_policy_parse(bad)


def test_check_url_accepts_a_global_name_without_dns(spy: Spy) -> None:
    destination = egress_check_url("https://Shop.Example./hook", policy=REFUSE_ALL)
    assert (destination.scheme, destination.host, destination.port) == ("https", "shop.example", 443)
    assert spy.lookups == []


# --- TLS: connected to the address, verified for the name --------------------------------------------


@dataclasses.dataclass
class TlsServer:
    port: int
    ca_pem: str
    server_names: list[str]
    hosts: list[str]


def _read_request(conn: ssl.SSLSocket) -> dict[str, str]:
    """Read the whole request, headers and body (closing on unread data would reset the connection)."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    while len(body) < int(headers.get("content-length", "0")) and (chunk := conn.recv(65536)):
        body += chunk
    return headers


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[TlsServer]:
    ca = TestCa(tmp_path)
    issued = ca.issue("shop.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    names: list[str] = []
    hosts: list[str] = []

    def sni(sock: Any, name: str | None, ctx: Any) -> None:
        names.append(name or "")

    context.sni_callback = sni
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    headers = _read_request(conn)
                    hosts.append(headers.get("host", ""))
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (OSError, ssl.SSLError):
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield TlsServer(port=port, ca_pem=ca.pem, server_names=names, hosts=hosts)
    stop.set()
    thread.join()
    listener.close()


def test_tls_goes_to_the_checked_address_with_the_name_in_sni_and_verification(
    tls_server: TlsServer, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve(monkeypatch, {"shop.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    trusted = ssl.create_default_context(cadata=tls_server.ca_pem)
    # when the certificate names the host
    status, body = _post(f"https://shop.test:{tls_server.port}/hook", LOOPBACK, context=trusted)
    # then
    assert (status, body) == (200, b"ok")
    assert spy.connects == [("127.0.0.1", tls_server.port)]
    assert tls_server.server_names == ["shop.test"]
    assert tls_server.hosts == [f"shop.test:{tls_server.port}"]
    # and a host the certificate does not name is refused by verification, not posted to
    with pytest.raises(EgressFailed, match="SSLCertVerificationError"):
        _post(f"https://other.test:{tls_server.port}/hook", LOOPBACK, context=trusted)
    assert tls_server.hosts == [f"shop.test:{tls_server.port}"]


def test_tls_without_the_ca_is_not_trusted(tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _resolve(monkeypatch, {"shop.test": ["127.0.0.1"]})
    with pytest.raises(EgressFailed, match="SSLCertVerificationError"):
        _post(f"https://shop.test:{tls_server.port}/", LOOPBACK)


# --- the outbox: a refused destination is given up at once ---------------------------------------


@pytest.fixture
def refuse_loopback(settings: Any) -> Callable[[], None]:
    def apply() -> None:
        settings.GUICHET = dataclasses.replace(settings.GUICHET, egress=REFUSE_ALL)

    return apply


@pytest.mark.django_db
def test_a_refused_outbox_post_is_given_up_at_once_without_content_in_the_log(
    http_receiver: HttpReceiver,
    refuse_loopback: Callable[[], None],
    spy: Spy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given
    refuse_loopback()
    outbox_enqueue_http(
        kind="test.egress", key="k", url=http_receiver.url("/hook?token=abc"), body=b'{"secret": "s3"}'
    )
    # when
    with caplog.at_level(logging.INFO, logger="guichet.delivery"):
        assert deliver_due() == 0
    # then
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.GIVEN_UP
    assert message.attempts == 1
    assert (
        message.last_error == "destination refused: loopback address 127.0.0.1 (not in GUICHET_EGRESS_ALLOW)"
    )
    assert http_receiver.received == []
    assert spy.connects == []
    assert "not retried" in caplog.text
    assert "s3" not in caplog.text
    assert "token" not in caplog.text
    # and nothing is tried again
    assert deliver_due() == 0
    assert OutboxMessage.objects.get().attempts == 1


def test_the_sms_gateway_goes_through_the_policy(
    sms_gateway: SmsGateway, refuse_loopback: Callable[[], None], spy: Spy
) -> None:
    gateway = HttpSmsGateway(sms_gateway.url, "token")
    gateway.send(message_id="m1", to="+687751123", subject="", body="code 1")
    assert len(sms_gateway.to("+687751123")) == 1
    # when loopback is no longer allowed
    refuse_loopback()
    with pytest.raises(PermanentDeliveryError, match=r"SMS gateway refused: loopback address 127\.0\.0\.1"):
        gateway.send(message_id="m2", to="+687751123", subject="", body="code 2")
    # then
    assert len(sms_gateway.to("+687751123")) == 1
    assert len(spy.connects) == 1
