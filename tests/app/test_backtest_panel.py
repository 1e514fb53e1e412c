"""The alerts page's "try a rule" panel under ``AppTest``, on a small synthetic history.

The page must show the backtest of the rule being written — the numbers the backtest
library gives for the same rule, the firing episodes shaded on the metric's chart — and
save nothing. It is shown with no rule yet (the author's first rule) and below the
tables once rules exist.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from monitors.alerts.backtest import preview_rule
from storage.engine import dispose_all, get_engine, session_scope
from storage.models import MetricResult, Model
from tests.app.conftest import MAIN

T0 = datetime(2026, 3, 1, tzinfo=UTC)
AGE = [0.1, 0.3, 0.35, 0.1, 0.25, 0.3, 0.32, 0.1, 0.1, 0.4, 0.05, 0.3]


@pytest.fixture(autouse=True)
def local_address() -> Iterator[None]:
    """Run the page as if served on localhost (the dashboard's default)."""
    old = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", old)


@pytest.fixture
def history_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Model ``credit``: 12 daily windows of ``psi`` (age, income) and ``accuracy``."""
    url = f"sqlite:///{tmp_path / 'panel.db'}"
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = Model(name="credit", task="classification", schema_json={}, log_table="log_c")
        session.add(model)
        session.flush()
        for i, age in enumerate(AGE):
            start, end = T0 + timedelta(days=i), T0 + timedelta(days=i + 1)
            for metric, feature, value in (
                ("psi", "age", age),
                ("psi", "income", 0.05),
                ("accuracy", "", 0.9 - age / 2),
            ):
                session.add(
                    MetricResult(
                        model_id=model.id,
                        window_start=start,
                        window_end=end,
                        analyzer="drift" if metric == "psi" else "performance",
                        metric=metric,
                        feature=feature,
                        group="",
                        value=value,
                        threshold=None,
                        status="ok",
                        details={},
                    )
                )
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    yield url
    dispose_all()


def open_alerts() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=90)
    at.switch_page("views/alerts.py")
    at.query_params["model"] = "credit"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart(at: AppTest) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The Vega-Lite spec of the page's one chart and its datasets by name."""
    (element,) = at.get("vega_lite_chart")
    datasets = {
        d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas()
        for d in element.proto.datasets
    }
    return json.loads(element.proto.spec), datasets


def rows(url: str, table: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


def test_try_a_rule_before_any_rule_exists(history_url: str) -> None:
    at = open_alerts()
    assert "No alert rules yet" in "\n".join(i.value for i in at.info)
    at.selectbox(key="dw_bt_metric").set_value("psi")
    at.run()
    at.selectbox(key="dw_bt_series_psi").set_value("age")
    at.run()
    at.selectbox(key="dw_bt_op").set_value(">")
    at.number_input(key="dw_bt_thr_psi_age").set_value(0.2)
    at.number_input(key="dw_bt_for").set_value(2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    rule = {"name": "try", "model": "credit", "metric": "psi", "feature": "age", "op": ">"}
    expected = preview_rule(get_engine(history_url), rule | {"threshold": 0.2, "for": 2})
    shown = metrics(at)
    assert shown["Firing episodes"] == str(expected.result.episodes) == "2"
    assert shown["Notifications per channel"] == str(expected.result.notifications)
    assert shown["Pending windows, never fired"] == "2"  # days 9 and 11: single breaches
    # the episodes (days 1-2 and 4-6) are shaded on the chart: rects from/until
    spec, datasets = chart(at)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "line", "rule"]
    shaded = datasets[spec["layer"][0]["data"]["name"]]
    assert [
        (str(f)[:10], str(u)[:10]) for f, u in zip(shaded["from"], shaded["until"], strict=True)
    ] == [
        ("2026-03-02", "2026-03-04"),
        ("2026-03-05", "2026-03-08"),
    ]
    line = datasets[spec["layer"][1]["data"]["name"]]
    assert line["value"].round(6).tolist() == AGE
    assert "threshold: 0.2" in at.code[0].value and "for: 2" in at.code[0].value
    assert rows(history_url, "alert_rule") == 0  # nothing saved


def test_panel_follows_the_tables_once_rules_exist(history_url: str, tmp_path: Path) -> None:
    from monitors.alerts.service import apply_rule_file

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {name: acc, model: credit, metric: accuracy, op: '<', threshold: 0.8}\n"
    )
    apply_rule_file(get_engine(history_url), rules)
    at = open_alerts()
    assert [s.value for s in at.subheader][-1] == "Try a rule"
    at.selectbox(key="dw_bt_metric").set_value("accuracy")
    at.run()
    at.selectbox(key="dw_bt_op").set_value("<")
    at.number_input(key="dw_bt_thr_accuracy_model level").set_value(0.8)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # accuracy < 0.8 when age psi > 0.2: days 1-2, 4-6, 9 and 11
    assert metrics(at)["Firing episodes"] == "4"
    assert rows(history_url, "alert_rule") == 1
    assert rows(history_url, "alert_event") == 0
