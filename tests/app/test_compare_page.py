"""The compare page under ``AppTest``: verdict in words, both models, fairness side by side.

A small database is built per test (two models in shadow, four labelled days, the
candidate worse for one group whose name is hostile Markdown), plus the lending demo's
comparison ``credit-v2-shadow`` for the no-internals check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from tests.app.conftest import MAIN
from tests.monitors.compare.compare_support import START, register_pair, requests, scored

HOSTILE = "![x](http://example.invalid/x.png)"


@pytest.fixture(autouse=True)
def local_address() -> Iterator[None]:
    """Run the pages as if served on localhost (the dashboard's default)."""
    old = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", old)


@pytest.fixture
def compared_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Two models in shadow, 4 labelled days; the candidate is worse for a hostile group."""
    from monitors.collectors import Client
    from monitors.compare.service import add_comparison
    from monitors.pipeline.run import run_pass
    from storage.engine import dispose_all

    url = f"sqlite:///{tmp_path / 'compare.db'}"
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    register_pair(url)
    add_comparison(url, "ab-test", baseline="base", candidate="cand", mode="shadow")
    req = requests(400, seed=5, start=START, days=4)
    req["sex"] = req["sex"].map({"F": HOSTILE, "M": "M"})
    client = Client(url)
    client.log("base", scored(req, 0.2, seed=21).drop(columns="y"))
    client.log("cand", scored(req, 0.35, seed=22, weak_group=HOSTILE).drop(columns="y"))
    for name in ("base", "cand"):
        client.log_labels(name, req[["id", "y"]], id="id", label="y")
    run_pass(url=url, now=START + timedelta(days=4))
    yield url
    dispose_all()


def open_compare(**params: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.switch_page("views/compare.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_the_page_says_the_verdict_in_words(compared_url: str) -> None:
    at = open_compare(comparison="ab-test")
    verdict = _plain(" ".join(str(e.value) for e in [*at.success, *at.info, *at.error]))
    assert "Over the period:" in verdict and "on accuracy" in verdict
    assert "candidate − baseline" in verdict
    worse = _plain(" ".join(str(w.value) for w in at.warning))
    assert f"recall (sex={HOSTILE})" in worse
    tables = [t.value for t in at.dataframe]
    period = next(t for t in tables if "candidate − baseline" in t.columns and "metric" in t)
    assert {"accuracy", "roc_auc"} <= set(period["metric"])
    assert all(re.fullmatch(r"\[[-+]\d\.\d{4}, [-+]\d\.\d{4}\]", v) for v in period["interval"])
    windows = next(t for t in tables if "in words" in t.columns)
    assert len(windows) == 4 and set(windows["window"]) == {
        f"{(START + timedelta(days=d)):%Y-%m-%d %H:%M}" for d in range(4)
    }


def test_fairness_is_side_by_side_and_group_names_stay_text(compared_url: str) -> None:
    at = open_compare(comparison="ab-test", attribute="sex")
    tables = [t.value for t in at.dataframe]
    disparities = next(t for t in tables if "disparity" in t.columns)
    assert "demographic_parity_difference" in set(disparities["disparity"])
    assert {"baseline", "candidate", "candidate − baseline", "interval"} <= set(disparities)
    groups = next(t for t in tables if "group" in t.columns and "metric" in t.columns)
    assert f"sex={HOSTILE}" in set(groups["group"])  # a table cell: plain text
    for md in [*at.markdown, *at.caption, *at.warning, *at.success, *at.info]:
        assert "](http" not in str(md.value), md.value  # never a live Markdown image


def test_an_unknown_comparison_names_the_defined_ones(compared_url: str) -> None:
    at = open_compare(comparison="nope")
    assert "ab-test" in _plain(" ".join(str(w.value) for w in at.warning))


def test_no_comparison_yet_explains_how_to_add_one(tmp_path: Path, monkeypatch) -> None:
    from storage.engine import dispose_all

    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        at = open_compare()
        assert "driftwarden compare add" in " ".join(str(i.value) for i in at.info)
    finally:
        dispose_all()


def test_the_demo_comparison_shows_no_internals(demo_url: str) -> None:
    at = open_compare(comparison="credit-v2-shadow")
    shown = [str(t.value) for t in [*at.markdown, *at.caption, *at.success, *at.warning]]
    for table in at.dataframe:
        frame: pd.DataFrame = table.value
        assert not frame.isna().any().any(), frame
        shown += [str(v) for v in frame.to_numpy().ravel()]
    bad = [t for t in shown if re.search(r"\bNone\b|\bnan\b|\+00:00|\{'", t)]
    assert bad == []
    assert "recall (age_band=18-24)" in _plain(" ".join(str(w.value) for w in at.warning))
