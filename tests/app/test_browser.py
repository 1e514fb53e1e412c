"""End to end: the real Streamlit server on the demo database, in Chromium at 1280 px.

Every page renders without an exception; the overview's key columns fit 1280 px
without horizontal scrolling; and a new user's path through the demo (overview → the
drifting feature → the fairness breach → the alert → export a report → verify it) is
walked and photographed into ``tests/artifacts/path-*.png`` (git-ignored), so a person
can see what is wrong with the demo model without reading code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.browser import ARGS, CHROMIUM, playwright_or_skip, screenshot, streamlit_server
from tests.app.browser import wait_rendered as rendered

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
WIDTH = 1280

pytestmark = pytest.mark.browser


@pytest.fixture
def server(demo_url: str) -> Iterator[str]:
    with streamlit_server(demo_url) as base:
        yield base


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    sync_playwright = playwright_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": WIDTH, "height": 900}, accept_downloads=True
            )
            yield context.new_page()
        finally:
            browser.close()


def _body(page: Any) -> str:
    return " ".join(page.locator("body").inner_text().split())


def _overflowing_tables(page: Any) -> list[dict[str, int]]:
    """Data frames whose grid scrolls horizontally (content wider than the frame)."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'))
                .map(frame => frame.querySelector('.dvn-scroller'))
                .filter(s => s && s.scrollWidth > s.clientWidth + 1)
                .map(s => ({scroll: s.scrollWidth, client: s.clientWidth}))"""
        )
    )


def test_every_page_renders_without_an_exception(server: str, page: Any) -> None:
    for name, (path, title) in PAGES.items():
        page.goto(server + path, wait_until="domcontentloaded")
        rendered(page, title)
        screenshot(page, name)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert _overflowing_tables(page) == [], name  # every table fits 1280 px
        body = _body(page)
        assert "Traceback" not in body, name
        if name not in ("overview", "alerts"):  # tables there draw on a canvas
            assert "credit" in body, name


def test_a_new_user_finds_what_is_wrong_with_the_demo(
    server: str, page: Any, tmp_path: Path
) -> None:
    # 1. the overview: the key columns fit 1280 px, nothing to scroll sideways
    page.goto(server + "/", wait_until="domcontentloaded")
    rendered(page, "Overview")
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1
    assert _overflowing_tables(page) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    screenshot(page, "path-1-overview")

    # 2. the drifting feature (the overview's drift link opens the drift page)
    page.goto(server + "/drift?model=credit", wait_until="domcontentloaded")
    rendered(page, "Drift")
    body = _body(page)
    assert "Drifting now" in body and "credit_score" in body
    assert "Drifting since the window starting" in body
    screenshot(page, "path-2-drift")

    # 3. the fairness breach: the page opens on it and names the group
    page.goto(server + "/fairness?model=credit", wait_until="domcontentloaded")
    rendered(page, "Fairness")
    body = _body(page)
    assert "Opened on group: the most severe fairness breach" in body
    assert "group=D has the lowest selection rate" in body
    screenshot(page, "path-3-fairness")

    # 4. the alert: it fires, and the page says nobody was notified
    page.goto(server + "/alerts?model=credit", wait_until="domcontentloaded")
    rendered(page, "Alerts")
    assert "notified nobody" in _body(page)
    screenshot(page, "path-4-alerts")

    # 5. export the fairness report, download it, 6. verify the downloaded file
    page.goto(server + "/reports?model=credit", wait_until="domcontentloaded")
    rendered(page, "Fairness reports")
    page.get_by_role("button", name="Export report").click()
    page.get_by_text("Exported report").wait_for(timeout=180_000)
    rendered(page, "Fairness reports")
    button = page.get_by_role("button", name="Download").filter(has_text=".html")
    with page.expect_download() as download:
        button.first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"<!DOCTYPE html>")
    screenshot(page, "path-5-report-exported")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(saved))
    page.get_by_text("verified").first.wait_for(timeout=60_000)
    rendered(page, "Fairness reports")
    assert f"{saved.name}: verified" in _body(page)
    screenshot(page, "path-6-report-verified")
