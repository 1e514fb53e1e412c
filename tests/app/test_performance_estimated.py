"""The performance page shows estimated beside realized performance; the quality page warns
when the estimate rests on a poor calibration. Under ``AppTest`` on a small analysed
SQLite database (two binary models, four daily windows, labels for the first two).

Expected values are read from the database with plain SQL in the test.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from tests.app.conftest import MAIN

START = datetime(2024, 5, 6, tzinfo=UTC)
DAY = timedelta(days=1)
DAYS = 4


def _rows(n: int, *, seed: int, start: datetime | None, days: int = 1) -> pd.DataFrame:
    """Scores that are the true probability of ``y == 1``."""
    rng = np.random.default_rng(seed)
    total = n * days
    x = rng.normal(0.0, 1.5, total)
    score = 1.0 / (1.0 + np.exp(-2.0 * x))
    base = pd.Timestamp(start or START - 40 * DAY)
    ts = base + pd.to_timedelta(np.sort(rng.uniform(0, days * 86400 - 1, total)), unit="s")
    return pd.DataFrame(
        {
            "id": [f"{'ref' if start is None else 'p'}{seed}-{i:06d}" for i in range(total)],
            "ts": ts,
            "x": x,
            "yhat": (score >= 0.5).astype(int),
            "score": score,
            "y": (rng.random(total) < score).astype(int),
        }
    )


def _build(url: str) -> None:
    from monitors.collectors import Client
    from monitors.pipeline.run import run_pass

    client = Client(url)
    for name, reference_rows in (("scored", 3000), ("tiny", 150)):
        client.register_model(
            name,
            task="binary_classification",
            reference=_rows(reference_rows, seed=1, start=None),
            id="id",
            timestamp="ts",
            prediction="yhat",
            score="score",
            label="y",
            positive_class=1,
            config={"drift": {"multivariate": False}},
        )
        prod = _rows(300, seed=2, start=START, days=DAYS)
        client.log(name, prod.drop(columns="y"))
        early = prod[prod["ts"] < pd.Timestamp(START + 2 * DAY)]
        client.log_labels(name, early[["id", "y"]], id="id", label="y")
    run_pass(url=url, now=START + DAYS * DAY, alerts=False)


@pytest.fixture(scope="module")
def analysed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("estimated") / "dw.db"
    _build(f"sqlite:///{path}")
    from storage.engine import dispose_all

    dispose_all()
    return path


@pytest.fixture
def url(analysed_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    value = f"sqlite:///{analysed_db}"
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", value)
    old = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield value
    st_config.set_option("server.address", old)
    from storage.engine import dispose_all

    dispose_all()


def _open(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=90)
    at.switch_page(f"views/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sql(url: str, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(query, args).fetchall()


def _estimates(url: str, model: str, metric: str) -> list[tuple[str, float, dict]]:
    rows = _sql(
        url,
        "select substr(r.window_start, 1, 10), r.value, r.details from metric_result r "
        "join model m on m.id = r.model_id where m.name = ? and r.metric = ? "
        "order by r.window_start",
        model,
        metric,
    )
    return [(day, value, json.loads(details)) for day, value, details in rows]


def test_performance_page_shows_estimate_beside_realized(url: str) -> None:
    at = _open("performance", model="scored", **{"from": "2024-05-06", "to": "2024-05-10"})
    assert "Estimated and realized performance" in [s.value for s in at.subheader]
    words = "\n".join(str(c.value) for c in at.caption)
    assert "Estimate only (no labels yet): 2024-05-08 – 2024-05-09 (2 windows)." in words
    (select,) = [s for s in at.selectbox if s.label == "Estimated metric"]
    assert select.value == "estimated_f1"

    table = [d.value for d in at.dataframe if "estimated" in d.value.columns][0]
    f1 = _estimates(url, "scored", "estimated_f1")
    realized = dict(
        _sql(
            url,
            "select substr(window_start, 1, 10), value from metric_result "
            "where metric = 'f1' and analyzer = 'performance' and model_id = "
            "(select id from model where name = 'scored')",
        )
    )
    assert len(table) == DAYS == len(f1)
    for (day, value, details), (_, row) in zip(reversed(f1), table.iterrows(), strict=True):
        assert row["window (UTC)"] == day
        assert row["estimated"] == f"{value:.3f}"
        assert row["band"] == f"{details['ci_low']:.3f} – {details['ci_high']:.3f}"
        if realized.get(day) is not None:
            assert row["realized"] == f"{realized[day]:.3f}"
            assert row["labels"] == "labelled" and row["label coverage"] == "100 %"
        else:
            assert row["realized"] == "—"
            assert row["labels"] == "estimate only" and row["label coverage"] == "0 %"
    cells = table.astype(str).to_numpy().ravel()
    assert not any(c in ("None", "nan", "NaN") or "+00:00" in c for c in cells)

    select.set_value("estimated_roc_auc").run()
    assert not at.exception
    table = [d.value for d in at.dataframe if "estimated" in d.value.columns][0]
    auc = _estimates(url, "scored", "estimated_roc_auc")
    assert list(table["estimated"]) == [f"{v:.3f}" for _, v, _ in reversed(auc)]


def test_quality_page_says_when_calibration_was_poor(url: str) -> None:
    warned = {
        model: _estimates(url, model, "estimated_accuracy")[-1][2]["calibration_warning"]
        for model in ("scored", "tiny")
    }
    assert warned["scored"] is None and warned["tiny"], warned  # 150 reference rows
    tiny = _open("quality", model="tiny", **{"from": "2024-05-06", "to": "2024-05-10"})
    assert any("Estimated performance may not be trusted" in str(w.value) for w in tiny.warning)
    assert "out\\-of\\-fold ECE" in "\n".join(str(w.value) for w in tiny.warning)
    scored = _open("quality", model="scored", **{"from": "2024-05-06", "to": "2024-05-10"})
    assert not any("may not be trusted" in str(w.value) for w in scored.warning)
