"""Comparisons in the analysis pass, on SQLite and PostgreSQL: compared once, again on labels.

Two models score the same requests (shadow) or split the traffic; the candidate is
stronger overall (accuracy 0.77 against 0.625) but scores ``sex=F`` at random.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from pipeline_support import duplicate_keys
from typer.testing import CliRunner

from monitors.alerts.rules import apply_rules, parse_rule_file
from monitors.cli import app
from monitors.collectors import Client
from monitors.compare.service import add_comparison, comparison_report, comparisons
from monitors.pipeline.run import run_pass
from storage import alerts as alert_queries
from storage.comparisons import comparison_results, get_comparison
from storage.engine import get_engine, session_scope
from storage.errors import ComparisonError
from tests.monitors.compare.compare_support import START, register_pair, requests, scored

DAYS = 5
RULE = """
rules:
  - name: cand-worse-for-women
    model: cand
    metric: recall_delta
    feature: sex
    group: "sex=F"
    op: "<"
    threshold: 0
    require_significant: true
"""


def _day(n: int):
    return START + timedelta(days=n)


def _shadow(url: str, *, labelled_days: int) -> pd.DataFrame:
    register_pair(url)
    add_comparison(url, "ab", baseline="base", candidate="cand", mode="shadow")
    req = requests(400, seed=5, start=START, days=DAYS)
    client = Client(url)
    client.log("base", scored(req, 0.2, seed=21).drop(columns="y"))
    client.log("cand", scored(req, 0.35, seed=22, weak_group="F").drop(columns="y"))
    _label(url, req, labelled_days)
    with session_scope(get_engine(url)) as session:
        apply_rules(session, parse_rule_file(RULE, source="test"))
    return req


def _label(url: str, req: pd.DataFrame, days: int, first: int = 0) -> None:
    rows = req[(req["ts"] >= pd.Timestamp(_day(first))) & (req["ts"] < pd.Timestamp(_day(days)))]
    for name in ("base", "cand"):
        Client(url).log_labels(name, rows[["id", "y"]], id="id", label="y")


def _verdicts(url: str) -> dict:
    report = comparison_report(url, "ab")
    return {
        row["window_start"]: (row["verdict"], row["basis"])
        for row in report.window_verdicts.to_dict("records")
    }


def test_a_pass_compares_each_window_once_and_again_on_new_labels(database_url: str) -> None:
    req = _shadow(database_url, labelled_days=3)
    first = run_pass(url=database_url, now=_day(DAYS))
    assert first.windows_analyzed == 2 * DAYS and first.windows_compared == DAYS
    verdicts = _verdicts(database_url)
    assert len(verdicts) == DAYS
    assert all(basis == "realized" for day, (_, basis) in verdicts.items() if day < _day(3))
    assert all(basis == "estimated" for day, (_, basis) in verdicts.items() if day >= _day(3))
    # the rule on the candidate's recall for women fires on its first significant window
    with session_scope(get_engine(database_url)) as session:
        stored = comparison_results(session, get_comparison(session, "ab"))
        events = [
            (e.to_state, e.window_start) for e, _, _ in alert_queries.events(session, model="cand")
        ]
    women = stored[(stored["metric"] == "recall_delta") & (stored["group"] == "sex=F")]
    breaching = sorted(women.loc[women["status"] == "breach", "window_start"])
    assert breaching and breaching[0] < pd.Timestamp(_day(3)), women
    assert events[0] == ("firing", breaching[0].to_pydatetime()), events

    again = run_pass(url=database_url, now=_day(DAYS))
    assert (again.windows_compared, again.metrics_stored) == (0, 0)

    _label(database_url, req, 4, first=3)  # labels of day 3 arrive
    third = run_pass(url=database_url, now=_day(DAYS))
    assert third.windows_reanalyzed == 2 and third.windows_compared == 1
    assert _verdicts(database_url)[pd.Timestamp(_day(3))][1] == "realized"
    assert duplicate_keys(database_url) == []
    with session_scope(get_engine(database_url)) as session:
        info = get_comparison(session, "ab")
        stored = comparison_results(session, info)
    assert stored["window_start"].nunique() == DAYS
    assert set(stored["analyzer"]) == {"comparison"}


def test_split_mode_the_cli_and_removal(database_url: str, tmp_path) -> None:
    register_pair(database_url)
    req = requests(600, seed=6, start=START, days=3)
    to_cand = np.random.default_rng(6).random(len(req)) < 0.5
    client = Client(database_url)
    client.log("base", scored(req[~to_cand], 0.2, seed=31).drop(columns="y"))
    client.log("cand", scored(req[to_cand], 0.35, seed=32).drop(columns="y"))
    for name, rows in (("base", req[~to_cand]), ("cand", req[to_cand])):
        client.log_labels(name, rows[["id", "y"]], id="id", label="y")
    runner = CliRunner()
    env = {"DRIFTWARDEN_DATABASE_URL": database_url}
    added = runner.invoke(
        app,
        ["compare", "add", "ab", "--baseline", "base", "--candidate", "cand", "--mode", "split"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    run_pass(url=database_url, now=_day(3))
    shown = runner.invoke(app, ["compare", "ab"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "period: The candidate is better on accuracy" in shown.output
    out = tmp_path / "ab.json"
    exported = runner.invoke(app, ["compare", "ab", "--format", "json", "--out", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    doc = json.loads(out.read_text())
    assert doc["period"]["verdict"] == "candidate_better" and len(doc["windows"]) > 3 * 20
    shares = [w for w in doc["windows"] if w["metric"] == "traffic_share"]
    assert len(shares) == 3 and all(abs(w["value"] - 0.5) < 0.06 for w in shares)
    srm = [w for w in doc["windows"] if w["metric"] == "sample_ratio_mismatch"]
    assert all(w["status"] == "ok" for w in srm)
    csv_text = runner.invoke(app, ["compare", "show", "ab", "--format", "csv"], env=env).output
    header, *lines = csv_text.splitlines()
    assert header.startswith("scope,window_start,window_end,metric")
    assert any(line.startswith("period,") and ",accuracy," in line for line in lines)
    removed = runner.invoke(app, ["compare", "remove", "ab"], env=env)
    assert removed.exit_code == 0 and "removed comparison 'ab'" in removed.output
    assert comparisons(database_url) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": "base", "candidate": "base"}, "both 'base'; expected two models"),
        ({"baseline": "base", "candidate": "nope"}, "unknown model 'nope'"),
    ],
)
def test_a_comparison_needs_two_fitting_models(database_url: str, kwargs, message) -> None:
    register_pair(database_url)
    with pytest.raises((ComparisonError, LookupError), match=message):
        add_comparison(database_url, "ab", mode="shadow", **kwargs)


def test_a_model_is_the_candidate_of_one_comparison(database_url: str) -> None:
    register_pair(database_url)
    add_comparison(database_url, "ab", baseline="base", candidate="cand", mode="shadow")
    with pytest.raises(ComparisonError, match="already the candidate of comparison 'ab'"):
        add_comparison(database_url, "ab2", baseline="base", candidate="cand", mode="shadow")


def _records(url: str, name: str) -> dict:
    """A comparison's stored records by (window, metric, feature, group): value, status."""
    out = {}
    with session_scope(get_engine(url)) as session:
        frame = comparison_results(session, get_comparison(session, name))
    for row in frame.to_dict("records"):
        key = (row["window_start"], row["metric"], row["feature"], row["group"])
        out[key] = (row["value"], row["status"])
    return out


def _drop_rows(url: str, name: str) -> None:
    """Delete a model's logged rows without touching its summaries: rows that live outside
    the store (a Spark source's), as far as a comparison can tell."""
    from sqlalchemy import delete

    from storage.logs import log_table
    from storage.registry import get_model

    with session_scope(get_engine(url)) as session:
        session.execute(delete(log_table(get_model(session, name))))


def test_windows_without_rows_are_compared_on_their_summaries_samples(sqlite_url: str) -> None:
    from monitors.compare.service import remove_comparison

    _shadow(sqlite_url, labelled_days=DAYS)
    run_pass(url=sqlite_url, now=_day(DAYS))
    on_rows = _records(sqlite_url, "ab")
    for name in ("base", "cand"):
        _drop_rows(sqlite_url, name)
    remove_comparison(sqlite_url, "ab")  # its results go with it; a new one starts over
    add_comparison(sqlite_url, "after", baseline="base", candidate="cand", mode="shadow")
    again = run_pass(url=sqlite_url, now=_day(DAYS))
    assert again.windows_compared == DAYS  # the new comparison, on the samples
    on_samples = _records(sqlite_url, "after")
    assert len(on_samples) == len(on_rows) > 0
    for (day, metric, feature, group), (value, status) in on_rows.items():
        other = on_samples[(day, metric, feature, group)]
        assert other[1] == status  # windows fit their samples: the same rows, paired
        if value is None or other[0] is None:
            assert value is other[0]
        else:
            assert other[0] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_purged_windows_have_no_sample_to_compare(sqlite_url: str) -> None:
    from monitors.compare.service import remove_comparison
    from monitors.windows import purge

    _shadow(sqlite_url, labelled_days=DAYS)
    run_pass(url=sqlite_url, now=_day(DAYS))
    for name in ("base", "cand"):
        purge(sqlite_url, name, _day(DAYS))  # the samples' rows go too
    remove_comparison(sqlite_url, "ab")
    add_comparison(sqlite_url, "after", baseline="base", candidate="cand", mode="shadow")
    again = run_pass(url=sqlite_url, now=_day(DAYS))
    assert again.windows_compared == DAYS  # no crash on windows without rows
    verdicts = {row[1] for row in _records(sqlite_url, "after").values()}
    assert verdicts <= {"insufficient_data", "ok"}


def test_reanalysing_the_candidate_compares_its_windows_again(sqlite_url: str) -> None:
    from monitors.pipeline.reanalyze import reanalyze

    _shadow(sqlite_url, labelled_days=DAYS)
    run_pass(url=sqlite_url, now=_day(DAYS))
    before = _records(sqlite_url, "ab")
    done = reanalyze("cand", url=sqlite_url, start=_day(0), end=_day(DAYS))
    assert done.from_rows == DAYS and done.windows_compared == DAYS
    after = _records(sqlite_url, "ab")
    assert set(after) == set(before) and len(before) > 0  # replaced, then computed again
    for key, (value, status) in before.items():
        assert after[key][1] == status
        if value is None:
            assert after[key][0] is None
        else:
            assert after[key][0] == pytest.approx(value, rel=1e-9, abs=1e-12)
