"""Outbound HTTP to addresses that others chose (webhook URLs, the carrier's API): the one guard.

A URL typed by a shop admin must not make our server talk to itself or to the network behind
it (Redis on 127.0.0.1:6379, a database on 10.0.0.5, the cloud's metadata service on
169.254.169.254). ``refusal(url)`` says why a URL is not allowed, for forms at save time;
``send()`` checks again when the request is made, because a name that resolved to a public
address at save may resolve to a private one later (DNS rebinding).

``send()`` resolves the host once, checks every address, and connects to a checked address:
the name is never looked up a second time between the check and the connection. It never
follows a redirect (a 302 to ``http://127.0.0.1:6379/`` would undo the check), and answers
3xx with ``Redirected``.

Why the standard library's ``http.client`` and not requests/urllib3 or advocate: pinning the
address only needs the connection's socket factory replaced, while ``HTTPSConnection`` keeps
using the host name for SNI, certificate checking and the Host header; ``http.client`` never
follows redirects by itself; and it adds no dependency. advocate (the library made for this)
is unmaintained and pins an old requests.

``OUTBOUND_ALLOW_PRIVATE`` (config or environment, ``1``) allows loopback and private targets,
for development against a local receiver and for the test suite's local servers. The cloud
metadata addresses stay refused even then.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services hand out cloud credentials; never a legitimate target.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_TIMEOUT = 10
# A label PDF fits many times over; a receiver streaming more is not read to the end.
MAX_RESPONSE_BYTES = 20 * 1024 * 1024


class Refused(Exception):
    """The request was not made or not followed: the target is not allowed, or redirected."""


class TargetNotAllowed(Refused):
    """The URL's scheme or the address its host resolves to is not allowed."""


class Redirected(Refused):
    """The receiver answered 3xx; redirects are never followed."""

    def __init__(self, status_code: int, location: str | None) -> None:
        super().__init__(
            f"HTTP {status_code} redirect to {location or '(no Location)'} not followed; "
            "use the final URL"
        )
        self.status_code = status_code


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def private_targets_allowed() -> bool:
    """Whether ``OUTBOUND_ALLOW_PRIVATE`` is on (app config first, then the environment)."""
    if has_app_context() and "OUTBOUND_ALLOW_PRIVATE" in current_app.config:
        return bool(current_app.config["OUTBOUND_ALLOW_PRIVATE"])
    return os.environ.get("OUTBOUND_ALLOW_PRIVATE", "") == "1"


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address: not loopback, private, link-local, CGNAT,
    multicast, reserved, unspecified or documentation, nor an IPv6 form of one of those."""
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved)


def forbidden(address: IPAddress) -> bool:
    """Whether we may not connect to ``address`` (metadata addresses never, private ones
    unless ``OUTBOUND_ALLOW_PRIVATE`` is on)."""
    if address in METADATA_ADDRESSES or embedded_ipv4(address) in METADATA_ADDRESSES:
        return True
    return not (is_public(address) or private_targets_allowed())


def split_target(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL; ``TargetNotAllowed`` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetNotAllowed(f"not a valid URL: {error}") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetNotAllowed("only http and https URLs with a host are allowed")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to now (an address literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address_text = str(sockaddr[0])  # a str for SOCK_STREAM; typeshed also allows an int
        address = ipaddress.ip_address(address_text.split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(url: str) -> list[IPAddress]:
    """Resolve the URL's host once and return its addresses if every one is allowed.

    One forbidden address refuses the whole name, so a resolver cannot slip a private
    address in beside a public one."""
    _scheme, host, port = split_target(url)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as error:
        raise OSError(f"cannot resolve {host}: {error}") from error
    for address in addresses:
        if forbidden(address):
            raise TargetNotAllowed(
                f"{host} is not a public address"
                if host == str(address)
                else f"{host} resolves to {address}, which is not a public address"
            )
    return addresses


def refusal(url: str) -> str | None:
    """Why ``url`` may not be saved as a target, as a translated sentence, or None.

    A name that cannot be resolved right now is accepted (its DNS may not be set up yet);
    ``send()`` checks it again at every request."""
    try:
        split_target(url)
    except TargetNotAllowed:
        return _("Use an http:// or https:// address.")
    try:
        checked_addresses(url)
    except TargetNotAllowed as refused:
        return _(
            "This address leads into a private network or to this server itself "
            "(%(reason)s). Use an address on the public internet.",
            reason=str(refused),
        )
    except OSError:
        return None
    return None


def pinned_connection(
    scheme: str, host: str, port: int, addresses: list[IPAddress], timeout: float
) -> http.client.HTTPConnection:
    """A connection to ``host`` that opens its socket to one of the checked ``addresses``.

    The connection keeps ``host`` as its host, so the Host header, TLS SNI and the
    certificate's hostname check are about the name, while the socket goes to the address
    that was checked."""
    if scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect_to_checked_address(
        _address: tuple[str, int],
        timeout: float | None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        last_error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((str(address), port), timeout, source_address)
            except OSError as error:
                last_error = error
        raise last_error or OSError(f"no address for {host}")

    connection._create_connection = connect_to_checked_address  # type: ignore[attr-defined]  # http.client's private socket hook
    return connection


def send(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Response:
    """Make one HTTP request to an allowed address and return the answer, whatever its status
    below 300 or from 400; ``TargetNotAllowed`` or ``Redirected`` when refused, ``OSError``
    (``TimeoutError`` among them) when the receiver cannot be reached or does not answer."""
    scheme, host, port = split_target(url)
    addresses = checked_addresses(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = pinned_connection(scheme, host, port, addresses, timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        response = Response(
            answer.status, answer.read(MAX_RESPONSE_BYTES + 1), dict(answer.getheaders())
        )
    except http.client.HTTPException as error:
        raise OSError(f"bad answer from {host}: {error!r}") from error
    finally:
        connection.close()
    if len(response.body) > MAX_RESPONSE_BYTES:
        raise OSError(f"the answer from {host} is larger than {MAX_RESPONSE_BYTES} bytes")
    if 300 <= response.status < 400:
        raise Redirected(response.status, response.headers.get("Location"))
    return response
