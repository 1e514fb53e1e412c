"""Webhook and Slack targets: URL validation, the public-address rule and pinned resolution.

A target URL is validated once (:func:`parse_target`), its host resolved once
(:func:`resolve_addresses`) and every resolved address checked (:func:`non_public_reason`);
the HTTP client then connects to one of *those* addresses (the URL's host replaced by the
IP), sending the original ``Host`` header and TLS server name. A second DNS answer can
therefore not send the request somewhere else (DNS rebinding).

Refused by default: private, loopback, link-local, unspecified, broadcast, multicast and
reserved addresses, carrier-grade NAT ``100.64.0.0/10`` (cloud metadata services live there,
e.g. ``100.100.100.200``), benchmarking ``198.18.0.0/15``, the documentation ranges, IPv6
unique-local / site-local / discard / ORCHID / SRv6 ranges, and IPv4-mapped, 6to4 and NAT64
IPv6 addresses whose embedded IPv4 address is refused. ``DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS=
true`` allows them all (local test servers, an internal webhook receiver).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import httpx

from monitors.alerts.notifiers.base import ALLOW_PRIVATE_ENV, env_flag
from monitors.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_EXPECTED: Final = "expected http(s)://host[:port]/path"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

#: Ranges refused whatever :mod:`ipaddress` says of them (its lists vary across Python
#: versions and miss some, e.g. ``100.64.0.0/10`` is neither private nor global there).
_REFUSED_NETWORKS: Final[tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]] = (
    tuple(
        (ipaddress.ip_network(net), what)
        for net, what in (
            ("0.0.0.0/8", "'this network'"),
            ("10.0.0.0/8", "private"),
            ("100.64.0.0/10", "carrier-grade NAT / shared address space"),
            ("127.0.0.0/8", "loopback"),
            ("169.254.0.0/16", "link-local"),
            ("172.16.0.0/12", "private"),
            ("192.0.0.0/24", "IETF protocol assignments"),
            ("192.0.2.0/24", "documentation"),
            ("192.88.99.0/24", "6to4 relay anycast"),
            ("192.168.0.0/16", "private"),
            ("198.18.0.0/15", "benchmarking"),
            ("198.51.100.0/24", "documentation"),
            ("203.0.113.0/24", "documentation"),
            ("224.0.0.0/4", "multicast"),
            ("255.255.255.255/32", "broadcast"),
            ("240.0.0.0/4", "reserved"),
            ("::/128", "unspecified"),
            ("::1/128", "loopback"),
            ("::/96", "IPv4-compatible (deprecated)"),
            ("64:ff9b:1::/48", "local-use NAT64"),
            ("100::/64", "discard-only"),
            ("2001::/23", "IETF protocol assignments"),
            ("2001:db8::/32", "documentation"),
            ("3fff::/20", "documentation"),
            ("5f00::/16", "SRv6 SIDs"),
            ("fc00::/7", "unique-local (private)"),
            ("fe80::/10", "link-local"),
            ("fec0::/10", "site-local (deprecated)"),
            ("ff00::/8", "multicast"),
        )
    )
)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class Target:
    """A validated ``http(s)`` target URL.

    Attributes
    ----------
    url : httpx.URL
        The URL as given.
    scheme : str
        ``http`` or ``https``.
    host : str
        The host in ASCII (IDNA), IPv6 literals without brackets: what is resolved and
        sent as the TLS server name.
    port : int
        The explicit or default port.
    host_header : str
        The ``Host`` header value (``host[:port]``, port only when not the default).
    """

    url: httpx.URL
    scheme: str
    host: str
    port: int
    host_header: str

    def pinned_url(self, address: str) -> httpx.URL:
        """The URL with its host replaced by ``address`` (path, query, user info kept)."""
        return self.url.copy_with(host=address)


def _bad_url(problem: str) -> ConfigError:
    """The error for a malformed URL (``problem`` never quotes the URL)."""
    return ConfigError(f"the target URL is malformed ({problem}); {_EXPECTED}")


def parse_target(url: str) -> Target:
    """Validate a webhook/Slack URL without ever repeating it (it may be a secret).

    Parameters
    ----------
    url : str
        The URL read from the channel's environment variable.

    Returns
    -------
    Target
        Scheme, ASCII host, port and the ``Host`` header value.

    Raises
    ------
    ConfigError
        One line saying what is wrong (control character, unbalanced ``[``, port out of
        range, not http(s), no host) and what is expected; never the URL itself.

    Examples
    --------
    >>> parse_target("https://hooks.example.com/T0/abc").host_header
    'hooks.example.com'
    >>> parse_target("http://[::1]:8080/x").host, parse_target("http://[::1]:8080/x").port
    ('::1', 8080)
    >>> try:
    ...     parse_target("http://example.com:99999/")
    ... except ConfigError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    the target URL is malformed (port 99999 is out of range 1-65535); expected http(s)://...
    """
    for index, char in enumerate(url):
        if ord(char) < 0x21 or ord(char) == 0x7F:
            raise _bad_url(f"control character or space 0x{ord(char):02x} at position {index}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": an unbalanced '[' or ']'
        raise _bad_url("unbalanced '[' or ']' in the host") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(
            f"the target is not an http(s) URL (scheme {scheme or 'missing'!r}); {_EXPECTED}"
        )
    try:
        port = parts.port
    except ValueError as exc:
        netloc_port = parts.netloc.rpartition("]")[2].rpartition(":")[2]
        if netloc_port.isdigit():
            raise _bad_url(f"port {int(netloc_port)} is out of range 1-65535") from exc
        raise _bad_url("the port is not a number") from exc
    if port == 0:
        raise _bad_url("port 0 is out of range 1-65535")
    if not parts.hostname:
        raise _bad_url("no host")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _bad_url(str(exc).split(",")[0]) from exc
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise _bad_url("no host")
    effective_port = parsed.port or _DEFAULT_PORTS[scheme]
    return Target(
        url=parsed,
        scheme=scheme,
        host=host,
        port=effective_port,
        host_header=parsed.netloc.decode("ascii"),
    )


def non_public_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or ``None`` if it is one.

    Combines :mod:`ipaddress`' own properties (``is_global``, ``is_multicast``,
    ``is_reserved``, ...) with the ranges it misses; IPv4-mapped, NAT64 (``64:ff9b::/96``)
    and 6to4 (``2002::/16``) IPv6 addresses are judged by the IPv4 address they carry.

    Examples
    --------
    >>> non_public_reason("100.100.100.200")
    '100.100.100.200 is carrier-grade NAT / shared address space (100.64.0.0/10)'
    >>> non_public_reason("::ffff:127.0.0.1")
    '::ffff:127.0.0.1 carries 127.0.0.1, which is loopback (127.0.0.0/8)'
    >>> non_public_reason("8.8.8.8") is None
    True
    """
    ip: IPAddress = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = non_public_reason(embedded)
            if inner is not None:
                shown = f"::ffff:{ip.ipv4_mapped}" if ip.ipv4_mapped is not None else str(ip)
                return f"{shown} carries {inner.replace(' is ', ', which is ', 1)}"
            if ip.ipv4_mapped is not None or ip in _NAT64:
                return None  # judged by the public IPv4 address it carries
    for network, what in _REFUSED_NETWORKS:
        if ip.version == network.version and ip in network:
            return f"{ip} is {what} ({network})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    for what, hit in checks:
        if hit:
            return f"{ip} is {what}"
    return None


def resolve_addresses(target: Target) -> tuple[str, ...]:
    """The addresses of ``target.host`` (one DNS lookup; an IP literal is its own address).

    Raises
    ------
    socket.gaierror
        When the host does not resolve (``EAI_AGAIN`` for a temporary failure).
    """
    try:
        return (str(ipaddress.ip_address(target.host)),)
    except ValueError:
        pass
    infos = socket.getaddrinfo(
        target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(addresses: Iterable[str]) -> str | None:
    """Why a target with these resolved ``addresses`` is refused, or ``None``.

    Every address must be public (a host with one public and one private address is
    refused: the client could reach either), unless private targets are allowed.
    """
    if env_flag(ALLOW_PRIVATE_ENV):
        return None
    addresses = list(addresses)
    if not addresses:
        return "the target host resolves to no address"
    for address in addresses:
        reason = non_public_reason(address)
        if reason is not None:
            return (
                f"the target resolves to a non-public or private address: {reason}; "
                f"set {ALLOW_PRIVATE_ENV}=true to allow it"
            )
    return None


def check_target(url: str) -> str | None:
    """Why a webhook/Slack ``url`` may not be called, or ``None`` if it may.

    Validates the URL (:func:`parse_target`), resolves its host once and applies
    :func:`refusal`. The returned text never contains the URL. The notifiers do not call
    this (they connect to the addresses they checked); it is for a preflight check.
    """
    try:
        target = parse_target(url)
    except ConfigError as exc:
        return str(exc)
    try:
        addresses = resolve_addresses(target)
    except (OSError, UnicodeError):
        return "the target host does not resolve"
    return refusal(addresses)
