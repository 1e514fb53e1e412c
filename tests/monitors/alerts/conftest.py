"""Real things for the alert tests: databases, an SMTP server and an HTTP server.

* databases come from the shared ``database_url`` fixture (``tests/conftest.py``);
* ``smtp_server`` / ``smtp_tls_server``: aiosmtpd on a free port recording messages; the
  TLS variant requires STARTTLS and AUTH with a self-signed certificate made in memory.
* ``http_server``: a ``ThreadingHTTPServer`` on port 0 recording requests, with
  switchable failure modes (``ok``, ``500``, ``429``, ``400``) and ``stop()``/``start()``.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# Databases: the shared ``database_url`` fixture of ``tests/conftest.py``.


# --------------------------------------------------------------------------- SMTP


def free_port() -> int:
    """A TCP port that was free a moment ago (aiosmtpd cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, made in memory, written as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class SmtpServer:
    """A running aiosmtpd server and what it received."""

    port: int
    tls: bool = False
    cert: Path | None = None
    key: Path | None = None
    user: str = "alerts"
    password: str = "smtp-password"
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    reject_code: int | None = None  # reply to DATA with this code (e.g. 451, 554)
    controller: Any = None

    def start(self) -> None:
        """Start (or restart) on the same port."""
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        server = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                if server.reject_code is not None:
                    return f"{server.reject_code} rejected for the test"
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                server.messages.append(parsed)
                return "250 OK"

        def authenticator(
            smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            if isinstance(data, LoginPassword):
                user, password = data.login.decode(), data.password.decode()
                server.logins.append((user, password))
                if (user, password) == (server.user, server.password):
                    return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        kwargs: dict[str, Any] = {}
        if self.tls:
            assert self.cert is not None and self.key is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, self.key)
            kwargs = {
                "tls_context": context,
                "require_starttls": True,
                "authenticator": authenticator,
                "auth_require_tls": True,
            }
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        """Stop the server (connections are then refused)."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def env(self) -> dict[str, str]:
        """``DRIFTWARDEN_SMTP_*`` settings that reach this server."""
        values = {
            "DRIFTWARDEN_SMTP_HOST": "127.0.0.1",
            "DRIFTWARDEN_SMTP_PORT": str(self.port),
            "DRIFTWARDEN_SMTP_FROM": "driftwarden@example.com",
            "DRIFTWARDEN_SMTP_STARTTLS": "true" if self.tls else "false",
            "DRIFTWARDEN_SMTP_TIMEOUT": "5",
        }
        if self.tls:
            values |= {
                "DRIFTWARDEN_SMTP_USER": self.user,
                "DRIFTWARDEN_SMTP_PASSWORD": self.password,
                "DRIFTWARDEN_SMTP_CA_FILE": str(self.cert),
            }
        return values


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A plain SMTP server; ``DRIFTWARDEN_SMTP_*`` point at it."""
    server = SmtpServer(port=free_port())
    server.start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SmtpServer]:
    """An SMTP server requiring STARTTLS and AUTH (self-signed certificate)."""
    cert, key = self_signed_cert(tmp_path)
    server = SmtpServer(port=free_port(), tls=True, cert=cert, key=key)
    server.start()
    for key_name, value in server.env().items():
        monkeypatch.setenv(key_name, value)
    yield server
    server.stop()


# --------------------------------------------------------------------------- HTTP


@dataclass
class Request:
    """One request the HTTP server received."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpServer:
    """A running HTTP server, what it received and how it answers.

    ``mode`` (or ``modes[path]``): ``ok`` (200), ``500``, ``429`` (with ``Retry-After:
    retry_after``) or ``400``. Requests are recorded whatever the answer.
    """

    port: int = 0
    mode: str = "ok"
    modes: dict[str, str] = field(default_factory=dict)
    retry_after: str = "120"
    requests: list[Request] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        """URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def ok_requests(self, path: str | None = None) -> list[Request]:
        """Requests answered with 200 (optionally for one path)."""
        return [
            r
            for r in self.requests
            if r.headers.get("x-test-answer") == "200" and (path is None or r.path == path)
        ]

    def start(self) -> None:
        """Start (or restart on the same port)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                mode = server.modes.get(self.path, server.mode)
                status = 200 if mode == "ok" else int(mode)
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["x-test-answer"] = str(status)
                server.requests.append(Request(self.path, headers, body))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", server.retry_after)
                payload = b"ok" if status == 200 else b"failure for the test"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop (connections are then refused)."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpServer]:
    """An HTTP server on 127.0.0.1 (private webhooks allowed for the test)."""
    monkeypatch.setenv("DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS", "true")
    server = HttpServer()
    server.start()
    yield server
    server.stop()
