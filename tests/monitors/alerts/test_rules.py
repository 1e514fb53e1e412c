"""Rule files: validation messages, applying, replacing."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from monitors.alerts.rules import OPS, Rule, apply_rules, parse_duration, parse_rule_file
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
        (
            f"rules: [{BASE}, require_significant: sure}}]",
            "Rule 'age-drift': require_significant must be true or false; got 'sure'.",
        ),
        (
            f"rules: [{BASE}, labels: {{'driftwarden:require_significant': 'x'}}}}]",
            "Rule 'age-drift': labels: the key 'driftwarden:require_significant' is reserved.",
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


def test_require_significant_is_validated_stored_and_read_back(database_url: str) -> None:
    """The flag survives apply (kept in the stored labels, hidden from messages)."""
    text = """
rules:
  - name: dpd-certain
    model: credit
    metric: demographic_parity_difference
    feature: sex
    op: ">"
    threshold: 0.1
    require_significant: true
    labels: {team: fairness}
  - {name: dpd-possible, model: credit, metric: demographic_parity_difference, op: ">",
     threshold: 0.1}
"""
    parsed = parse_rule_file(text)
    assert [r.require_significant for r in parsed.rules] == [True, False]
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        apply_rules(session, parsed)
    with session_scope(engine) as session:
        rows = {r.name: Rule.from_row(r) for r in session.scalars(select(AlertRule))}
    assert rows["dpd-certain"].require_significant
    assert dict(rows["dpd-certain"].labels) == {"team": "fairness"}
    assert not rows["dpd-possible"].require_significant
    with session_scope(engine) as session:
        assert apply_rules(session, parsed).unchanged == ("dpd-certain", "dpd-possible")
    relaxed = parse_rule_file(text.replace("require_significant: true", "require_significant: no"))
    with session_scope(engine) as session:
        assert apply_rules(session, relaxed).updated == ("dpd-certain",)
    with session_scope(engine) as session:
        row = session.scalars(select(AlertRule).where(AlertRule.name == "dpd-certain")).one()
        assert not Rule.from_row(row).require_significant


@pytest.mark.parametrize(
    ("op", "threshold", "value", "low", "high", "expected"),
    [
        (">", 0.1, 0.3, 0.15, 0.45, True),  # whole interval above
        (">", 0.1, 0.3, 0.05, 0.45, False),  # breach, but the interval reaches back
        (">=", 0.1, 0.3, 0.1, 0.45, True),
        (">", 0.1, 0.05, 0.0, 0.2, False),  # no breach
        ("<", 0.8, 0.6, 0.4, 0.75, True),
        ("<=", 0.8, 0.6, 0.4, 0.8, True),
        ("<", 0.8, 0.6, 0.4, 0.9, False),
        (">", 0.1, 0.3, None, None, False),  # no interval: not significant
        (">", 0.1, None, 0.2, 0.4, None),  # no value: no data
    ],
)
def test_breaching_with_require_significant(
    op: str,
    threshold: float,
    value: float | None,
    low: float | None,
    high: float | None,
    expected: bool | None,
) -> None:
    rule = Rule(
        id=1,
        name="r",
        model="m",
        metric="demographic_parity_difference",
        feature="sex",
        group=None,
        op=op,
        threshold=threshold,
        require_significant=True,
    )
    assert rule.breaching(value, ci_low=low, ci_high=high) is expected
    plain = replace(rule, require_significant=False)
    breach = None if value is None else OPS[op](value, threshold)
    assert plain.breaching(value, ci_low=low, ci_high=high) is breach
