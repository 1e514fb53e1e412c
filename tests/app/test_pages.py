"""Every dashboard page under ``AppTest``, on the analysed lending demo.

Expected numbers are read from the database with plain SQL in the test (not through
the dashboard's query functions); scenario facts (``credit_score`` shifts from day 35,
``purpose`` gains ``crypto`` from day 40, ``group=D`` loses approvals in the last 14
days, labels stop 7 days before the end) come from :mod:`monitors.demo.lending`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from tests.app.conftest import MAIN

PAGES = [
    "overview",
    "drift",
    "quality",
    "performance",
    "fairness",
    "explanations",
    "alerts",
    "reports",
]


@pytest.fixture(autouse=True)
def local_address() -> Iterator[None]:
    """Run the pages as if served on localhost (the dashboard's default)."""
    old = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", old)


def open_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=90)
    if page != "overview":
        at.switch_page(f"views/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sql(url: str, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(query, args).fetchall()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_overview_shows_each_model_with_its_status(demo_url: str) -> None:
    at = open_page("overview")
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["credit"]
    row = table.iloc[0]
    ((windows, rows, labels),) = sql(
        demo_url, "select count(*), sum(n_rows), sum(n_labels) from window_run"
    )
    ((drifting,),) = sql(
        demo_url,
        "select count(*) from metric_result where metric='drift_detected' and value=1 "
        "and window_start=(select max(window_start) from window_run)",
    )
    ((firing,),) = sql(demo_url, "select count(*) from alert_series where state='firing'")
    assert (row["windows"], row["rows_analyzed"], row["drifting_features"]) == (
        windows,
        rows,
        drifting,
    )
    assert row["label_coverage"] == pytest.approx(labels / rows)
    assert row["firing_alerts"] == firing > 0
    assert str(row["last_window_end"].date()) == "2026-03-02"
    assert metrics(at)["Firing alerts"] == str(firing)


@pytest.mark.parametrize("page", PAGES)
def test_empty_database_explains_how_to_register_a_model(empty_url: str, page: str) -> None:
    at = open_page(page)
    assert "No models yet" in texts(at.info)
    assert "driftwarden models register" in texts(at.info)


@pytest.mark.parametrize("page", ["overview", "drift"])
def test_unreachable_database_gives_a_clear_message(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", "postgresql://dw:secret@127.0.0.1:9/driftwarden")
    at = open_page(page)
    message = texts(at.error)
    assert "cannot be reached" in message
    assert "secret" not in message


def test_unknown_model_in_the_link_names_the_registered_models(demo_url: str) -> None:
    at = open_page("drift", model="nope")
    assert "Unknown model 'nope'" in texts(at.error)
    assert "credit" in texts(at.error)
    assert not at.metric  # nothing of another model is shown under that link


def test_bad_dates_in_the_link_fall_back_to_the_default_period(demo_url: str) -> None:
    at = open_page("drift", model="credit", **{"from": "yesterday", "to": "2026-13-45"})
    warnings = texts(at.warning)
    assert "'yesterday'" in warnings and "'2026-13-45'" in warnings
    assert at.query_params["from"] == "2026-01-01T00:00:00+00:00"
    assert at.query_params["to"] == "2026-03-02T00:00:00+00:00"


def test_drift_drill_down_shows_test_statistic_and_since_when(demo_url: str) -> None:
    at = open_page("drift", model="credit", feature="credit_score")
    ((details,),) = sql(
        demo_url,
        "select details from metric_result where metric='drift_detected' and "
        "feature='credit_score' order by window_start desc limit 1",
    )
    details = json.loads(details)
    shown = metrics(at)
    assert shown["Verdict (last window)"] == "drift"
    assert shown["Test used"] == details["method"]
    assert shown["Statistic"] == f"{details['statistic']:.4g}"
    assert details["reason"] in texts(at.markdown)
    verdicts = sql(
        demo_url,
        "select substr(window_start, 1, 10), value from metric_result where "
        "metric='drift_detected' and feature='credit_score' order by window_start",
    )
    since = None
    for day, value in verdicts:
        since = (since or day) if value == 1 else None
    assert since is not None and since >= "2026-02-05"  # the shift starts on day 35
    assert f"Drifting since the window starting **{since}**" in texts(at.markdown)
    assert at.query_params["feature"] == "credit_score"


def test_drift_period_from_the_link_is_applied(demo_url: str) -> None:
    at = open_page(
        "drift",
        model="credit",
        feature="credit_score",
        **{"from": "2026-01-10", "to": "2026-02-01"},
    )
    ((drifted, total),) = sql(
        demo_url,
        "select sum(value=1), count(*) from metric_result where metric='drift_detected' "
        "and window_start='2026-01-31 00:00:00.000000'",
    )
    ((last,),) = sql(
        demo_url,
        "select status from metric_result where metric='drift_detected' "
        "and feature='credit_score' and window_start='2026-01-31 00:00:00.000000'",
    )
    assert metrics(at)["Features drifting in the last window"] == f"{drifted} of {total}"
    assert metrics(at)["Verdict (last window)"] == last  # the window of 'to', not the last
    assert at.query_params["to"] == "2026-02-01T00:00:00+00:00"


def test_quality_lists_the_new_category(demo_url: str) -> None:
    at = open_page("quality", model="credit")
    tables = [d.value for d in at.dataframe]
    new = next(t for t in tables if "new_categories" in t.columns)
    assert set(new["feature"]) == {"purpose"}
    assert new["new_categories"].str.contains("crypto").all()
    assert str(new["window_start"].min().date()) == "2026-02-10"  # day 40
    ((quarantined,),) = sql(
        demo_url,
        "select coalesce(sum(value), 0) from metric_result where metric='quarantined_rows'",
    )
    assert metrics(at)["Quarantined rows in the period"] == str(int(quarantined))


def test_performance_shows_label_coverage_and_missing_labels(demo_url: str) -> None:
    at = open_page("performance", model="credit")
    ((rows, labels),) = sql(demo_url, "select sum(n_rows), sum(n_labels) from window_run")
    assert metrics(at)["Label coverage (period)"] == f"{labels / rows:.1%}"
    ((unlabelled, first),) = sql(
        demo_url,
        "select count(*), substr(min(window_start), 1, 10) from window_run where n_labels = 0",
    )
    assert unlabelled == 7  # labels arrive 7 days late
    assert f"No labels yet for {unlabelled} window(s) from {first}" in texts(at.caption)
    assert any(s.value == "Confusion matrix" for s in at.subheader)

    late = open_page("performance", model="credit", **{"from": first})
    assert metrics(late)["Label coverage (period)"] == "0.0%"
    assert "No labels yet in this period" in texts(late.warning)


def test_fairness_shows_the_group_breach_and_small_groups(demo_url: str) -> None:
    at = open_page("fairness", model="credit", feature="group")
    assert "disparate_impact_ratio" in texts(at.error)
    disparities = at.dataframe[0].value.set_index("metric")
    ((value, status),) = sql(
        demo_url,
        "select value, status from metric_result where metric='disparate_impact_ratio' and "
        "feature='group' order by window_start desc limit 1",
    )
    assert disparities.loc["disparate_impact_ratio", "value"] == pytest.approx(value)
    assert disparities.loc["disparate_impact_ratio", "status"] == status == "breach"
    small = sql(
        demo_url,
        "select group_key from metric_result where metric='selection_rate' and feature='group' "
        "and status='insufficient_data' and window_start=(select max(window_start) from "
        "window_run) order by group_key",
    )
    if small:
        assert all(g in texts(at.warning) for (g,) in small)
    groups = at.dataframe[-1].value
    assert set(groups["group"]) == {"group=A", "group=B", "group=C", "group=D"}


def test_explanations_explain_one_prediction_by_id(demo_url: str) -> None:
    at = open_page("explanations", model="credit", id="d050-000003")
    table = at.dataframe[-1].value
    text = texts(at.markdown)
    assert "Prediction **d050-000003**" in text
    output = float(text.split("model output ")[1].split(" ")[0])
    base = float(text.split("base value ")[1].split(" ")[0])
    assert base + table["attribution"].sum() == pytest.approx(output, abs=1e-3)
    assert len(table) == 7

    missing = open_page("explanations", model="credit", id="no-such-id")
    assert "no-such-id" in texts(missing.warning)


def test_alerts_acknowledge_and_silence_from_the_page(demo_url: str) -> None:
    at = open_page("alerts", model="credit")
    ((rules,),) = sql(demo_url, "select count(*) from alert_rule")
    ((firing,),) = sql(demo_url, "select count(*) from alert_series where state='firing'")
    assert metrics(at)["Rules"] == str(rules)
    assert metrics(at)["Firing"] == str(firing)

    at.button[0].click()  # the acknowledge form's submit button
    at.run()
    assert "Acknowledged alert series" in texts(at.success)
    acked = sql(
        demo_url, "select acknowledged_by from alert_series where acknowledged_at is not null"
    )
    assert len(acked) == 1

    at.text_input[0].set_value("")
    at.button[1].click()
    at.run()
    assert "reason must not be empty" in texts(at.error)
    at.text_input[0].set_value("deploy window")
    at.button[1].click()
    at.run()
    assert sql(demo_url, "select rule, reason from alert_silence") == [
        ("credit-score-drift", "deploy window")
    ]


def test_reports_export_offers_downloads(demo_url: str) -> None:
    at = open_page("reports", model="credit", **{"from": "2026-02-20", "to": "2026-03-02"})
    at.multiselect[1].set_value(["json"])
    at.button[0].click()
    at.run(timeout=120)
    assert not at.exception
    assert "Exported report" in texts(at.success)
    downloads = at.get("download_button")
    assert len(downloads) == 1
    ((files,),) = sql(demo_url, "select files from report_export")
    assert list(json.loads(files)) == [downloads[0].proto.label.removeprefix("Download ")]


def test_non_local_address_without_login_is_refused(demo_url: str) -> None:
    st_config.set_option("server.address", "0.0.0.0")
    at = open_page("overview")
    assert "non-local address without login" in texts(at.error)
    assert not at.dataframe


def test_report_export_is_restricted_to_listed_auditors(demo_url: str) -> None:
    at = AppTest.from_file(MAIN, default_timeout=90)
    at.secrets["driftwarden"] = {"auditors": ["auditor@example.com"]}
    at.switch_page("views/reports.py")
    at.query_params["model"] = "credit"
    at.run()
    assert not at.exception
    assert "Only auditors may export reports" in texts(at.warning)
    assert not any(b.label == "Export report" for b in at.button)
