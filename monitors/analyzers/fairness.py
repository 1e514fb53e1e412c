"""Group fairness: per-group metrics, disparities and bootstrap intervals.

Definitions are fairlearn's (:class:`fairlearn.metrics.MetricFrame` with
``selection_rate``, ``true_positive_rate``, ``false_positive_rate``,
``false_negative_rate``, sklearn ``precision_score`` / ``accuracy_score``, and the
``demographic_parity_*``, ``equalized_odds_*``, ``equal_opportunity_difference``
disparities, ``method="between_groups"``). The numbers are computed from the counts
of (group, label, prediction) cells instead of the rows, which gives the same values
(the tests check this against fairlearn on the raw rows and on the weighted cells) in
a fraction of the time, and makes the bootstrap a multinomial draw of cell counts.

Choices (also in ``docs/analyzers-fairness.md``):

* *Groups*: each sensitive attribute alone and, with ``intersections``, every
  combination of two or more attributes in schema order (``sex&age_band``).
* *Selected* means prediction == positive class (``config.positive_class`` or
  ``schema.positive_class``). Multiclass models are analysed one-vs-rest of that
  class; without one they get ``count`` and ``accuracy`` only.
* *Labels*: rows with a null label count for ``count``, ``selection_rate`` and
  demographic parity; label-based metrics use labelled rows (``n_labelled``).
* *Missing prediction*: the row is left out of every metric and counted in the
  report (``n_missing_prediction``).
* *Missing sensitive value*: by default a group of its own (``sex=<missing>``); with
  ``missing_sensitive="exclude"`` the row is left out of that attribute's groups and
  counted (``n_missing_sensitive``).
* *Small groups* (fewer than ``min_group_size`` rows, or labelled rows for label-based
  metrics) are kept and flagged ``insufficient_data``. Disparities are taken over all
  groups, as fairlearn does; ``restricted_value`` repeats the computation over groups
  of at least ``min_group_size`` and names the groups it left out.
* *Bootstrap*: ordinary (row) bootstrap, done as one multinomial draw of all
  finest-level cell counts with the total ``n`` per resample. It has the same
  distribution as resampling rows, so group sizes vary as they would in a new window,
  and one draw serves every attribute and intersection consistently. Percentile
  intervals; resamples where a value is undefined (``0 / 0``) are skipped for it.
  Regression models (``mean_prediction``, ``mae``) are resampled row-wise (cost
  ``O(n * n_bootstrap)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from monitors.analyzers import _fairness_counts as fc
from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers._fairness_types import (
    DISPARITIES,
    LABEL_DISPARITIES,
    Disparity,
    DisparityName,
    DisparityThresholds,
    Estimate,
    FairnessConfig,
    FairnessOverride,
    FairnessReport,
    GroupMetrics,
)
from monitors.analyzers.base import BREACH, INSUFFICIENT_DATA, OK, MetricRecord, finite_or_none
from monitors.errors import ConfigError
from storage.schema import ModelSchema, Scalar, Task

__all__ = [
    "DISPARITIES",
    "Disparity",
    "DisparityName",
    "DisparityThresholds",
    "Estimate",
    "FairnessConfig",
    "FairnessOverride",
    "FairnessReport",
    "GroupMetrics",
    "fairness_records",
    "group_fairness",
]

ANALYZER: Final = "fairness"

_LABEL_METRICS: Final = frozenset({"tpr", "fpr", "fnr", "precision", "accuracy", "mae"})

_REASONS: Final = {
    "selection_rate": "no rows",
    "tpr": "no labelled rows with the positive label (0/0)",
    "fnr": "no labelled rows with the positive label (0/0)",
    "fpr": "no labelled rows with a negative label (0/0)",
    "precision": "no labelled rows predicted positive (0/0)",
    "accuracy": "no labelled rows",
    "mae": "no labelled rows",
    "mean_prediction": "no rows",
}


def _num(x: Any) -> float | None:
    return finite_or_none(float(x))


# -- input preparation ---------------------------------------------------------------


def _positive(schema: ModelSchema, config: FairnessConfig) -> Scalar | None:
    if schema.task is Task.REGRESSION:
        return None
    pos = config.positive_class if config.positive_class is not None else schema.positive_class
    if pos is None and schema.task is Task.BINARY:
        raise ConfigError(
            "positive_class: a binary_classification model needs a positive class; set it in "
            "the schema or in FairnessConfig.positive_class; got None"
        )
    if pos is not None and schema.classes is not None and pos not in schema.classes:
        raise ConfigError(
            f"positive_class: expected one of the classes {list(schema.classes)!r}; got {pos!r}"
        )
    return pos


# -- the analysis ------------------------------------------------------------------


def _rates(kind: str, cells: fc.FloatArray, positive: int | None) -> dict[str, fc.FloatArray]:
    if kind == "regression":
        return fc.regression_rates(cells)
    return fc.classification_rates(cells, positive=positive)


def group_fairness(
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: FairnessConfig,
    sensitive: Sequence[str] | None = None,
) -> FairnessReport:
    """Per-group metrics and disparities over the sensitive attributes of a window.

    Parameters
    ----------
    current : pandas.DataFrame
        The window: the schema's prediction, sensitive and (if any) label columns.
    schema : ModelSchema
        The model's schema; gives the task, roles, classes and positive class.
    config : FairnessConfig
        Minimum group size, bootstrap, thresholds and per-attribute overrides.
    sensitive : sequence of str, optional
        Analyse only these sensitive attributes (kept in schema order).

    Returns
    -------
    FairnessReport
        Groups (each attribute, and intersections) with their metrics and intervals,
        and the disparities with thresholds and verdicts.

    Raises
    ------
    ConfigError
        If the schema has no sensitive columns, ``sensitive`` names another column, an
        override key is not an attribute or intersection, or the positive class is
        missing (binary) or not a class.
    SchemaError
        If a column the schema needs is not in ``current``.

    Examples
    --------
    >>> import pandas as pd
    >>> from storage.schema import infer_schema
    >>> df = pd.DataFrame({"id": ["a", "b", "c", "d"], "ts": pd.Timestamp("2024-01-01"),
    ...                    "sex": ["F", "F", "M", "M"], "y": [1, 0, 1, 1], "p": [1, 0, 0, 1]})
    >>> schema = infer_schema(df, task="binary_classification", id="id", timestamp="ts",
    ...                       prediction="p", label="y", sensitive=["sex"])
    >>> report = group_fairness(df, schema=schema, config=FairnessConfig(n_bootstrap=0))
    >>> [(g.group, g.estimate("selection_rate").value) for g in report.groups]
    [('sex=F', 0.5), ('sex=M', 0.5)]
    """
    attrs = fg.attributes(schema, sensitive)
    fg.check_overrides(config, schema)
    label_col = schema.label.name if schema.label is not None else None
    pred_col = schema.prediction.name
    fg.require_columns(current, [pred_col, *attrs, *([label_col] if label_col else [])])
    positive_value = _positive(schema, config)
    has_pred = current[pred_col].notna().to_numpy()
    frame = current if has_pred.all() else current.loc[has_pred]
    n_rows = len(frame)
    fine = fg.fine_groups(frame, attrs)
    n_fine = len(fine.attr_codes)
    with_labels = label_col is not None
    rng = np.random.default_rng(config.seed)

    kind = "regression" if schema.task is Task.REGRESSION else "classification"
    positive: int | None = None
    boot_iter: Any
    if kind == "regression":
        pred = frame[pred_col].to_numpy(dtype=np.float64, na_value=np.nan)
        if label_col is not None:
            lab = frame[label_col].to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            lab = np.full(n_rows, np.nan)
        labelled = ~np.isnan(lab)
        abs_err = np.where(labelled, np.abs(pred - np.where(labelled, lab, 0.0)), 0.0)
        stats = fc.regression_stats(
            fine.codes, n_fine, prediction=pred, abs_error=abs_err, labelled=labelled
        )
        base = stats
        boot_iter = (
            fc.regression_stats(
                fine.codes,
                n_fine,
                prediction=pred,
                abs_error=abs_err,
                labelled=labelled,
                weights=w,
            )[None]
            for w in fc.bootstrap_rows(n_rows, n_boot=config.n_bootstrap, rng=rng)
        )
        metric_names = ["count", "mean_prediction"] + (["mae"] if with_labels else [])
    else:
        label = frame[label_col] if label_col is not None else None
        classes, pred_codes, label_codes = fg.class_codes(
            frame[pred_col], label, schema, positive_value
        )
        k = len(classes)
        if label_codes is None:
            label_codes = np.full(n_rows, k, dtype=np.int64)
        positive = classes.index(positive_value) if positive_value is not None else None
        cell = (fine.codes * (k + 1) + label_codes) * k + pred_codes
        cells = np.bincount(cell, minlength=n_fine * (k + 1) * k).reshape(n_fine, k + 1, k)
        base = cells.astype(np.float64)
        boot_iter = fc.bootstrap_cells(cells, n_boot=config.n_bootstrap, rng=rng)
        metric_names = ["count"]
        if positive is not None:
            metric_names.append("selection_rate")
            if with_labels:
                metric_names += ["tpr", "fpr", "fnr", "precision"]
        if with_labels:
            metric_names.append("accuracy")

    sets = fg.build_sets(fine, attrs, config)
    disparity_names = (
        []
        if kind == "regression" or positive is None
        else [d for d in DISPARITIES if with_labels or d not in LABEL_DISPARITIES]
    )

    # point estimates
    points = []
    for s in sets:
        rates = _rates(kind, fc.aggregate(base, s.membership, lead=0), positive)
        points.append(rates)

    def _disp(
        rates: dict[str, fc.FloatArray],
        s: fg.AttributeSet,
        counts: dict[str, fc.FloatArray],
        restricted: bool,
    ) -> dict[str, fc.FloatArray]:
        if not disparity_names:
            return {}
        if restricted:
            keep_all = counts["count"] >= s.min_size
            keep_lab = counts["n_labelled"] >= s.min_size
        else:
            keep_all = keep_lab = np.ones(len(s.groups), dtype=bool)
        return fc.disparities(
            rates, keep_all=keep_all, keep_labelled=keep_lab, with_labels=with_labels
        )

    full_points = [_disp(r, s, r, False) for r, s in zip(points, sets, strict=True)]
    restricted_points = [_disp(r, s, r, True) for r, s in zip(points, sets, strict=True)]

    # bootstrap
    boot_rates: list[dict[str, list[fc.FloatArray]]] = [{} for _ in sets]
    boot_disp: list[dict[str, list[fc.FloatArray]]] = [{} for _ in sets]
    for chunk in boot_iter:
        for i, s in enumerate(sets):
            rates = _rates(kind, fc.aggregate(chunk, s.membership, lead=1), positive)
            for name in metric_names:
                boot_rates[i].setdefault(name, []).append(rates[name])
            for name, value in _disp(rates, s, points[i], False).items():
                boot_disp[i].setdefault(name, []).append(value)

    def _interval(
        samples: list[fc.FloatArray], shape: tuple[int, ...]
    ) -> tuple[fc.FloatArray, fc.FloatArray]:
        if not samples:
            return np.full(shape, np.nan), np.full(shape, np.nan)
        return fc.percentile_interval(np.concatenate(samples), confidence=config.confidence)

    groups: list[GroupMetrics] = []
    disparities: list[Disparity] = []
    for i, s in enumerate(sets):
        rates = points[i]
        n_all = rates["count"].astype(np.int64)
        n_lab = rates["n_labelled"].astype(np.int64)
        intervals = {m: _interval(boot_rates[i].get(m, []), (len(s.groups),)) for m in metric_names}
        for g, name in enumerate(s.groups):
            estimates = []
            for m in metric_names:
                n_used = int(n_lab[g] if m in _LABEL_METRICS else n_all[g])
                val = _num(rates[m][g])
                low, high = intervals[m]
                estimates.append(
                    Estimate(
                        metric=m,
                        value=val,
                        ci_low=_num(low[g]),
                        ci_high=_num(high[g]),
                        n=n_used,
                        insufficient_data=n_used < s.min_size or val is None,
                        reason=_REASONS.get(m) if val is None else None,
                    )
                )
            groups.append(
                GroupMetrics(
                    feature=s.feature,
                    group=name,
                    values=s.values[g],
                    n=int(n_all[g]),
                    n_labelled=int(n_lab[g]),
                    min_group_size=s.min_size,
                    insufficient_data=bool(n_all[g] < s.min_size),
                    estimates=tuple(estimates),
                )
            )
        for d in disparity_names:
            disparities.append(
                _disparity(
                    d,
                    s,
                    rates,
                    full_points[i],
                    restricted_points[i],
                    _interval(boot_disp[i].get(d, []), ()),
                    n_rows=n_rows,
                    with_labels=with_labels,
                )
            )

    return FairnessReport(
        task=schema.task,
        positive_class=positive_value,
        features=tuple(s.feature for s in sets),
        metrics=tuple(metric_names),
        groups=tuple(groups),
        disparities=tuple(disparities),
        n_rows=n_rows,
        n_missing_prediction=int((~has_pred).sum()),
        n_missing_sensitive=tuple(zip(attrs, fine.n_missing, strict=True)),
        missing_sensitive=config.missing_sensitive,
        n_bootstrap=config.n_bootstrap,
        confidence=config.confidence,
        seed=config.seed,
    )


def _disparity(
    name: str,
    s: fg.AttributeSet,
    rates: dict[str, fc.FloatArray],
    full: dict[str, fc.FloatArray],
    restricted: dict[str, fc.FloatArray],
    interval: tuple[fc.FloatArray, fc.FloatArray],
    *,
    n_rows: int,
    with_labels: bool,
) -> Disparity:
    higher_is_worse = DISPARITIES[name]
    threshold = s.thresholds[name]
    value = _num(full[name]) if s.groups else None
    size = rates["n_labelled"] if name in LABEL_DISPARITIES else rates["count"]
    excluded = tuple(g for g, n in zip(s.groups, size, strict=True) if n < s.min_size)
    reason = None
    if value is None:
        if not s.groups or n_rows == 0:
            reason = "no rows"
        elif name in LABEL_DISPARITIES and not (rates["n_labelled"] > 0).any():
            reason = "no labelled rows"
        else:
            reason = "every group's rate is 0 (0/0)"
    breach = (
        None if value is None else (value > threshold if higher_is_worse else value < threshold)
    )
    extra: dict[str, Any] = {}
    if name == "disparate_impact_ratio":
        extra = {
            "group_ratios": tuple(
                (g, _num(r)) for g, r in zip(s.groups, full["impact_ratios"], strict=True)
            )
            if s.groups
            else (),
            "restricted_group_ratios": tuple(
                (g, _num(r))
                for g, r in zip(s.groups, restricted["impact_ratios"], strict=True)
                if g not in excluded
            )
            if s.groups
            else (),
            "four_fifths_pass": None if value is None else value >= threshold,
        }
    return Disparity(
        feature=s.feature,
        metric=name,
        value=value,
        threshold=threshold,
        breach=breach,
        ci_low=_num(interval[0]),
        ci_high=_num(interval[1]),
        restricted_value=_num(restricted[name]) if s.groups else None,
        excluded_groups=excluded,
        min_group_size=s.min_size,
        n_groups=len(s.groups),
        reason=reason,
        **extra,
    )


# -- export ------------------------------------------------------------------------


def fairness_records(report: FairnessReport) -> list[MetricRecord]:
    """Flatten a :class:`FairnessReport` into stored metric records.

    Parameters
    ----------
    report : FairnessReport
        The result of :func:`group_fairness`.

    Returns
    -------
    list of MetricRecord
        One record per group and metric (``feature`` the attribute or intersection,
        ``group`` like ``sex=F&age_band=25-34``, status ``insufficient_data`` for small
        groups or undefined values, else ``ok``; details ``ci_low``, ``ci_high``, ``n``,
        ``n_labelled``), then one per attribute and disparity (``group`` ``None``,
        status ``breach``/``ok``/``insufficient_data``; details ``ci_low``, ``ci_high``,
        ``restricted_value``, ``excluded_groups``, and for ``disparate_impact_ratio``
        ``group_ratios`` and ``four_fifths_pass``).
    """
    records: list[MetricRecord] = []
    common = {"confidence": report.confidence, "n_bootstrap": report.n_bootstrap}
    for g in report.groups:
        for est in g.estimates:
            details: dict[str, Any] = {
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "n": g.n,
                "n_labelled": g.n_labelled,
                "min_group_size": g.min_group_size,
                **common,
            }
            if est.reason is not None:
                details["reason"] = est.reason
            records.append(
                MetricRecord(
                    analyzer=ANALYZER,
                    metric=est.metric,
                    feature=g.feature,
                    group=g.group,
                    value=est.value,
                    threshold=None,
                    status=INSUFFICIENT_DATA if est.insufficient_data else OK,
                    details=details,
                )
            )
    for d in report.disparities:
        details = {
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "restricted_value": d.restricted_value,
            "excluded_groups": list(d.excluded_groups),
            "min_group_size": d.min_group_size,
            "n_groups": d.n_groups,
            "method": "between_groups",
            "breach_if": "value > threshold" if DISPARITIES[d.metric] else "value < threshold",
            **common,
        }
        if d.metric == "disparate_impact_ratio":
            details["group_ratios"] = dict(d.group_ratios)
            details["restricted_group_ratios"] = dict(d.restricted_group_ratios)
            details["four_fifths_pass"] = d.four_fifths_pass
        if d.reason is not None:
            details["reason"] = d.reason
        status = INSUFFICIENT_DATA if d.breach is None else (BREACH if d.breach else OK)
        records.append(
            MetricRecord(
                analyzer=ANALYZER,
                metric=d.metric,
                feature=d.feature,
                group=None,
                value=d.value,
                threshold=d.threshold,
                status=status,
                details=details,
            )
        )
    return records
