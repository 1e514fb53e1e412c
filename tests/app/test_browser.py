"""End to end: the real Streamlit server on the demo database, every page in Chromium.

Debian's ``chromium`` (``make system-deps``) driven by Playwright's Python API; no
browser download. Screenshots go to ``tests/artifacts/`` (git-ignored). Without
Chromium the test is skipped, except with ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
PAGES = {
    "overview": ("/", "Overview"),
    "drift": ("/drift?model=credit&feature=credit_score", "Drift"),
    "quality": ("/quality?model=credit", "Data quality"),
    "performance": ("/performance?model=credit", "Performance"),
    "fairness": ("/fairness?model=credit&feature=group", "Fairness"),
    "explanations": ("/explanations?model=credit&id=d050-000003", "Explanations"),
    "alerts": ("/alerts?model=credit", "Alerts"),
    "reports": ("/reports?model=credit", "Fairness reports"),
}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(demo_url: str) -> Iterator[str]:
    """``streamlit run app/main.py`` on a free localhost port; its base URL."""
    port = _free_port()
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": demo_url}
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


def _browser_or_skip():  # type: ignore[no-untyped-def]
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


def test_every_page_renders_without_an_exception(server: str) -> None:
    sync_playwright = _browser_or_skip()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, (path, title) in PAGES.items():
                page.goto(server + path, wait_until="domcontentloaded")
                page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
                # the script run is over and nothing is left to draw
                page.wait_for_selector(
                    '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000
                )
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                    timeout=30_000,
                )
                page.wait_for_timeout(1500)
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                assert page.locator('[data-testid="stException"]').count() == 0, name
                body = page.locator("body").inner_text()
                assert "Traceback" not in body, name
                if name not in ("overview", "alerts"):  # tables there draw on a canvas
                    assert "credit" in body, name
        finally:
            browser.close()
