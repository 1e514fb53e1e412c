"""Real servers for the notifier security tests: TLS certificates, HTTP(S) and SMTP servers.

* :func:`make_cert`: a self-signed certificate for given DNS names / IPs, made in memory;
* :class:`HttpsRecorder`: a ``ThreadingHTTPServer`` on a chosen address and port, plain or
  TLS, recording each request's ``Host`` header and the TLS server names (SNI) it saw;
* :class:`SmtpRecorder`: aiosmtpd on a free port, optionally offering STARTTLS and/or AUTH
  (also over plain TCP, which a careful client must refuse to use), recording logins and
  whether each login and message came over TLS.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (aiosmtpd cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def make_cert(directory: Path, names: list[str]) -> tuple[Path, Path]:
    """A self-signed CA-style certificate valid for ``names`` (DNS names or IPs), as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    stem = names[0].replace(":", "_")
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
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
class HttpsRecorder:
    """An HTTP (or, with ``cert``, HTTPS) server answering 200 and recording requests."""

    host: str = "127.0.0.1"
    port: int = 0
    cert: tuple[Path, Path] | None = None
    hosts: list[str] = field(default_factory=list)  # Host header of each request
    server_names: list[str | None] = field(default_factory=list)  # SNI of each handshake
    httpd: ThreadingHTTPServer | None = None

    def start(self) -> HttpsRecorder:
        """Start listening; returns ``self``."""
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.hosts.append(self.headers.get("Host", ""))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = int(self.httpd.server_address[1])
        if self.cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.cert)

            def record_sni(sock: Any, name: str | None, ctx: Any) -> None:
                recorder.server_names.append(name)

            context.sni_callback = record_sni
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@dataclass
class SmtpRecorder:
    """aiosmtpd on a free port.

    ``cert``: offer STARTTLS with this certificate. ``auth``: offer AUTH (LOGIN/PLAIN),
    also over plain TCP (``auth_require_tls=False``) so that only the client can refuse.
    """

    cert: tuple[Path, Path] | None = None
    auth: bool = True
    user: str = "alerts"
    password: str = "smtp-password"
    port: int = field(default_factory=free_port)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # user, password, TLS
    messages: list[tuple[EmailMessage, bool]] = field(default_factory=list)  # message, TLS
    controller: Any = None

    def start(self) -> SmtpRecorder:
        """Start the server; returns ``self``."""
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        recorder = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                recorder.messages.append((parsed, session.ssl is not None))
                return "250 OK"

        def authenticator(
            smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            if isinstance(data, LoginPassword):
                user, password = data.login.decode(), data.password.decode()
                recorder.logins.append((user, password, session.ssl is not None))
                if (user, password) == (recorder.user, recorder.password):
                    return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        kwargs: dict[str, Any] = {}
        if self.cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.cert)
            kwargs["tls_context"] = context
        if self.auth:
            kwargs |= {"authenticator": authenticator, "auth_require_tls": False}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
