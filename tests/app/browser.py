"""Helpers of the browser tests: the real Streamlit server, Chromium, waiting, screenshots.

Debian's ``chromium`` (``make system-deps``) driven by Playwright's Python API; no
browser download. Without Chromium the tests are skipped, except with ``CI=true``
where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import MAIN, REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(database_url: str) -> Iterator[str]:
    """``streamlit run app/main.py`` on a free localhost port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            MAIN,
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"streamlit did not start: {out[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def playwright_or_skip() -> Any:
    """``sync_playwright``, or skip (fail under ``CI=true``) without Chromium/Playwright."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (make system-deps installs Debian's chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            reason = f"playwright is not installed: {exc}"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: a missing browser is a failure)")
        pytest.skip(reason)
    return sync_playwright


def wait_rendered(page: Any, title: str) -> None:
    """Wait until the page's title shows, the script run is over and nothing is loading."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000
    )
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=30_000
    )
    page.wait_for_timeout(1200)


def screenshot(page: Any, name: str) -> Path:
    """A screenshot of the whole page (Streamlit scrolls inside its main block) as PNG."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    height = page.evaluate(
        """() => Math.max(...Array.from(document.querySelectorAll(
            '[data-testid="stMain"], [data-testid="stAppViewContainer"], section.main'))
            .map(e => e.scrollHeight), document.body.scrollHeight)"""
    )
    old = page.viewport_size
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(800)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(old)
    return path
