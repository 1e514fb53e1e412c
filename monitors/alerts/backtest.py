"""Backtest alert rules on the stored metric history: when would a rule have fired?

``driftwarden alerts backtest RULES.yaml`` replays each rule of a rule file (validated as
by ``alerts apply``) over the metrics already stored, window by window in window order,
with the live engine's state machine (:func:`monitors.alerts.engine.evaluate`: ``for``,
``repeat``, ``no_data``; silences with ``with_silences``). It reports per series the
firing episodes, the notifications each channel would have received, the pending windows
that never fired and the windows without data — and writes nothing.

What the replay assumes, so that it equals what the live engine would have done had the
rule been applied before those windows were analysed:

* the series are those the live pass reads (:func:`storage.alerts.metric_points` with the
  rule's feature/group selection) and the windows are the model's analysed windows
  (:func:`storage.alerts.model_windows`); a series starts at its first stored row;
* each window is evaluated once, when it closed (``now`` = the window's end), as by a
  ``driftwarden run`` after each window: ``repeat`` counts wall-clock time between window
  ends, so with daily windows ``repeat: 24h`` repeats once a day while firing;
* silences apply (with ``with_silences``) from their creation to their end;
  acknowledgements are not replayed (a person's action);
* values are those stored now: a window re-analysed since (more labels) is replayed with
  its new values, and ``--from`` starts every series fresh (``ok``) at that time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitors.alerts import _backtest_read as reads
from monitors.alerts._backtest_replay import (
    Episode,
    RuleBacktest,
    SeriesBacktest,
    SeriesKey,
    Stored,
    WindowKey,
    replay_series,
)
from monitors.alerts._backtest_report import (
    FORMATS,
    SweepPoint,
    render,
    render_sweep,
    sweep_point,
)
from monitors.alerts._backtest_whatif import (
    SWEEP_KEYS,
    as_rule,
    parse_settings,
    parse_sweep,
    select_rules,
    sweep_rules,
    target_rule,
    with_settings,
)
from monitors.alerts.rules import Rule, load_rule_file, parse_rule_file
from monitors.errors import AlertRuleError
from storage import alerts as queries
from storage.alerts import MetricPoint
from storage.engine import read_engine, session_scope
from storage.models import MetricResult, Silence

__all__ = [
    "FORMATS",
    "SWEEP_KEYS",
    "Episode",
    "History",
    "RuleBacktest",
    "RulePreview",
    "SeriesBacktest",
    "SweepPoint",
    "as_rule",
    "backtest",
    "backtest_file",
    "load_history",
    "metric_catalogue",
    "preview",
    "preview_rule",
    "replay",
    "replay_series",
    "sweep",
]


@dataclass(frozen=True, slots=True)
class History:
    """What a rule reads: its model's windows in the period and its series' values.

    Attributes
    ----------
    windows : tuple of (datetime, datetime)
        The model's analysed windows in the period, in window order.
    values : Mapping[(str, str), Mapping[(datetime, datetime), MetricPoint]]
        Stored rows by series ``(feature, group)`` (``""``: none) and window.
    model_known : bool
        Whether the model is registered.
    """

    windows: tuple[WindowKey, ...] = ()
    values: Mapping[SeriesKey, Mapping[WindowKey, Stored]] = field(default_factory=dict)
    model_known: bool = True


def load_history(
    session: Session,
    rule: Rule,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    cache: dict[int, dict[tuple[Any, Any], WindowKey]] | None = None,
) -> History:
    """Read what ``rule`` would read: the same rows as the live pass's queries.

    Parameters
    ----------
    session : Session
        A session (only ``SELECT`` statements are issued).
    rule : Rule
        The rule (its model, metric, feature and group select the series).
    start, end : datetime, optional
        The period: windows starting at or after ``start`` and ending at or before ``end``.
    cache : dict, optional
        Model windows by model id, shared between the rules of one backtest.

    Returns
    -------
    History
    """
    model_id = queries.model_id(session, rule.model)
    if model_id is None:
        return History(model_known=False)
    cache = {} if cache is None else cache
    if model_id not in cache:
        cache[model_id] = reads.model_windows(session, model_id, start=start, end=end)
    windows = cache[model_id]
    values = reads.series_values(session, model_id, rule, windows=windows, start=start, end=end)
    return History(tuple(windows.values()), values)


def replay(rule: Rule, history: History, *, silences: Sequence[Silence] = ()) -> RuleBacktest:
    """Replay ``rule`` over every series of ``history`` (pure; see :func:`replay_series`)."""
    series = tuple(
        replay_series(rule, history.windows, history.values[key], key=key, silences=silences)
        for key in sorted(history.values)
    )
    windows = history.windows
    return RuleBacktest(
        rule=rule,
        windows=len(windows),
        first=windows[0][0] if windows else None,
        last=windows[-1][1] if windows else None,
        series=series,
        model_known=history.model_known,
    )


Selection = tuple[str, str, str | None, str | None, bool]
"""What a rule reads: model, metric, feature, group, and whether intervals are read."""


def _selection(rule: Rule) -> Selection:
    """What a rule reads (rules that differ only in how they judge share one history)."""
    return (rule.model, rule.metric, rule.feature, rule.group, rule.require_significant)


def _read(
    engine: Engine,
    rules: Sequence[Rule],
    *,
    start: datetime | None,
    end: datetime | None,
    with_silences: bool,
) -> tuple[dict[Selection, History], list[Silence]]:
    """Histories by selection and the stored silences, in one read-only transaction."""
    histories: dict[Selection, History] = {}
    cache: dict[int, dict[tuple[Any, Any], WindowKey]] = {}
    with session_scope(read_engine(engine)) as session:
        for rule in rules:
            key = _selection(rule)
            if key not in histories:
                histories[key] = load_history(session, rule, start=start, end=end, cache=cache)
        silences = list(queries.silences(session)) if with_silences else []
        session.expunge_all()
    return histories, silences


def backtest(
    engine: Engine,
    rules: Sequence[Rule],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    with_silences: bool = False,
) -> list[RuleBacktest]:
    """Backtest rules over the stored metric history; nothing is written.

    Parameters
    ----------
    engine : Engine
        Database engine (read through :func:`storage.engine.read_engine`).
    rules : sequence of Rule
        The rules (e.g. from :func:`as_rule` on a rule file's rules).
    start, end : datetime, optional
        The period (windows starting at or after ``start``, ending at or before ``end``).
    with_silences : bool, default False
        Apply the stored silences, each from its creation to its end.

    Returns
    -------
    list of RuleBacktest
        One per rule, in order.
    """
    histories, silences = _read(engine, rules, start=start, end=end, with_silences=with_silences)
    return [replay(rule, histories[_selection(rule)], silences=silences) for rule in rules]


def preview(
    engine: Engine, rule: Rule, *, start: datetime | None = None, end: datetime | None = None
) -> tuple[RuleBacktest, History]:
    """A rule's backtest and the history it read (the dashboard's "try a rule" chart)."""
    histories, _ = _read(engine, [rule], start=start, end=end, with_silences=False)
    history = histories[_selection(rule)]
    return replay(rule, history), history


PREVIEW_CHANNEL = "each channel"
"""The placeholder channel of a previewed rule (so notifications are counted)."""


@dataclass(frozen=True)
class RulePreview:
    """A rule's backtest with the frames the dashboard charts.

    Attributes
    ----------
    result : RuleBacktest
        The backtest (notifications counted for one placeholder channel).
    values : pandas.DataFrame
        ``window_start``, ``window_end``, ``series``, ``value`` (``NaN``: null).
    episodes : pandas.DataFrame
        ``series``, ``from``, ``to`` (window starts), ``until`` (end of the ``to``
        window), ``peak``, ``open``.
    """

    result: RuleBacktest
    values: pd.DataFrame
    episodes: pd.DataFrame


def _value_of(stored: Stored) -> float | None:
    """The value of a stored row."""
    return stored.value if isinstance(stored, MetricPoint) else stored


def preview_rule(
    engine: Engine,
    rule: Mapping[str, Any],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> RulePreview:
    """Backtest one rule given as rule-file keys, before it is saved (the "try a rule" panel).

    The rule is validated as in a rule file; it gets one placeholder channel, so the
    notifications it would send per channel are counted.

    Raises
    ------
    AlertRuleError
        If the keys do not make a valid rule.
    """
    config = parse_rule_file(yaml.safe_dump({"rules": [dict(rule)]}), source="rule").rules[0]
    tried = replace(as_rule(config), channels=(PREVIEW_CHANNEL,))
    result, history = preview(engine, tried, start=start, end=end)
    labels = {s: _label(s) for s in history.values}
    values = pd.DataFrame(
        [
            (w[0], w[1], labels[key], _value_of(stored))
            for key, rows in history.values.items()
            for w, stored in rows.items()
        ],
        columns=["window_start", "window_end", "series", "value"],
    ).astype({"value": "float64"})
    ends = dict(history.windows)
    episodes = pd.DataFrame(
        [
            (s.label, e.start, e.end, ends.get(e.end, e.end), e.peak, e.open)
            for s in result.series
            for e in s.episodes
        ],
        columns=["series", "from", "to", "until", "peak", "open"],
    )
    return RulePreview(result, values.sort_values(["series", "window_start"]), episodes)


def _label(key: SeriesKey) -> str:
    """``feature/group`` or ``(model)``."""
    return "/".join(p for p in key if p) or "(model)"


def metric_catalogue(engine: Engine, model: str) -> list[tuple[str, str, str]]:
    """Distinct stored ``(metric, feature, group)`` of a model, sorted (``""``: none)."""
    with session_scope(read_engine(engine)) as session:
        model_id = queries.model_id(session, model)
        if model_id is None:
            return []
        query = (
            select(MetricResult.metric, MetricResult.feature, MetricResult.group)
            .where(MetricResult.model_id == model_id)
            .distinct()
            .order_by(MetricResult.metric, MetricResult.feature, MetricResult.group)
        )
        return [(m, f, g) for m, f, g in session.execute(query)]


def sweep(
    engine: Engine,
    rules: Sequence[Rule],
    *,
    key: str,
    values: Sequence[float | int],
    start: datetime | None = None,
    end: datetime | None = None,
    with_silences: bool = False,
) -> list[SweepPoint]:
    """Backtest variants of one rule (``rules[i]`` has ``key = values[i]``); one point each."""
    results = backtest(engine, rules, start=start, end=end, with_silences=with_silences)
    return [sweep_point(key, v, r) for v, r in zip(values, results, strict=True)]


def backtest_file(
    engine: Engine,
    path: str | Path,
    *,
    names: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    fmt: str = "text",
    with_silences: bool = False,
    settings: Sequence[str] = (),
    sweep_spec: str | None = None,
) -> str:
    """What ``driftwarden alerts backtest`` prints.

    Parameters
    ----------
    engine : Engine
        Database engine.
    path : str or Path
        The rule file, validated as by ``alerts apply``.
    names : sequence of str, optional
        Only these rules (default: every enabled rule of the file).
    start, end : datetime, optional
        The period.
    fmt : str
        ``text``, ``json`` or ``csv``.
    with_silences : bool
        Apply the stored silences.
    settings : sequence of str
        ``KEY=VALUE`` overrides of the selected rule (``--set``).
    sweep_spec : str, optional
        ``KEY=START:STOP:STEP`` (``--sweep``): one line per value instead of the report.

    Raises
    ------
    AlertRuleError
        On an invalid file, option or override.
    """
    if fmt not in FORMATS:
        raise AlertRuleError(f"--format: expected one of {', '.join(FORMATS)}; got {fmt!r}.")
    if start is not None and end is not None and start >= end:
        raise AlertRuleError(
            f"--from must be before --to; got {start.isoformat()} and {end.isoformat()}."
        )
    rule_file = load_rule_file(path)
    selected = select_rules(rule_file, names)
    overrides: dict[str, Any] = parse_settings(settings)
    spec = parse_sweep(sweep_spec) if sweep_spec is not None else None
    if overrides or spec is not None:
        target = target_rule(selected, "--sweep" if spec is not None else "--set")
        rule_file = with_settings(rule_file, target.name, overrides)
        selected = select_rules(rule_file, [target.name])
    if spec is not None:
        variants = sweep_rules(rule_file, selected[0].name, spec)
        points = sweep(
            engine,
            variants,
            key=spec.key,
            values=spec.values,
            start=start,
            end=end,
            with_silences=with_silences,
        )
        return render_sweep(as_rule(selected[0]), points, fmt)
    rules = [as_rule(config, rule_id=i + 1) for i, config in enumerate(selected)]
    results = backtest(engine, rules, start=start, end=end, with_silences=with_silences)
    return render(results, fmt)
