"""The one way out: every HTTP request Guichet makes (RReqs to the DS, merchant notifications, the SMS
gateway) goes through `egress_post`, under one policy.

A destination is refused when its URL carries a user name or password, or when an address it stands
for is loopback, private, link-local, multicast, reserved, unspecified or otherwise not global, unless
GUICHET_EGRESS_ALLOW lists the host name or a network holding the address. IP literals are read as
the C resolver reads them, so `2130706433`, `127.1` and `0x7f.1` are 127.0.0.1.

The host is resolved once, every address it resolves to is checked, and the connection goes to a
checked address: a DNS answer cannot change between the check and the connection (DNS rebinding).
The name stays in the Host header and, under TLS, in SNI and certificate verification. Redirects are
never followed (http.client has no such thing): a 3xx is an answer like any other.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
# One to four parts, each decimal, 0x-hex or 0-octal, as inet_aton(3) accepts them.
_ATON_PART = r"(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)"
_INET_ATON = re.compile(rf"{_ATON_PART}(\.{_ATON_PART}){{0,3}}")
_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


class EgressRefused(Exception):
    """The policy refuses this destination; nothing was sent. The text names why, never the content."""


class EgressFailed(Exception):
    """The destination could not be reached or did not answer HTTP (worth trying again later)."""


@dataclass(frozen=True)
class EgressPolicy:
    """Who may be reached besides global addresses (GUICHET_EGRESS_ALLOW)."""

    allow_hosts: frozenset[str] = frozenset()  # lower-case names whose addresses are all allowed
    allow_networks: tuple[IPNetwork, ...] = ()

    def address_allowed(self, address: IPAddress) -> bool:
        address = _unmapped(address)
        return any(address in network for network in self.allow_networks) or not address_class(address)


def _unmapped(address: IPAddress) -> IPAddress:
    """::ffff:127.0.0.1 is 127.0.0.1 (Python 3.11's properties do not look inside it)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_class(address: IPAddress) -> str:
    """Why an address is internal ("loopback", "private", ...), or "" for a global unicast address."""
    address = _unmapped(address)
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return "" if address.is_global else "non-global"


def _aton_part(text: str) -> int:
    if text[:2].lower() == "0x":
        return int(text[2:] or "0", 16)  # a bare "0x" is 0, as glibc reads it
    return int(text, 8) if text.startswith("0") else int(text)


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """`2130706433`, `127.1`, `0x7f.0.0.1`, `0177.0.0.1` as the IPv4 address the resolver makes of them."""
    if not _INET_ATON.fullmatch(host):
        return None
    parts = [_aton_part(part) for part in host.split(".")]
    # The last part fills the bytes the others leave: a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits).
    if any(part > 255 for part in parts[:-1]) or parts[-1] >= 1 << (8 * (5 - len(parts))):
        return None
    value = parts[-1]
    for index, part in enumerate(parts[:-1]):
        value |= part << (24 - 8 * index)
    return ipaddress.IPv4Address(value)


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL's host names by itself (no DNS), or None for a host name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _inet_aton(host)


def _loopback_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")  # RFC 6761: never sent to DNS


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # lower-case, no brackets, no trailing dot
    port: int
    address: IPAddress | None  # when the host is an IP literal


def egress_check_url(url: str, *, policy: EgressPolicy) -> Destination:
    """Everything about a URL that can be checked without DNS; raises EgressRefused.

    Used at configuration and merchant creation time, and before each request.
    """
    parts: SplitResult = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EgressRefused("only http:// and https:// URLs are posted to")
    if "@" in parts.netloc:
        raise EgressRefused("a URL with a user name or password is refused")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EgressRefused("invalid port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise EgressRefused("no host")
    address = ip_literal(host)
    if address is not None:
        if not policy.address_allowed(address):
            raise EgressRefused(f"{address_class(address)} address {address} (not in GUICHET_EGRESS_ALLOW)")
    elif not HOST_NAME.fullmatch(host):
        raise EgressRefused("invalid host name")
    elif (
        host not in policy.allow_hosts
        and _loopback_name(host)
        and not any(policy.address_allowed(address) for address in LOOPBACK_ADDRESSES)
    ):
        raise EgressRefused(f"loopback host {host} (not in GUICHET_EGRESS_ALLOW)")
    return Destination(scheme=parts.scheme, host=host, port=port, address=address)


def egress_resolve(destination: Destination, *, policy: EgressPolicy) -> list[IPAddress]:
    """The addresses to connect to, each one checked (one DNS query); raises EgressRefused when the
    policy allows none of them. Only these are ever connected to, so a refused one is left out."""
    if destination.address is not None:
        return [destination.address]
    try:
        found = socket.getaddrinfo(destination.host, destination.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise EgressFailed(f"cannot resolve the host ({type(exc).__name__})") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found))
    if not addresses:
        raise EgressFailed("the host resolves to no address")
    if destination.host in policy.allow_hosts:
        return addresses
    allowed = [address for address in addresses if policy.address_allowed(address)]
    if not allowed:
        refused = addresses[0]
        raise EgressRefused(
            f"host resolves to {address_class(refused)} address {refused} (not in GUICHET_EGRESS_ALLOW)"
        )
    return allowed


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a checked address, speaking to the URL's host name."""

    def __init__(
        self,
        destination: Destination,
        addresses: list[IPAddress],
        timeout: float,
        context: ssl.SSLContext | None,
        connect_timeout: float | None = None,
    ) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._connect_timeout = connect_timeout or timeout
        self.default_port = 443 if destination.scheme == "https" else 80  # no ":443" in the Host header
        self._addresses = addresses
        self._context = context

    def connect(self) -> None:
        last: OSError | None = None
        for address in self._addresses:
            try:
                sock = socket.create_connection((str(address), self.port), self._connect_timeout)
            except OSError as exc:
                last = exc
                continue
            sock.settimeout(self.timeout)  # connected: each read then gets the answer's timeout
            if self._context is None:
                self.sock = sock
                return
            try:
                self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
            return
        raise last or OSError("no address to connect to")


def egress_post(
    *,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_answer: int,
    connect_timeout: float | None = None,
    policy: EgressPolicy | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, bytes]:
    """POST `body` to `url` under the policy (settings' by default); the status and at most
    `max_answer` bytes of the answer. Raises EgressRefused before any connection, or EgressFailed.

    `context` is the TLS context for https (e.g. one presenting a client certificate); by default
    the system's trusted roots with hostname verification.
    """
    if policy is None:
        policy = egress_policy()
    destination = egress_check_url(url, policy=policy)
    addresses = egress_resolve(destination, policy=policy)
    tls = (context or ssl.create_default_context()) if destination.scheme == "https" else None
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _PinnedConnection(destination, addresses, timeout, tls, connect_timeout)
    try:
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.read(max_answer)
    except (OSError, http.client.HTTPException) as exc:
        raise EgressFailed(type(exc).__name__) from None
    finally:
        connection.close()


def egress_policy() -> EgressPolicy:
    """The policy of the running configuration (GUICHET_EGRESS_ALLOW)."""
    from django.conf import settings

    policy: EgressPolicy = settings.GUICHET.egress
    return policy


def egress_policy_parse(raw: str) -> EgressPolicy:
    """`sms.internal, 10.1.2.0/24, ::1` into a policy; raises ValueError naming a bad entry."""
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in (part.strip().lower().rstrip(".") for part in raw.split(",")):
        if not entry:
            continue
        address = ip_literal(entry)
        if address is not None:
            networks.append(ipaddress.ip_network(_unmapped(address)))
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or not HOST_NAME.fullmatch(entry):
            raise ValueError(f"{entry!r} is neither a host name, an IP address nor a CIDR network")
        hosts.add(entry)
    return EgressPolicy(allow_hosts=frozenset(hosts), allow_networks=tuple(networks))
