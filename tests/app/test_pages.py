"""Every dashboard page under ``AppTest``, on the analysed lending demo.

Expected numbers are read from the database with plain SQL in the test (not through
the dashboard's query functions); scenario facts (``credit_score`` shifts from day 35,
``purpose`` gains ``crypto`` from day 40, ``group=D`` loses approvals in the last 14
days, labels stop 7 days before the end) come from :mod:`monitors.demo.lending`.
"""

from __future__ import annotations

import json
import re
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


#: SQL condition selecting the rows of the demo's model ``credit`` (the demo also holds
#: its candidate ``credit_v2``).
CREDIT = "model_id=(select id from model where name='credit')"
LAST = f"(select max(window_start) from window_run where {CREDIT})"


def sql(url: str, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(query, args).fetchall()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def plain(text: str) -> str:
    """Markdown source as the reader sees it (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


def texts(elements) -> str:
    return plain("\n".join(str(e.value) for e in elements))


def test_overview_shows_each_model_with_its_status(demo_url: str) -> None:
    at = open_page("overview")
    table = at.dataframe[0].value
    assert "credit" in table["model"].tolist()
    row = table.set_index("model").loc["credit"]
    ((windows, rows, labels),) = sql(
        demo_url, f"select count(*), sum(n_rows), sum(n_labels) from window_run where {CREDIT}"
    )
    drifting = sql(
        demo_url,
        "select feature from metric_result where metric='drift_detected' and value=1 "
        f"and {CREDIT} and window_start={LAST} order by feature",
    )
    features = {
        n
        for (n,) in sql(
            demo_url, f"select name from model_column where role='feature' and {CREDIT}"
        )
    }
    firing = sql(
        demo_url,
        "select r.name, r.severity from alert_series s join alert_rule r on r.id=s.rule_id "
        "where s.state='firing' and r.model='credit' order by r.name",
    )
    assert row["drifting features"].split(" (also")[0] == ", ".join(
        f for (f,) in drifting if f in features
    )
    order = {"critical": 0, "error": 1, "warning": 2, "info": 3}
    firing.sort(key=lambda t: (order.get(t[1], 4), f"{t[0]} ({t[1]})"))
    assert row["firing alerts"] == ", ".join(f"{n} ({sev})" for n, sev in firing)
    assert len(firing) > 0
    assert row["labels"] == f"{labels / rows * 100:.0f} %"
    assert row["drift"] == "./drift?model=credit"
    ((all_firing,),) = sql(demo_url, "select count(*) from alert_series where state='firing'")
    assert metrics(at)["Firing alerts"] == str(all_firing)
    details = at.dataframe[1].value.set_index("model").loc["credit"]
    assert (details["windows analysed"], details["rows analysed"]) == (
        str(windows),
        f"{rows:,}",
    )
    assert details["analysed up to (UTC)"] == "2026-03-02 00:00"


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
    assert at.query_params["from"] == "2026-01-01"
    assert at.query_params["to"] == "2026-03-02"


def test_drift_drill_down_shows_test_statistic_and_since_when(demo_url: str) -> None:
    at = open_page("drift", model="credit", feature="credit_score")
    ((details,),) = sql(
        demo_url,
        "select details from metric_result where metric='drift_detected' and "
        f"feature='credit_score' and {CREDIT} order by window_start desc limit 1",
    )
    details = json.loads(details)
    shown = metrics(at)
    assert shown["Verdict (last window)"] == "drift"
    assert f"**Test used**  \n{details['method']}" in texts(at.markdown)
    assert shown["Statistic"] == f"{details['statistic']:.4g}"
    assert details["reason"] in texts(at.markdown)
    verdicts = sql(
        demo_url,
        "select substr(window_start, 1, 10), value from metric_result where "
        f"metric='drift_detected' and feature='credit_score' and {CREDIT} order by window_start",
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
        f"and window_start='2026-01-31 00:00:00.000000' and {CREDIT} and feature in "
        f"(select name from model_column where role='feature' and {CREDIT})",
    )
    ((last,),) = sql(
        demo_url,
        f"select status from metric_result where metric='drift_detected' and {CREDIT} "
        "and feature='credit_score' and window_start='2026-01-31 00:00:00.000000'",
    )
    assert metrics(at)["Features drifting in the last window"] == f"{drifted} of {total}"
    assert metrics(at)["Verdict (last window)"] == last  # the window of 'to', not the last
    assert at.query_params["to"] == "2026-02-01"


def test_quality_lists_the_new_category(demo_url: str) -> None:
    at = open_page("quality", model="credit")
    tables = [d.value for d in at.dataframe]
    new = next(t for t in tables if "new categories" in t.columns)
    assert set(new["column"]) == {"purpose"}
    counts = sql(
        demo_url,
        "select substr(window_start, 1, 10), details from metric_result where "
        f"metric='new_category_share' and feature='purpose' and {CREDIT} "
        "order by window_start desc",
    )
    expected = [
        (day, ", ".join(f"{c['value']} ({c['count']:,} rows)" for c in cats))
        for day, details in counts
        if (cats := json.loads(details).get("new_categories"))
    ]
    assert list(zip(new["window (UTC)"], new["new categories"], strict=True)) == expected
    assert expected[-1][0] == "2026-02-10"  # day 40
    assert "crypto (" in expected[0][1]
    ((quarantined,),) = sql(
        demo_url,
        "select coalesce(sum(value), 0) from metric_result where metric='quarantined_rows' "
        f"and {CREDIT}",
    )
    assert metrics(at)["Quarantined rows in the period"] == f"{int(quarantined):,}"


def test_quality_shows_late_labels_as_coverage_not_missing_data(demo_url: str) -> None:
    """Labels arrive 7 days late: the label is never drawn as 100 % missing."""
    at = open_page("quality", model="credit")
    ((rows, labels),) = sql(
        demo_url, f"select sum(n_rows), sum(n_labels) from window_run where {CREDIT}"
    )
    assert metrics(at)["Label coverage (period)"] == f"{labels / rows * 100:.1f} %"
    assert "7 window(s) from 2026-02-23 are waiting for labels" in texts(at.caption)
    assert any(s.value == "Label coverage" for s in at.subheader)
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    drawn = json.dumps([c.get("datasets") for c in charts])
    assert '"feature": "repaid"' not in drawn  # the label is in no missing-value chart
    for table in (d.value for d in at.dataframe):
        if "column" in table:
            assert "repaid" not in set(table["column"])
    stored = sql(
        demo_url,
        "select count(*) from metric_result where analyzer='quality' and feature='repaid' "
        f"and metric='label_coverage' and {CREDIT}",
    )
    if stored[0][0]:  # databases built by the current analyzer
        assert sql(
            demo_url,
            "select count(*) from metric_result where analyzer='quality' and "
            f"feature='repaid' and metric='missing_share' and {CREDIT}",
        ) == [(0,)]


def test_performance_shows_label_coverage_and_missing_labels(demo_url: str) -> None:
    at = open_page("performance", model="credit")
    ((rows, labels),) = sql(
        demo_url, f"select sum(n_rows), sum(n_labels) from window_run where {CREDIT}"
    )
    assert metrics(at)["Label coverage (period)"] == f"{labels / rows * 100:.1f} %"
    ((unlabelled, first),) = sql(
        demo_url,
        "select count(*), substr(min(window_start), 1, 10) from window_run where n_labels = 0 "
        f"and {CREDIT}",
    )
    assert unlabelled == 7  # labels arrive 7 days late
    assert f"No labels yet for {unlabelled} window(s) from {first}" in texts(at.caption)
    assert any(s.value == "Confusion matrix" for s in at.subheader)

    late = open_page("performance", model="credit", **{"from": first})
    assert metrics(late)["Label coverage (period)"] == "0.0 %"
    assert "No labels yet in this period" in texts(late.warning)


def _last_selection_rates(url: str, feature: str) -> dict[str, float]:
    return dict(
        sql(
            url,
            "select group_key, value from metric_result where metric='selection_rate' and "
            f"feature=? and {CREDIT} and window_start={LAST}",
            feature,
        )
    )


def test_fairness_opens_on_the_worst_breach_and_names_the_group(demo_url: str) -> None:
    """Without ``?feature=`` the page opens on ``group`` (the demo's regression), says so,
    and names group D with its rate against the highest one."""
    at = open_page("fairness", model="credit")
    assert at.query_params["feature"] == "group"
    rates = _last_selection_rates(demo_url, "group")
    low, high = min(rates, key=rates.__getitem__), max(rates, key=rates.__getitem__)
    assert low == "group=D"
    sentence = (
        f"**{low}** has the lowest selection rate, {rates[low]:.2f} vs {rates[high]:.2f} "
        f"for **{high}**"
    )
    headline = texts(at.error)
    assert "Opened on **group**: the most severe fairness breach in the last window" in headline
    assert sentence in headline
    ((value, status, details),) = sql(
        demo_url,
        "select value, status, details from metric_result where metric="
        f"'disparate_impact_ratio' and feature='group' and {CREDIT} "
        "order by window_start desc limit 1",
    )
    assert status == "breach"
    assert f"**disparate impact ratio {value:.2f}**" in headline
    low_ci, high_ci = json.loads(details)["ci_low"], json.loads(details)["ci_high"]
    assert f"interval {low_ci:.2f}–{high_ci:.2f}" in headline
    disparities = at.dataframe[0].value.set_index("disparity")
    assert disparities.loc["disparate impact ratio", "value"] == f"{value:.2f}"
    assert disparities.loc["disparate impact ratio", "status"] == "BREACH (must be ≥ 0.80)"
    groups = at.dataframe[-1].value.set_index("group")
    assert set(groups.index) == {"group=A", "group=B", "group=C", "group=D"}
    assert groups.loc[low, "status"] == (
        f"lowest selection rate, {rates[low]:.2f} vs {rates[high]:.2f} ({high})"
    )
    assert groups.loc[high, "status"].startswith("highest selection rate")
    assert "Disadvantaged in the last window" in texts(at.caption)
    chart = json.loads(at.get("vega_lite_chart")[-1].proto.spec)
    scale = json.dumps(chart)
    assert '"#c62828"' in scale  # the strongest colour, given to group D only
    colors = next(
        layer["encoding"]["color"]["scale"]
        for layer in chart["layer"]
        if "color" in layer.get("encoding", {})
    )
    assert dict(zip(colors["domain"], colors["range"], strict=True))[low] == "#c62828"
    assert list(colors["range"]).count("#c62828") == 1


def test_fairness_label_metrics_wait_for_labels(demo_url: str) -> None:
    at = open_page("fairness", model="credit", feature="group")
    disparities = at.dataframe[0].value.set_index("disparity")
    ((labels,),) = sql(
        demo_url,
        f"select n_labels from window_run where {CREDIT} order by window_start desc limit 1",
    )
    assert labels == 0  # labels arrive 7 days late
    for metric in ("equal opportunity difference", "equalized odds difference"):
        assert disparities.loc[metric, "status"] == "waiting for labels (coverage 0 %)"
        assert disparities.loc[metric, "value"] == "—"
    next(s for s in at.selectbox if s.label == "Metric").set_value("tpr").run()
    groups = at.dataframe[-1].value
    assert set(groups["status"]) == {"waiting for labels (coverage 0 %)"}


def test_fairness_link_to_another_attribute_points_at_the_worst(demo_url: str) -> None:
    at = open_page("fairness", model="credit", feature="sex")
    assert at.query_params["feature"] == "sex"
    assert re.search(
        r"The most severe fairness breach in the last window \(\S+\) is on \*\*group\*\*",
        texts(at.warning),
    )


def test_explanations_explain_one_prediction_by_id(demo_url: str) -> None:
    at = open_page("explanations", model="credit", id="d050-000003")
    table = at.dataframe[-1].value
    text = texts(at.markdown)
    assert "Prediction **d050-000003**" in text
    output = float(text.split("model output ")[1].split(" ")[0])
    base = float(text.split("base value ")[1].split(" ")[0])
    assert base + table["attribution"].astype(float).sum() == pytest.approx(output, abs=1e-3)
    assert len(table) == 7

    missing = open_page("explanations", model="credit", id="no-such-id")
    assert "no-such-id" in texts(missing.warning)


def test_alerts_say_that_rules_without_channels_notify_nobody(demo_url: str) -> None:
    at = open_page("alerts", model="credit")
    ((rules,),) = sql(demo_url, "select count(*) from alert_rule where model='credit'")
    ((firing,),) = sql(
        demo_url,
        "select count(*) from alert_series s join alert_rule r on r.id=s.rule_id "
        "where s.state='firing' and r.model='credit'",
    )
    assert metrics(at)["Rules"] == str(rules)
    assert metrics(at)["Firing"] == str(firing)
    assert f"{firing} firing alert(s) notified nobody" in texts(at.warning)
    assert not any("every notification was delivered" in t for t in texts(at.success))
    states = at.dataframe[0].value
    assert set(states.loc[states["state"] == "firing", "notification"]) == {"no channel configured"}
    assert list(states.columns) == [
        "alert",
        "severity",
        "state",
        "since (UTC)",
        "last value",
        "notification",
    ]


def test_alerts_say_what_happened_to_each_notification(demo_url: str) -> None:
    """Delivered, queued (with the error of the last try) and failed, from the outbox."""
    series = sql(
        demo_url,
        "select s.id, r.id, r.name from alert_series s join alert_rule r on r.id=s.rule_id "
        "where s.state='firing' and r.model='credit' order by r.name",
    )
    assert len(series) == 3
    outcomes = [
        ("delivered", None, "2026-03-02 00:10:00.000000"),
        ("pending", "HTTP 503 from the webhook", None),
        ("dead", "SMTP 550 mailbox unavailable", None),
    ]
    with sqlite3.connect(demo_url.removeprefix("sqlite:///")) as conn:
        for (sid, rid, _), (status, error, delivered) in zip(series, outcomes, strict=True):
            conn.execute("update alert_rule set channels='[\"ops\"]' where id=?", (rid,))
            conn.execute(
                "insert into outbox (channel, idempotency_key, series_key, payload, status, "
                "attempts, next_attempt_at, created_at, delivered_at, last_error) values "
                "('ops', ?, ?, '{}', ?, 2, '2026-03-02 00:30:00.000000', "
                "'2026-03-02 00:05:00.000000', ?, ?)",
                (f"k{sid}", f"{rid}:{sid}", status, delivered, error),
            )
    at = open_page("alerts", model="credit")
    states = at.dataframe[0].value
    by_rule = dict(
        zip(states["alert"].str.split(" · ").str[0], states["notification"], strict=True)
    )
    names = [name for *_, name in series]
    assert [by_rule[n] for n in names] == ["delivered", "queued", "failed"]
    assert metrics(at)["Notifications delivered"] == "1"
    assert metrics(at)["Notifications failed"] == "1"
    assert "failed on ops: SMTP 550 mailbox unavailable" in texts(at.error)
    assert "1 notification(s) queued" in texts(at.info)
    failed_row = states.index[states["notification"] == "failed"][0]
    queued_row = states.index[states["notification"] == "queued"][0]
    at.session_state["dw_alert_series"] = {"selection": {"rows": [failed_row], "columns": []}}
    at.run()
    details = texts(at.markdown)
    assert "**Notification:** failed on ops: SMTP 550 mailbox unavailable" in details
    assert "**Channels:** ops" in details
    at.session_state["dw_alert_series"] = {"selection": {"rows": [queued_row], "columns": []}}
    at.run()
    assert (
        "**Notification:** queued for ops (attempt 3, next try 2026-03-02 00:30 UTC; "
        "last error: HTTP 503 from the webhook)"
    ) in texts(at.markdown)


def test_alerts_acknowledge_and_silence_from_the_page(demo_url: str) -> None:
    at = open_page("alerts", model="credit")
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
    assert list(json.loads(files)) == [plain(downloads[0].proto.label).removeprefix("Download ")]


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


#: What must never reach a person: Python's ``None``/``nan``, UTC offsets, raw
#: dictionaries and dataclass reprs.
FORBIDDEN = re.compile(r"\bNone\b|\bnan\b|\bNaN\b|\+00:00|\{'|Summary\(")
VIEWS = [
    ("overview", {}),
    ("drift", {"model": "credit"}),
    ("drift", {"model": "credit", "feature": "purpose"}),
    ("quality", {"model": "credit"}),
    ("performance", {"model": "credit"}),
    ("fairness", {"model": "credit"}),
    ("fairness", {"model": "credit", "feature": "sex&age_band&group"}),
    ("explanations", {"model": "credit", "id": "d050-000003"}),
    ("alerts", {"model": "credit"}),
    ("alerts", {}),
    ("reports", {"model": "credit"}),
]


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _walk(child)


def _strings(value: object) -> list[str]:
    """Every string inside a chart spec or a list, except the chart's data."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("datasets", "data") for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def visible_text(at: AppTest) -> list[str]:
    """What a person reads on the page: texts, labels, options, table cells, chart titles
    and the text marks of charts (labels drawn from the data)."""
    out: list[str] = []
    for node in _walk(at._tree):
        kind = type(node).__name__
        if kind == "Dataframe":
            frame = node.value
            out += [str(c) for c in frame.columns]
            assert not frame.isna().any().any(), f"empty cell shown as None: {frame}"
            out += [str(v) for v in frame.to_numpy().ravel()]
        elif getattr(node, "type", None) == "vega_lite_chart":
            spec = json.loads(node.proto.spec)
            out += _strings(spec)
            for rows in spec.get("datasets", {}).values():
                out += [str(r[k]) for r in rows for k in ("text", "label") if k in r]
        elif kind in ("Markdown", "Caption", "Title", "Header", "Subheader", "Text") or kind in (
            "Error",
            "Warning",
            "Info",
            "Success",
        ):
            out.append(str(node.value))
        else:
            for attr in ("label", "help", "options", "placeholder"):
                value = getattr(node, attr, None)
                out += [str(v) for v in value] if isinstance(value, list) else []
                out += [value] if isinstance(value, str) else []
            if kind == "Metric":
                out.append(str(node.value))
    return out


@pytest.mark.parametrize(("page", "params"), VIEWS)
def test_no_internals_reach_a_person(demo_url: str, page: str, params: dict[str, str]) -> None:
    at = open_page(page, **params)
    shown = visible_text(at)
    assert len(shown) > 5
    bad = sorted({t[:120] for t in shown if FORBIDDEN.search(t)})
    assert bad == []
