"""Webhook/Slack targets: non-public addresses refused, DNS rebinding, malformed URLs.

Issue #13 items 7 and 13: a webhook at 100.100.100.200 (carrier-grade NAT, a cloud
metadata address) was POSTed by default; the address was resolved once to check and again
by the HTTP client to send; a malformed URL gave a traceback.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from net_support import HttpsRecorder, free_port, make_cert

from monitors.alerts.message import Notification
from monitors.alerts.notifiers import (
    SlackNotifier,
    WebhookNotifier,
    check_target,
    non_public_reason,
    parse_target,
)
from monitors.errors import ConfigError

ALLOW = "DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS"
PUBLIC_IP = "93.184.215.14"  # a public unicast address (never really contacted)


def note() -> Notification:
    at = datetime(2026, 3, 6, tzinfo=UTC)
    return Notification(
        kind="firing",
        rule="r",
        model="m",
        metric="psi",
        op=">",
        threshold=0.2,
        value=0.3,
        severity="critical",
        analyzer="drift",
        feature="age",
        window_start=at,
        window_end=at,
        since=at,
        at=at,
        idempotency_key="dw-key",
        channel="hook",
    )


class Network:
    """Stubs of ``socket.getaddrinfo`` (per host name) and ``socket.create_connection``.

    ``answers[name]`` is the list of successive DNS answers for ``name`` (the last repeats);
    other names and IP literals resolve for real. ``route[ip]`` redirects a connection to
    ``ip`` to another local address (to play a public server). Every connection attempt is
    recorded in ``connections`` as the (host, port) the client asked for.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.route: dict[str, str] = {}
        self.connections: list[tuple[str, int]] = []
        self.refuse_all = False
        real_getaddrinfo = socket.getaddrinfo
        real_create_connection = socket.create_connection

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name in self.answers:
                self.lookups.append(name)
                queue = self.answers[name]
                addresses = queue.pop(0) if len(queue) > 1 else queue[0]
                return [
                    (
                        socket.AF_INET6 if ":" in a else socket.AF_INET,
                        socket.SOCK_STREAM,
                        socket.IPPROTO_TCP,
                        "",
                        (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)),
                    )
                    for a in addresses
                ]
            return real_getaddrinfo(host, port, *args, **kwargs)

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
            host, port = address[0], int(address[1])
            self.connections.append((host, port))
            if self.refuse_all:
                raise ConnectionRefusedError(111, "refused by the test network")
            return real_create_connection((self.route.get(host, host), port), *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    monkeypatch.delenv(ALLOW, raising=False)
    monkeypatch.delenv("DRIFTWARDEN_WEBHOOK_CA_FILE", raising=False)
    return Network(monkeypatch)


def send(monkeypatch: pytest.MonkeyPatch, url: str, *, timeout: float = 5.0):
    monkeypatch.setenv("TEST_HOOK_URL", url)
    return WebhookNotifier(url_env="TEST_HOOK_URL", name="hook", timeout=timeout).send(note())


# ------------------------------------------------------------------ the address rule

REFUSED = [
    "100.100.100.200",  # carrier-grade NAT: Alibaba Cloud metadata
    "100.64.0.1",
    "100.127.255.254",
    "198.18.0.1",  # benchmarking
    "198.19.255.255",
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.0.10",
    "169.254.169.254",
    "0.0.0.0",
    "0.1.2.3",
    "255.255.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "192.0.0.9",
    "192.0.2.1",  # documentation
    "198.51.100.7",
    "203.0.113.9",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:100.100.100.200",
    "::ffff:169.254.169.254",
    "::7f00:1",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::6464:64c8",  # NAT64 of 100.100.100.200
    "64:ff9b:1::1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:6464:64c8::1",  # 6to4 of 100.100.100.200
    "2001::1",  # Teredo
]
PUBLIC = ["8.8.8.8", PUBLIC_IP, "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_have_a_reason(address: str) -> None:
    reason = non_public_reason(address)
    assert reason is not None and reason.startswith(address.split("::ffff:")[0] or "::ffff")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert non_public_reason(address) is None


def test_cgnat_metadata_address_reason() -> None:
    assert non_public_reason("100.100.100.200") == (
        "100.100.100.200 is carrier-grade NAT / shared address space (100.64.0.0/10)"
    )
    assert non_public_reason("::ffff:100.100.100.200") == (
        "::ffff:100.100.100.200 carries 100.100.100.200, which is carrier-grade NAT / shared "
        "address space (100.64.0.0/10)"
    )


@pytest.mark.parametrize("address", REFUSED)
def test_refused_literal_targets_are_never_contacted(
    network: Network, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    network.refuse_all = True  # the old code tried to connect: fail fast, but record it
    host = f"[{address}]" if ":" in address else address
    result = send(monkeypatch, f"http://{host}/latest/meta-data?token=SECRET")
    assert (result.ok, result.retryable) == (False, False), result
    assert "private address" in (result.error or "")
    assert "SECRET" not in (result.error or "")
    assert network.connections == []


@pytest.mark.parametrize(
    "answer",
    [["100.100.100.200"], ["198.18.0.1"], [PUBLIC_IP, "10.0.0.1"], ["::ffff:127.0.0.1"]],
)
def test_names_resolving_to_refused_addresses_are_never_contacted(
    network: Network, monkeypatch: pytest.MonkeyPatch, answer: list[str]
) -> None:
    network.refuse_all = True
    network.answers["metadata.test"] = [answer]
    result = send(monkeypatch, "http://metadata.test/hook")
    assert (result.ok, result.retryable) == (False, False), result
    assert "private address" in (result.error or "")
    assert network.connections == []


def test_cgnat_target_refused_through_slack_too(network: Network, monkeypatch) -> None:
    network.refuse_all = True
    monkeypatch.setenv("TEST_SLACK_URL", "https://100.100.100.200/services/T0/SECRET")
    result = SlackNotifier(webhook_url_env="TEST_SLACK_URL").send(note())
    assert (result.ok, result.retryable) == (False, False)
    assert "100.64.0.0/10" in (result.error or "") and "SECRET" not in (result.error or "")
    assert network.connections == []


# ------------------------------------------------------------------ DNS rebinding


@pytest.fixture
def rebinding_servers() -> Iterator[tuple[HttpsRecorder, HttpsRecorder]]:
    """An internal server on 127.0.0.1:P and a 'public' one on 127.0.0.2:P (same port)."""
    port = free_port()
    internal = HttpsRecorder(host="127.0.0.1", port=port).start()
    public = HttpsRecorder(host="127.0.0.2", port=port).start()
    yield internal, public
    internal.stop()
    public.stop()


def test_dns_rebinding_cannot_redirect_the_request(
    network: Network, monkeypatch: pytest.MonkeyPatch, rebinding_servers
) -> None:
    """First answer public (checked), later answers 127.0.0.1: the POST goes to the first."""
    internal, public = rebinding_servers
    network.answers["rebind.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
    network.route[PUBLIC_IP] = "127.0.0.2"  # the public address is played by 127.0.0.2
    result = send(monkeypatch, f"http://rebind.test:{internal.port}/hook")
    assert internal.hosts == [], "the request reached the internal address"
    assert result.ok, result.error
    assert network.lookups == ["rebind.test"]  # resolved once
    assert network.connections == [(PUBLIC_IP, internal.port)]
    assert public.hosts == [f"rebind.test:{internal.port}"]  # original Host header


def test_allowed_private_target_falls_back_across_addresses(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With private targets allowed, a name whose first address refuses still gets through."""
    monkeypatch.setenv(ALLOW, "true")
    server = HttpsRecorder().start()
    try:
        network.answers["both.test"] = [["::1", "127.0.0.1"]]
        network.route["::1"] = "127.0.0.3"  # nothing listens there: connection refused
        result = send(monkeypatch, f"http://both.test:{server.port}/hook")
        assert result.ok, result.error
        assert [host for host, _ in network.connections] == ["::1", "127.0.0.1"]
        assert server.hosts == [f"both.test:{server.port}"]
    finally:
        server.stop()


# ------------------------------------------------------------------ TLS: SNI and certificate


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpsRecorder]:
    """An HTTPS server on 127.0.0.1 with a certificate for ``hooks.test`` only (trusted)."""
    cert = make_cert(tmp_path, ["hooks.test"])
    monkeypatch.setenv("DRIFTWARDEN_WEBHOOK_CA_FILE", str(cert[0]))
    server = HttpsRecorder(cert=cert).start()
    yield server
    server.stop()


def test_https_pinned_address_keeps_sni_and_host(
    network: Network, monkeypatch: pytest.MonkeyPatch, tls_server: HttpsRecorder
) -> None:
    monkeypatch.setenv(ALLOW, "true")  # the test server is on loopback
    network.answers["hooks.test"] = [["127.0.0.1"], ["127.0.0.9"]]
    result = send(monkeypatch, f"https://hooks.test:{tls_server.port}/hook")
    assert result.ok, result.error
    assert network.connections == [("127.0.0.1", tls_server.port)]
    assert tls_server.server_names == ["hooks.test"]
    assert tls_server.hosts == [f"hooks.test:{tls_server.port}"]


def test_https_certificate_is_checked_against_the_url_host(
    network: Network, monkeypatch: pytest.MonkeyPatch, tls_server: HttpsRecorder
) -> None:
    """Connecting to an IP does not weaken the check: the name must match the certificate."""
    monkeypatch.setenv(ALLOW, "true")
    network.answers["other.test"] = [["127.0.0.1"]]
    result = send(monkeypatch, f"https://other.test:{tls_server.port}/hook")
    assert not result.ok
    assert tls_server.hosts == []
    assert tls_server.server_names == ["other.test"]


def test_unloadable_ca_file_is_a_permanent_error(network: Network, monkeypatch) -> None:
    monkeypatch.setenv(ALLOW, "true")
    monkeypatch.setenv("DRIFTWARDEN_WEBHOOK_CA_FILE", "/nonexistent/ca.pem")
    result = send(monkeypatch, "https://127.0.0.1:9/hook")
    assert (result.ok, result.retryable) == (False, False)
    assert "DRIFTWARDEN_WEBHOOK_CA_FILE could not be loaded" in (result.error or "")


# ------------------------------------------------------------------ malformed URLs

EXPECTED = "expected http(s)://host[:port]/path"
MALFORMED = [
    ("http://[::1/", "unbalanced '[' or ']' in the host"),
    ("http://[::1/x?token=SECRET", "unbalanced '[' or ']' in the host"),
    ("http://hooks.example\x7f.com/SECRET", "control character or space 0x7f at position 20"),
    ("http://hooks.example.com/a b/SECRET", "control character or space 0x20 at position 26"),
    ("http://hooks.example.com:99999/SECRET", "port 99999 is out of range 1-65535"),
    ("http://hooks.example.com:0/SECRET", "port 0 is out of range 1-65535"),
    ("http://hooks.example.com:http/SECRET", "the port is not a number"),
    ("http:///SECRET", "no host"),
]


@pytest.mark.parametrize(("url", "problem"), MALFORMED)
def test_malformed_url_raises_config_error(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"({problem})")) as info:
        parse_target(url)
    message = str(info.value)
    assert message.endswith(EXPECTED) and "\n" not in message and "SECRET" not in message


@pytest.mark.parametrize(("url", "problem"), MALFORMED)
def test_malformed_url_is_a_one_line_permanent_failure(
    network: Network, monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    result = send(monkeypatch, url)
    assert (result.ok, result.retryable) == (False, False)
    assert result.error == (
        f"Webhook channel 'hook': the target URL is malformed ({problem}); {EXPECTED}"
    )
    assert network.connections == []


def test_not_http_and_check_target(network: Network) -> None:
    assert check_target("ftp://hooks.example.com/x") == (
        f"the target is not an http(s) URL (scheme 'ftp'); {EXPECTED}"
    )
    assert check_target("http://[::1/") is not None
    assert "100.64.0.0/10" in (check_target("http://100.100.100.200/") or "")
    assert check_target(f"https://{PUBLIC_IP}/hook") is None
