"""Hostile names are text, never Markdown or HTML: the browser fetches nothing they name.

A model whose feature is called ``![px](http://127.0.0.1:PORT/px.png)``, whose
categories and sensitive attribute hold ``<img src=http://127.0.0.1:PORT/…>`` and
Markdown images, and whose alert rule and quarantined row carry them too, is analysed
and every page is opened in Chromium (also with such names in the link). A tiny HTTP
server on PORT counts every request: there must be none. Before the fix, the drift page
and a warning rendered the feature name as an image and the browser fetched it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from tests.app.browser import ARGS, CHROMIUM, playwright_or_skip, streamlit_server
from tests.app.browser import wait_rendered as rendered

pytestmark = pytest.mark.browser
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 3


class _Counter(BaseHTTPRequestHandler):
    """Counts every request and answers with an empty 200."""

    hits: list[str] = []

    def _answer(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def trap() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that records every request: ``(port, paths)``."""
    hits: list[str] = []
    handler = type("Trap", (_Counter,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), hits
    finally:
        server.shutdown()
        server.server_close()


def names(port: int) -> dict[str, str]:
    """The hostile names, each pointing at the trap."""
    base = f"http://127.0.0.1:{port}"
    return {
        "feature": f"![px]({base}/px.png)",
        "sensitive": f"<img src={base}/y>",
        "category": f"![cat]({base}/cat.png)",
        "html_category": f"<img src={base}/cat-html>",
        "new_category": f"![new]({base}/new.png)",
        "group_value": f"![g]({base}/g.png)",
        "id": f"![id]({base}/id.png)",
    }


def _frame(
    rng: np.random.Generator, n: int, start: datetime, hostile: dict[str, str], *, shifted: bool
) -> pd.DataFrame:
    cats = ["a", "b", hostile["category"], hostile["html_category"]]
    kind = rng.choice(cats, n).astype(object)
    if shifted:
        kind[rng.random(n) < 0.2] = hostile["new_category"]
    x = rng.normal(3.0 if shifted else 0.0, 1.0, n)
    score = 1 / (1 + np.exp(-x))
    return pd.DataFrame(
        {
            "id": [f"{start:%m%d}-{i}" for i in range(n)],
            "ts": start + pd.to_timedelta(np.sort(rng.uniform(0, 86_400 * DAYS, n)), unit="s"),
            hostile["feature"]: x,
            "kind": kind,
            hostile["sensitive"]: rng.choice(["F", hostile["group_value"]], n),
            "pred": (score > 0.5).astype(int),
            "score": score,
            "label": rng.integers(0, 2, n),
        }
    )


def _build(path: Path, hostile: dict[str, str]) -> str:
    from monitors.alerts.rules import apply_rules, parse_rule_file
    from monitors.collectors import Client
    from monitors.pipeline.run import run_pass
    from storage.engine import dispose_all, get_engine, session_scope

    url = f"sqlite:///{path}"
    rng = np.random.default_rng(5)
    reference = _frame(rng, 400, START - timedelta(days=10), hostile, shifted=False)
    client = Client(url)
    client.register_model(
        "hostile",
        task="binary_classification",
        reference=reference,
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=[hostile["sensitive"]],
        categorical=["kind"],
        positive_class=1,
        labels_with_predictions=True,
        config={"fairness": {"n_bootstrap": 30}, "drift": {"multivariate": False}},
    )
    rows = _frame(rng, 150 * DAYS, START, hostile, shifted=True)
    rows.loc[0, "id"] = None  # quarantined (no id), with hostile values in its record
    rows.loc[1, "id"] = hostile["id"]
    client.log("hostile", rows)
    rule = f"""\
rules:
  - name: hostile-drift
    model: hostile
    metric: drift_detected
    feature: {hostile["feature"]!r}
    op: ">="
    threshold: 1
    severity: critical
"""
    with session_scope(get_engine(url)) as session:
        apply_rules(session, parse_rule_file(rule, source="test rules"))
    run_pass(url=url, now=START + timedelta(days=DAYS))
    dispose_all()
    return url


def test_hostile_names_make_the_browser_fetch_nothing(
    trap: tuple[int, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_playwright = playwright_or_skip()
    port, hits = trap
    hostile = names(port)
    url = _build(tmp_path / "hostile.db", hostile)
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    feature, sensitive = quote(hostile["feature"]), quote(hostile["sensitive"])
    visits = [
        ("/", "Overview"),
        (f"/drift?model=hostile&feature={feature}", "Drift"),
        ("/drift?model=hostile&feature=kind", "Drift"),
        (f"/drift?model=hostile&feature={quote(hostile['category'])}", "Drift"),
        (f"/drift?model={quote(hostile['id'])}", "Drift"),
        ("/quality?model=hostile", "Data quality"),
        ("/performance?model=hostile", "Performance"),
        (f"/fairness?model=hostile&feature={sensitive}", "Fairness"),
        (f"/fairness?model=hostile&group={quote(hostile['group_value'])}", "Fairness"),
        (f"/explanations?model=hostile&id={quote(hostile['id'])}", "Explanations"),
        ("/alerts?model=hostile", "Alerts"),
        ("/reports?model=hostile", "Fairness reports"),
    ]
    with streamlit_server(url) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page: Any = browser.new_page(viewport={"width": 1280, "height": 1000})
            seen = []
            for path, title in visits:
                page.goto(base + path, wait_until="domcontentloaded")
                rendered(page, title)
                assert page.locator('[data-testid="stException"]').count() == 0, path
                seen.append(page.locator("body").inner_text())
                page.wait_for_timeout(500)
        finally:
            browser.close()
    text = "\n".join(seen)
    assert hostile["feature"] in text  # the names are shown, as text
    assert hostile["sensitive"] in text
    assert hits == [], f"the browser fetched {hits}"
