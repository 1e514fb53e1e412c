"""Coding the rows of a window for :mod:`monitors.analyzers.fairness`.

Sensitive values become integer codes (sorted values, ``<missing>`` last), the
combination of all attributes a compact "finest group" code, and predictions and
labels indices into the list of classes (unlabelled rows get the extra last index).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from monitors.analyzers._fairness_types import FairnessConfig, FairnessOverride
from monitors.errors import ConfigError, SchemaError
from storage.schema import ModelSchema, Scalar

MISSING_LABEL: Final = "<missing>"


def python_scalar(value: Any) -> Scalar:
    item = value.item() if hasattr(value, "item") else value
    return cast(Scalar, item)


def attributes(schema: ModelSchema, sensitive: Sequence[str] | None) -> list[str]:
    names = [c.name for c in schema.sensitive]
    if not names:
        raise ConfigError("sensitive: the model schema has no sensitive columns to analyse")
    if sensitive is None:
        return names
    unknown = [s for s in sensitive if s not in names]
    if unknown or not sensitive:
        raise ConfigError(
            f"sensitive: expected a non-empty subset of the schema's sensitive columns "
            f"{names!r}; got {list(sensitive)!r}"
        )
    return [n for n in names if n in set(sensitive)]


def require_columns(frame: pd.DataFrame, names: list[str]) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise SchemaError(
            f"fairness: columns {missing!r} are in the schema but not in the data "
            f"(has {list(frame.columns)!r})"
        )


@dataclass(frozen=True, slots=True)
class FineGroups:
    """Rows coded by their finest group (all attributes)."""

    codes: NDArray[np.int64]  # per row: fine group index
    attr_codes: NDArray[np.int64]  # (F, n_attrs): value code per attribute
    labels: list[list[str]]  # per attribute: value labels, "<missing>" last
    n_missing: list[int]


def fine_groups(frame: pd.DataFrame, attrs: list[str]) -> FineGroups:
    radix = np.zeros(len(frame), dtype=np.int64)
    cards: list[int] = []
    labels: list[list[str]] = []
    n_missing: list[int] = []
    for name in attrs:
        codes, uniques = pd.factorize(frame[name], sort=True)
        missing = codes < 0
        codes = np.where(missing, len(uniques), codes).astype(np.int64)
        labels.append([str(python_scalar(u)) for u in uniques] + [MISSING_LABEL])
        n_missing.append(int(missing.sum()))
        cards.append(len(uniques) + 1)
        radix = radix * cards[-1] + codes
    size = int(np.prod(cards, dtype=np.float64))
    if size <= max(1 << 20, 4 * len(frame)):
        present = np.flatnonzero(np.bincount(radix, minlength=size))
        remap = np.full(size, -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        inverse = remap[radix]
    else:
        present, inverse = np.unique(radix, return_inverse=True)
    attr_codes = np.stack(np.unravel_index(present, cards), axis=-1).astype(np.int64)
    return FineGroups(
        inverse.astype(np.int64), attr_codes.reshape(len(present), len(attrs)), labels, n_missing
    )


def class_codes(
    pred: pd.Series, label: pd.Series | None, schema: ModelSchema, positive: Scalar | None
) -> tuple[list[Scalar], NDArray[np.int64], NDArray[np.int64] | None]:
    pc, pu = pd.factorize(pred)
    lc: NDArray[np.intp] | None = None
    lu: list[Any] = []
    if label is not None:
        lc, label_uniques = pd.factorize(label)
        lu = list(label_uniques)
    classes: list[Scalar] = list(schema.classes or ())
    for value in [*(python_scalar(v) for v in pu), *(python_scalar(v) for v in lu), positive]:
        if value is not None and value not in classes:
            classes.append(value)
    index = {v: i for i, v in enumerate(classes)}
    pred_codes = np.asarray([index[python_scalar(v)] for v in pu], dtype=np.int64)[pc]
    if lc is None:
        return classes, pred_codes, None
    lmap = np.asarray([index[python_scalar(v)] for v in lu] + [len(classes)], dtype=np.int64)
    return classes, pred_codes, lmap[lc]


def feature_sets(attrs: list[str], config: FairnessConfig) -> list[tuple[int, ...]]:
    sets: list[tuple[int, ...]] = [(i,) for i in range(len(attrs))]
    if config.intersections:
        top = len(attrs) if config.max_intersection_size is None else config.max_intersection_size
        for size in range(2, min(top, len(attrs)) + 1):
            sets.extend(itertools.combinations(range(len(attrs)), size))
    return sets


def check_overrides(config: FairnessConfig, schema: ModelSchema) -> None:
    names = [c.name for c in schema.sensitive]
    known = {
        "&".join(combo)
        for size in range(1, len(names) + 1)
        for combo in itertools.combinations(names, size)
    }
    for key in config.features:
        if key not in known:
            raise ConfigError(
                f"features[{key!r}]: expected a sensitive attribute or an intersection "
                f"joined with '&' in schema order (one of {sorted(known)!r}); got {key!r}"
            )


@dataclass(frozen=True, slots=True)
class AttributeSet:
    """One attribute or intersection: its groups and how fine groups map onto them."""

    feature: str
    groups: list[str]
    values: list[tuple[tuple[str, str], ...]]
    membership: NDArray[np.float64]  # (S, F)
    min_size: int
    thresholds: dict[str, float]


def build_sets(fine: FineGroups, attrs: list[str], config: FairnessConfig) -> list[AttributeSet]:
    out = []
    for combo in feature_sets(attrs, config):
        feature = "&".join(attrs[i] for i in combo)
        sub = fine.attr_codes[:, list(combo)]
        keep = np.ones(len(sub), dtype=bool)
        if config.missing_sensitive == "exclude":
            for j, i in enumerate(combo):
                keep &= sub[:, j] != len(fine.labels[i]) - 1
        if keep.any():
            keys, inverse = np.unique(sub[keep], axis=0, return_inverse=True)
        else:
            keys, inverse = np.zeros((0, len(combo)), dtype=np.int64), np.zeros(0, np.int64)
        membership = np.zeros((len(keys), len(sub)))
        membership[inverse.ravel(), np.flatnonzero(keep)] = 1.0
        values = [
            tuple((attrs[i], fine.labels[i][int(k[j])]) for j, i in enumerate(combo)) for k in keys
        ]
        override = config.features.get(feature, FairnessOverride())
        thresholds: dict[str, float] = {
            **config.thresholds.model_dump(),
            **{str(k): v for k, v in override.thresholds.items()},
            "disparate_impact_ratio": (
                override.four_fifths if override.four_fifths is not None else config.four_fifths
            ),
        }
        out.append(
            AttributeSet(
                feature=feature,
                groups=["&".join(f"{a}={v}" for a, v in vals) for vals in values],
                values=values,
                membership=membership,
                min_size=override.min_group_size or config.min_group_size,
                thresholds=thresholds,
            )
        )
    return out
