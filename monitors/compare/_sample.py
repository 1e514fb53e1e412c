"""Turning the two models' windows into aligned numeric samples.

Shadow mode joins the two windows on the id (``prediction_id``): row ``i`` of both
samples is the same request, so one bootstrap resample applies to both (paired). The
label of a request is the candidate's if it has one, else the baseline's; so are the
sensitive attributes. Split mode keeps each window as it is (unpaired).

Classes are coded once for both models (the candidate's schema classes, else the
baseline's, else the values seen in both windows, sorted), so that ``1`` and ``"1"``
are one class; the positive class is the candidate's (else the baseline's, else the
last class), as in the performance analyzer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from storage.schema import ModelSchema, Scalar, Task

MISSING: Final = "<missing>"
"""Group value of a row without the sensitive attribute (as in the fairness analyzer)."""


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    """One model's rows as arrays (classification: class codes, ``-1`` missing)."""

    n: int
    classification: bool
    binary: bool
    classes: tuple[Any, ...]
    positive: int | None
    y: np.ndarray
    pred: np.ndarray
    score: np.ndarray | None
    latency: np.ndarray | None
    groups: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    """Attribute → (group code per row, group labels ``attr=value``)."""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    """The rows themselves (for the estimators), in sample order."""

    def labelled(self) -> np.ndarray:
        """Rows with a label and a prediction."""
        if self.classification:
            return (self.y >= 0) & (self.pred >= 0)
        return np.isfinite(self.y) & np.isfinite(self.pred)


def _python(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def class_order(schemas: tuple[ModelSchema, ...], values: list[pd.Series]) -> tuple[Any, ...]:
    """The classes of a comparison: a schema's, else the sorted values seen."""
    for schema in schemas:
        if schema.classes is not None:
            return tuple(schema.classes)
    seen = pd.concat([v.dropna().astype(object) for v in values], ignore_index=True)
    uniques = {_python(v) for v in seen.unique()}
    return tuple(sorted(uniques, key=lambda v: (type(v).__name__, v)))


def positive_index(schemas: tuple[ModelSchema, ...], classes: tuple[Any, ...]) -> int | None:
    """Index of the positive class of a binary comparison (``None`` for multiclass)."""
    if len(classes) != 2 and all(s.positive_class is None for s in schemas):
        return None
    for schema in schemas:
        if schema.positive_class is not None:
            return _code_of(classes, schema.positive_class)
    return len(classes) - 1 if classes else None


def _code_of(classes: tuple[Any, ...], value: Scalar) -> int | None:
    codes = codes_of(pd.Series([value], dtype=object), classes)
    return int(codes[0]) if codes[0] >= 0 else None


def codes_of(values: pd.Series, classes: tuple[Any, ...]) -> np.ndarray:
    """Index of each value in ``classes``; ``-1`` if missing or unknown (``"1"`` matches ``1``)."""
    index = pd.Index(list(classes), dtype=object)
    as_object = pd.Index(values.astype(object))
    codes = np.asarray(index.get_indexer(as_object), dtype=np.int64)
    miss = (codes < 0) & values.notna().to_numpy()
    if miss.any():
        as_text = pd.Index([str(c) for c in classes])
        codes[miss] = as_text.get_indexer(pd.Index(values[miss].astype(str)))
    return codes


def _floats(frame: pd.DataFrame, name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def group_labels(
    sensitive: list[dict[str, pd.Series]], max_groups: int
) -> dict[str, tuple[str, ...]]:
    """Group values per attribute over all the given rows (sorted, ``<missing>`` last).

    An attribute with more than ``max_groups`` groups is left out.
    """
    out: dict[str, tuple[str, ...]] = {}
    attrs = [a for part in sensitive for a in part]
    for attr in dict.fromkeys(attrs):
        columns = [part[attr] for part in sensitive if attr in part]
        values = pd.concat(columns, ignore_index=True)
        present = values.notna().to_numpy()
        uniques = sorted({str(_python(v)) for v in values[present].unique()})
        labels = uniques if present.all() else [*uniques, MISSING]
        if len(labels) <= max_groups:
            out[attr] = tuple(labels)
    return out


def _group_codes(
    sensitive: dict[str, pd.Series], labels: dict[str, tuple[str, ...]]
) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Group code of each row per attribute, with the labels ``attr=value``."""
    out = {}
    for attr, values in labels.items():
        if attr not in sensitive:
            continue
        column = sensitive[attr]
        text = column.astype(object).where(column.notna(), MISSING).map(lambda v: str(_python(v)))
        codes = np.asarray(pd.Index(values).get_indexer(pd.Index(text)), dtype=np.int64)
        out[attr] = (codes, tuple(f"{attr}={v}" for v in values))
    return out


def _sample(
    frame: pd.DataFrame,
    schema: ModelSchema,
    *,
    label: pd.Series | None,
    sensitive: dict[str, pd.Series],
    classes: tuple[Any, ...],
    positive: int | None,
    labels: dict[str, tuple[str, ...]],
) -> Sample:
    """One model's sample from its rows (label and attributes given, possibly coalesced)."""
    n = len(frame)
    pred_col = frame[schema.prediction.name] if schema.prediction.name in frame.columns else None
    pred_series = pred_col if pred_col is not None else pd.Series([None] * n, dtype=object)
    label_series = label if label is not None else pd.Series([None] * n, dtype=object)
    if schema.task.is_classification:
        y = codes_of(label_series.reset_index(drop=True), classes)
        pred = codes_of(pred_series.reset_index(drop=True), classes)
    else:
        y = pd.to_numeric(label_series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        pred = pd.to_numeric(pred_series, errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return Sample(
        n=n,
        classification=schema.task.is_classification,
        binary=schema.task is Task.BINARY,
        classes=classes,
        positive=positive,
        y=y,
        pred=pred,
        score=_floats(frame, schema.score.name if schema.score else None),
        latency=_floats(frame, schema.latency.name if schema.latency else None),
        groups=_group_codes(sensitive, labels),
        frame=frame.reset_index(drop=True),
    )


def _column(frame: pd.DataFrame, name: str | None) -> pd.Series | None:
    if name is None or name not in frame.columns:
        return None
    return frame[name].reset_index(drop=True)


def _coalesce(first: pd.Series | None, second: pd.Series | None) -> pd.Series | None:
    """``first`` where it has a value, else ``second``."""
    if first is None:
        return second
    if second is None:
        return first
    return first.astype(object).where(first.notna(), second.astype(object))


def _attributes(schemas: tuple[ModelSchema, ModelSchema]) -> list[str]:
    """Sensitive attributes of either schema (candidate's order first)."""
    names: list[str] = []
    for schema in schemas:
        names += [c.name for c in schema.sensitive if c.name not in names]
    return names


def align_shadow(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    baseline_schema: ModelSchema,
    candidate_schema: ModelSchema,
    max_groups: int,
) -> tuple[Sample, Sample]:
    """Both models' samples over the requests they both scored, in id order."""
    schemas = (candidate_schema, baseline_schema)
    b_ids = baseline[baseline_schema.id.name].astype(str)
    c_ids = candidate[candidate_schema.id.name].astype(str)
    b = baseline.loc[~b_ids.duplicated().to_numpy()].set_axis(b_ids[~b_ids.duplicated()], axis=0)
    c = candidate.loc[~c_ids.duplicated().to_numpy()].set_axis(c_ids[~c_ids.duplicated()], axis=0)
    shared = b.index.intersection(c.index).sort_values()
    b, c = b.loc[shared].reset_index(drop=True), c.loc[shared].reset_index(drop=True)
    label = _coalesce(
        _column(c, candidate_schema.label.name if candidate_schema.label else None),
        _column(b, baseline_schema.label.name if baseline_schema.label else None),
    )
    sensitive = {}
    for attr in _attributes(schemas):
        value = _coalesce(_column(c, attr), _column(b, attr))
        if value is not None:
            sensitive[attr] = value
    classes: tuple[Any, ...] = ()
    positive = None
    if candidate_schema.task.is_classification:
        values = [
            s
            for s in (
                label,
                _column(b, baseline_schema.prediction.name),
                _column(c, candidate_schema.prediction.name),
            )
            if s is not None
        ]
        classes = class_order(schemas, values)
        positive = positive_index(schemas, classes)
    labels = group_labels([sensitive], max_groups)
    common: dict[str, Any] = {
        "label": label,
        "sensitive": sensitive,
        "classes": classes,
        "positive": positive,
        "labels": labels,
    }
    return _sample(b, baseline_schema, **common), _sample(c, candidate_schema, **common)


def align_split(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    baseline_schema: ModelSchema,
    candidate_schema: ModelSchema,
    max_groups: int,
) -> tuple[Sample, Sample]:
    """Each model's sample over its own rows (classes coded alike)."""
    schemas = (candidate_schema, baseline_schema)
    attrs = _attributes(schemas)
    classes: tuple[Any, ...] = ()
    positive = None
    if candidate_schema.task.is_classification:
        values = []
        for frame, schema in ((baseline, baseline_schema), (candidate, candidate_schema)):
            for name in (schema.prediction.name, schema.label.name if schema.label else None):
                col = _column(frame, name)
                if col is not None:
                    values.append(col)
        classes = class_order(schemas, values)
        positive = positive_index(schemas, classes)
    pairs = [
        (frame.reset_index(drop=True), schema)
        for frame, schema in ((baseline, baseline_schema), (candidate, candidate_schema))
    ]
    sensitive = [{a: f[a] for a in attrs if a in f.columns} for f, _ in pairs]
    labels = group_labels(sensitive, max_groups)
    out = [
        _sample(
            frame,
            schema,
            label=_column(frame, schema.label.name if schema.label else None),
            sensitive=attrs_of,
            classes=classes,
            positive=positive,
            labels=labels,
        )
        for (frame, schema), attrs_of in zip(pairs, sensitive, strict=True)
    ]
    return out[0], out[1]
