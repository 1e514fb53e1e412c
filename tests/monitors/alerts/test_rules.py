"""Rule files: validation messages, applying, replacing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from monitors.alerts.rules import parse_duration, parse_rule_file
from monitors.alerts.service import apply_rule_file
from monitors.errors import AlertRuleError
from storage.engine import get_engine, session_scope
from storage.models import AlertChannel, AlertRule

ISSUE_EXAMPLE = """
channels:
  oncall:   {type: email, to: [ml-oncall@example.com]}
  ml-team:  {type: slack, webhook_url_env: DRIFTWARDEN_SLACK_WEBHOOK}
  retrain:  {type: webhook, url_env: RETRAIN_WEBHOOK_URL, secret_env: RETRAIN_WEBHOOK_SECRET}
rules:
  - name: age-drift
    model: credit
    metric: drift_detected      # any stored metric name
    feature: age                # or "*" for each feature; omit for model-level metrics
    # group: "sex=F"            # for per-group fairness metrics, or "*"
    op: ">="                    # > >= < <=
    threshold: 1
    for: 1                      # consecutive breaching windows before firing
    repeat: 24h
    severity: warning
    channels: [oncall, ml-team]
"""


def test_issue_example_parses() -> None:
    parsed = parse_rule_file(ISSUE_EXAMPLE)
    rule = parsed.rules[0]
    assert (rule.name, rule.feature, rule.group, rule.op, rule.threshold) == (
        "age-drift",
        "age",
        None,
        ">=",
        1.0,
    )
    assert (rule.for_windows, rule.repeat, rule.severity) == (1, 86_400, "warning")
    assert parsed.channels["retrain"].type == "webhook"


def test_defaults() -> None:
    rule = parse_rule_file(
        "rules: [{name: r, model: m, metric: psi, op: '>', threshold: 0.2}]"
    ).rules[0]
    assert (rule.for_windows, rule.repeat, rule.severity, rule.channels, rule.enabled) == (
        1,
        86_400,
        "warning",
        [],
        True,
    )


BASE = "{name: age-drift, model: credit, metric: psi, op: '>', threshold: 0.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"rules: [{BASE.replace(chr(39) + '>' + chr(39), chr(39) + '=>' + chr(39))}}}]",
            "Rule 'age-drift': op must be one of >, >=, <, <=; got '=>'.",
        ),
        (
            f"rules: [{BASE}, threshold: abc}}]".replace("threshold: 0.2, ", ""),
            "Rule 'age-drift': threshold must be a number; got 'abc'.",
        ),
        (
            f"rules: [{BASE}, for: 0}}]",
            "Rule 'age-drift': for must be a whole number of windows >= 1; got 0.",
        ),
        (
            f"rules: [{BASE}, repeat: soon}}]",
            "Rule 'age-drift': repeat: expected a duration like '90s', '15m', '24h' or '7d'; "
            "got 'soon'.",
        ),
        (
            f"rules: [{BASE}, severity: high}}]",
            "Rule 'age-drift': severity must be one of info, warning, critical; got 'high'.",
        ),
        (f"rules: [{BASE}, treshold: 1}}]", "Rule 'age-drift': unknown key 'treshold'."),
        (
            "rules: [{name: age-drift, model: credit, op: '>', threshold: 1}]",
            "Rule 'age-drift': metric is required.",
        ),
        (
            f"rules: [{BASE}, channels: [pager]}}]",
            "Rule 'age-drift': channels names 'pager', which is not defined under 'channels' "
            "(defined: none).",
        ),
        (f"rules: [{BASE}}}, {BASE}}}]", "Rule 'age-drift': name is used by more than one rule."),
        (
            "channels: {x: {type: sms}}",
            "Channel 'x': type must be one of email, slack, webhook; got 'sms'.",
        ),
        (
            "channels: {x: {type: slack, webhook_url_env: 'https://hooks.slack.com/x'}}",
            "Channel 'x': webhook_url_env must be the name of an environment variable; "
            "got 'https://hooks.slack.com/x'.",
        ),
        (
            "channels: {x: {type: email, to: [bob]}}",
            "Channel 'x': to must hold email addresses; got 'bob'.",
        ),
        ("rules: [a", "<rules>: not valid YAML at line 1."),
        ("- 1", "<rules>: expected a mapping with 'channels' and 'rules'; got list."),
    ],
)
def test_bad_rule_file_messages(text: str, message: str) -> None:
    with pytest.raises(AlertRuleError, match=re.escape(message)):
        parse_rule_file(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("24h", 86_400), ("7d", 604_800), ("1w", 604_800), (30, 30)],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


def _state(url: str) -> tuple[list[tuple[str, bool, float]], list[str]]:
    with session_scope(get_engine(url)) as session:
        rules = [
            (r.name, r.enabled, r.threshold)
            for r in session.scalars(select(AlertRule).order_by(AlertRule.name))
        ]
        channels = list(session.scalars(select(AlertChannel.name).order_by(AlertChannel.name)))
    return rules, channels


def test_apply_replaces_and_bad_file_changes_nothing(database_url: str, tmp_path: Path) -> None:
    engine = get_engine(database_url)
    first = tmp_path / "rules.yaml"
    first.write_text(
        ISSUE_EXAMPLE
        + """
  - {name: psi-any, model: credit, metric: psi, feature: "*", op: ">", threshold: 0.2}
"""
    )
    summary = apply_rule_file(engine, first)
    assert summary.created == ("age-drift", "psi-any")
    assert _state(database_url) == (
        [("age-drift", True, 1.0), ("psi-any", True, 0.2)],
        ["ml-team", "oncall", "retrain"],
    )
    second = tmp_path / "rules2.yaml"
    second.write_text(
        ISSUE_EXAMPLE.replace("threshold: 1", "threshold: 2").replace(
            "  retrain:  {type: webhook, url_env: RETRAIN_WEBHOOK_URL, "
            "secret_env: RETRAIN_WEBHOOK_SECRET}\n",
            "",
        )
    )
    summary = apply_rule_file(engine, second)
    assert (summary.updated, summary.disabled, summary.channels_removed) == (
        ("age-drift",),
        ("psi-any",),
        ("retrain",),
    )
    before = _state(database_url)
    assert before == ([("age-drift", True, 2.0), ("psi-any", False, 0.2)], ["ml-team", "oncall"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(ISSUE_EXAMPLE.replace('op: ">="', 'op: "=>"'))
    with pytest.raises(AlertRuleError, match=re.escape("Rule 'age-drift': op must be one of")):
        apply_rule_file(engine, bad)
    assert _state(database_url) == before
    # re-applying the first file re-enables the disabled rule
    assert apply_rule_file(engine, first).updated == ("age-drift", "psi-any")
