"""Group fairness from a window summary's cells.

Classification: every per-group metric, disparity and score interval of
:func:`monitors.analyzers.fairness.group_fairness` depends only on the (sensitive values,
label, prediction) cell counts, which the summary holds: the report is identical to the
row path's. Regression: counts, mean prediction and MAE per group are exact (sums per
group); the row path's percentile row bootstrap needs rows, so a summary's groups get
normal (CLT) intervals from the per-group sums of squares instead (``details.interval``
``normal``; :func:`monitors.analyzers._fairness_estimates.normal_intervals`), or none
when ``n_bootstrap=0`` or the summary predates the squares. A summary whose sample holds
the whole window is analysed on its rows, with the row path's bootstrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from monitors.analyzers import _fairness_groups as fg
from monitors.analyzers._fairness_estimates import estimate_sets
from monitors.analyzers._fairness_types import DISPARITIES, LABEL_DISPARITIES, FairnessConfig
from monitors.analyzers._fairness_window import CodedWindow, positive_class
from monitors.analyzers.fairness import FairnessReport, _report
from monitors.errors import SchemaError
from monitors.summaries.types import SummarySpec, Value, WindowSummary, cell_order
from storage.schema import ModelSchema, Scalar, Task


def _sorted_values(values: set[Value]) -> list[Value]:
    """Values in ``pandas.factorize(sort=True)`` order (one type per column)."""
    try:
        return sorted(values)  # type: ignore[type-var]
    except TypeError:
        return sorted(values, key=lambda v: cell_order((v,)))


def _fine_groups(
    keys: Sequence[tuple[Value, ...]], counts: np.ndarray, positions: list[int]
) -> tuple[fg.FineGroups, np.ndarray]:
    """Fine groups of the chosen attributes, and each cell's fine group."""
    labels: list[list[str]] = []
    codes = np.zeros((len(keys), len(positions)), dtype=np.int64)
    n_missing = []
    for j, pos in enumerate(positions):
        column = [k[pos] for k in keys]
        uniques = _sorted_values({v for v in column if v is not None})
        index = {v: i for i, v in enumerate(uniques)}
        codes[:, j] = [len(uniques) if v is None else index[v] for v in column]
        labels.append([str(fg.python_scalar(u)) for u in uniques] + [fg.MISSING_LABEL])
        n_missing.append(int(counts[codes[:, j] == len(uniques)].sum()))
    if len(keys):
        attr_codes, inverse = np.unique(codes, axis=0, return_inverse=True)
    else:
        attr_codes, inverse = np.zeros((0, len(positions)), dtype=np.int64), np.zeros(0, np.int64)
    fine = fg.FineGroups(np.zeros(0, dtype=np.int64), attr_codes, labels, n_missing)
    return fine, inverse.ravel().astype(np.int64)


def _classes(
    schema: ModelSchema, keys: Sequence[tuple[Value, ...]], positive: Scalar | None
) -> list[Value]:
    """The schema's classes, then any other label or prediction value, then the positive."""
    classes: list[Value] = list(schema.classes or ())
    extra = {v for k in keys for v in k[-2:] if v is not None and v not in classes}
    classes += sorted(extra, key=lambda v: cell_order((v,)))
    if positive is not None and positive not in classes:
        classes.append(positive)
    return classes


def _classification(
    summary: WindowSummary, positions: list[int], schema: ModelSchema, config: FairnessConfig
) -> tuple[fg.FineGroups, np.ndarray, int | None, Scalar | None, list[str]]:
    """Fine groups, cells ``(F, K + 1, K)``, positive index and value, metric names."""
    cells = summary.fairness
    counts = np.asarray(cells.counts, dtype=np.float64)
    fine, group = _fine_groups(cells.keys, counts, positions)
    positive_value = positive_class(schema, config)
    classes = _classes(schema, cells.keys, positive_value)
    index = {v: i for i, v in enumerate(classes)}
    k = len(classes)
    label_codes = np.array([k if c[-2] is None else index[c[-2]] for c in cells.keys], np.int64)
    pred_codes = np.array([index[c[-1]] for c in cells.keys], dtype=np.int64)
    base = np.zeros((len(fine.attr_codes), k + 1, k))
    np.add.at(base, (group, label_codes, pred_codes), counts)
    positive = classes.index(positive_value) if positive_value is not None else None
    names = ["count"]
    with_labels = schema.label is not None
    if positive is not None:
        names.append("selection_rate")
        if with_labels:
            names += ["tpr", "fpr", "fnr", "precision"]
    if with_labels:
        names.append("accuracy")
    return fine, base, positive, positive_value, names


def _regression(
    summary: WindowSummary, positions: list[int], schema: ModelSchema
) -> tuple[fg.FineGroups, np.ndarray, list[str]]:
    """Fine groups and per group ``(count, sum_prediction, n_labelled, sum_abs_error)``,
    then the sums of squares (``sum_prediction_sq``, ``sum_abs_error_sq``) when the
    summary carries them (its per-group normal intervals need them)."""
    cells = summary.fairness
    counts = np.asarray(cells.counts, dtype=np.float64)
    fine, group = _fine_groups(cells.keys, counts, positions)
    width = len(cells.sums[0]) if cells.sums else 3
    base = np.zeros((len(fine.attr_codes), 1 + width))
    sums = np.asarray(cells.sums, dtype=np.float64).reshape(len(cells.keys), width)
    np.add.at(base, (group, np.zeros_like(group)), counts)
    for j in range(width):
        np.add.at(base, (group, np.full_like(group, j + 1)), sums[:, j])
    names = ["count", "mean_prediction"] + (["mae"] if schema.label is not None else [])
    return fine, base, names


def coded_from_summary(
    summary: WindowSummary,
    attrs: list[str],
    *,
    schema: ModelSchema,
    config: FairnessConfig,
    centre: float | None = None,
) -> CodedWindow:
    """The :class:`CodedWindow` of the row path, rebuilt from the summary's cells.

    ``centre``: the spec's ``label_shift`` (regression prediction squares are centred on
    it); without it a regression window gets no intervals.
    """
    order = [c.name for c in schema.sensitive]
    positions = [order.index(a) for a in attrs]
    with_labels = schema.label is not None
    kind: str
    details: dict[str, Any] = {"positive": None, "positive_value": None}
    if schema.task is Task.REGRESSION:
        kind = "regression"
        fine, base, names = _regression(summary, positions, schema)
        if not config.n_bootstrap or centre is None:  # no intervals asked for (as on the
            base = base[:, :4]  # row path), or the squares' centre unknown
        disparity_names: list[str] = []
    else:
        kind = "classification"
        fine, base, pos, pos_value, names = _classification(summary, positions, schema, config)
        details = {"positive": pos, "positive_value": pos_value}
        disparity_names = (
            []
            if pos is None
            else [d for d in DISPARITIES if with_labels or d not in LABEL_DISPARITIES]
        )
    return CodedWindow(
        kind=kind,
        fine=fine,
        base=base,
        resamples=(),
        positive=details["positive"],
        positive_value=details["positive_value"],
        metric_names=names,
        disparity_names=disparity_names,
        with_labels=with_labels,
        n_rows=int(sum(summary.fairness.counts)),
        n_missing_prediction=summary.n_missing_prediction,
        centre=centre or 0.0,
    )


def group_fairness_from_summary(
    summary: WindowSummary,
    *,
    schema: ModelSchema,
    config: FairnessConfig,
    sensitive: Sequence[str] | None = None,
    spec: SummarySpec | None = None,
) -> FairnessReport:
    """:func:`monitors.analyzers.fairness.group_fairness` from a window summary.

    ``spec`` (the summary's): a regression model's per-group intervals need it (the
    centre of the prediction squares); classification reads only the cells.

    Raises
    ------
    ConfigError
        As the row path (no sensitive columns, unknown override key, positive class).
    SchemaError
        If the summary holds no fairness cells although the window has rows.
    """
    attrs = fg.attributes(schema, sensitive)
    fg.check_overrides(config, schema)
    if summary.n_rows and not summary.fairness.keys and summary.n_missing_prediction == 0:
        raise SchemaError(
            "fairness: the window summary has no fairness cells (its sensitive columns were "
            "not in the data); expected cells over " + repr(attrs)
        )
    centre = spec.label_shift if spec is not None else None
    window = coded_from_summary(summary, attrs, schema=schema, config=config, centre=centre)
    sets = fg.build_sets(window.fine, attrs, config)
    estimates = estimate_sets(window, sets, confidence=config.confidence)
    return _report(window, sets, estimates, attrs, schema=schema, config=config)
