"""``driftwarden dashboard``: stops on SIGTERM/SIGINT, and answers only the hosts it is known by.

A real server in a subprocess (``python -m monitors.cli dashboard``) on a free loopback
port. DNS rebinding sends the attacker's name as ``Host``: such requests, HTTP and
WebSocket alike, must be refused before they reach Streamlit, while ``127.0.0.1`` and
``localhost`` work. A service manager stops the server with SIGTERM: the port must close
and the process end within 10 s, with a browser session (a WebSocket) open.
"""

from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitors.cli import app
from monitors.cli.dashboard import allowed_hosts

START_TIMEOUT_S = 90  # a cold Streamlit start on a loaded 2-core machine
STOP_TIMEOUT_S = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _get(port: int, host: str, path: str = "/_stcore/health") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _websocket(port: int, host: str) -> tuple[int, socket.socket]:
    """Open Streamlit's WebSocket with ``Host: host``; the handshake status and the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /_stcore/stream HTTP/1.1\r\n"
            f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split()[1]), sock


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``driftwarden dashboard`` on a free port over an empty database."""
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    port = _free_port()
    log = (tmp_path / "dashboard.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitors.cli", "dashboard", "--port", str(port)]
        + ["--database-url", url],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if _get(port, f"127.0.0.1:{port}")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"dashboard did not start: {(tmp_path / 'dashboard.log').read_text()}")
        time.sleep(0.3)
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


def test_foreign_host_is_refused(server: tuple[subprocess.Popen[bytes], int]) -> None:
    _, port = server
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert _get(port, host, "/")[0] == 200, host
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
        status, body = _get(port, host, "/")
        assert (status, body) == (400, b"Invalid host header"), host
        assert _get(port, host)[0] == 400, host
    ok, good = _websocket(port, f"127.0.0.1:{port}")
    bad, evil = _websocket(port, f"evil.example:{port}")
    good.close()
    evil.close()
    assert (ok, bad) == (101, 400)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server(
    server: tuple[subprocess.Popen[bytes], int], signum: signal.Signals
) -> None:
    proc, port = server
    status, session = _websocket(port, f"localhost:{port}")  # a browser tab stays open
    assert status == 101
    try:
        proc.send_signal(signum)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_open(port), f"port {port} still open {STOP_TIMEOUT_S} s after {signum!r}"
        proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    finally:
        session.close()
    assert proc.returncode is not None


def test_allowed_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert allowed_hosts("127.0.0.1", []) == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts("0.0.0.0", ["Dash.Example.com."]) == [
        "localhost",
        "127.0.0.1",
        "[::1]",
        "dash.example.com",
    ]
    assert allowed_hosts("10.0.0.5", [])[-1] == "10.0.0.5"
    assert allowed_hosts("fd00::5", [])[-1] == "[fd00::5]"
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[auth]\nredirect_uri = "https://monitoring.example.com/oauth2callback"\n')
    assert allowed_hosts("0.0.0.0", [])[-1] == "monitoring.example.com"
