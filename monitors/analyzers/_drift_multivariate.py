"""Multivariate drift by a domain classifier (reference rows = 0, window rows = 1).

Method (defaults in :class:`monitors.analyzers.drift.DriftConfig`):

* a seeded subsample without replacement of at most ``multivariate_sample`` (10,000) rows
  from each side; the feature columns of the schema only;
* numeric features as float64 (NaN kept: the classifier handles missing values);
  categorical/boolean features as integer codes of the reference categories (by frequency,
  at most 254; rarer and unseen categories share one code) declared categorical;
* scikit-learn ``HistGradientBoostingClassifier`` (``max_iter`` 50, no early stopping,
  seeded, one OpenMP thread) in ``multivariate_folds`` (5) stratified folds. Folds are
  groups of rows with equal values (a hash of the row): a row duplicated in the reference
  and the window, or within one side, never sits in a training fold and a test fold at once,
  so the classifier cannot score a test row by having memorised its copy;
* AUC: the mean of the folds' held-out ROC AUCs (0.5 = indistinguishable), with a two-sided
  ``multivariate_confidence`` (95 %) interval: DeLong's variance of each fold's AUC, averaged
  and inflated by Nadeau & Bengio's factor ``1/K + n_test/n_train`` for the overlap of the
  training sets (the naive interval alarmed on ~10 % of same-distribution windows at 100
  rows per side);
* verdict: drift when AUC >= ``multivariate_threshold`` (0.55) **and** the interval's lower
  bound is above 0.5, so that small samples, whose AUC scatters widely around 0.5, do not
  alarm by chance;
* top features: permutation importance (mean drop of ROC AUC over 3 shuffles,
  ``sklearn.inspection.permutation_importance``) on at most 1000 held-out rows of the
  first fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._drift_config import DriftConfig
from monitors.analyzers._drift_types import MultivariateDrift
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK
from storage.schema import Kind, ModelSchema

MAX_CATEGORIES = 254
IMPORTANCE_ROWS = 1000
IMPORTANCE_REPEATS = 3
IMPORTANCE = (
    f"permutation importance (mean ROC AUC drop, {IMPORTANCE_REPEATS} repeats, at most "
    f"{IMPORTANCE_ROWS} rows of the first held-out fold)"
)


def _category_codes(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float codes of the reference's most frequent categories (NaN kept)."""
    counts = ref.value_counts(dropna=True)
    keep = sorted(
        zip(counts.index.tolist(), counts.to_numpy(), strict=True),
        key=lambda kv: (-int(kv[1]), str(kv[0])),
    )[:MAX_CATEGORIES]
    categories = pd.Index([k for k, _ in keep])
    other = float(len(categories))

    def codes(series: pd.Series) -> np.ndarray:
        idx = categories.get_indexer(pd.Index(series))
        out = np.where(idx >= 0, idx, other).astype(np.float64)
        out[series.isna().to_numpy()] = np.nan
        return out

    return codes(ref), codes(cur)


def _encode(
    ref: pd.DataFrame, cur: pd.DataFrame, schema: ModelSchema, names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked feature matrix, domain labels (0 reference, 1 window), categorical mask."""
    cols_ref: list[np.ndarray] = []
    cols_cur: list[np.ndarray] = []
    categorical: list[bool] = []
    for name in names:
        if schema.kind_of(name) is Kind.NUMERIC:
            r = ref[name].to_numpy(dtype=np.float64, na_value=np.nan)
            c = cur[name].to_numpy(dtype=np.float64, na_value=np.nan)
            r = np.where(np.isfinite(r), r, np.nan)
            c = np.where(np.isfinite(c), c, np.nan)
            categorical.append(False)
        else:
            r, c = _category_codes(ref[name], cur[name])
            categorical.append(True)
        cols_ref.append(r)
        cols_cur.append(c)
    x = np.vstack([np.column_stack(cols_ref), np.column_stack(cols_cur)])
    y = np.concatenate([np.zeros(len(ref)), np.ones(len(cur))])
    return x, y, np.asarray(categorical)


def _insufficient(
    reason: str, n_ref: int, n_cur: int, names: list[str], config: DriftConfig
) -> MultivariateDrift:
    """An ``insufficient_data`` result with ``reason``."""
    return MultivariateDrift(
        auc=None,
        threshold=config.multivariate_threshold,
        drifted=False,
        status=INSUFFICIENT_DATA,
        n_reference=n_ref,
        n_current=n_cur,
        folds=config.multivariate_folds,
        top_features=(),
        importance=IMPORTANCE,
        features=tuple(names),
        reason=reason,
    )


def _why_not(
    reference: pd.DataFrame, current: pd.DataFrame, names: list[str], config: DriftConfig
) -> MultivariateDrift | None:
    """The ``insufficient_data`` result when the classifier cannot run, else ``None``."""
    if not config.multivariate:
        return _insufficient(
            "multivariate drift disabled (config.multivariate = false)", 0, 0, names, config
        )
    if not names:
        return _insufficient(
            "no feature columns in both frames", len(reference), len(current), names, config
        )
    minimum = max(config.multivariate_min_rows, config.multivariate_folds)
    if len(reference) < minimum or len(current) < minimum:
        return _insufficient(
            f"insufficient data: reference n={len(reference)}, current n={len(current)} "
            f"(multivariate_min_rows={minimum})",
            len(reference),
            len(current),
            names,
            config,
        )
    return None


def _subsample(frame: pd.DataFrame, k: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``k`` rows drawn without replacement, kept in frame order."""
    if len(frame) <= k:
        return frame
    rows = np.sort(rng.choice(len(frame), size=k, replace=False))
    return frame.iloc[rows]


def _top_features(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    test: np.ndarray,
    names: list[str],
    *,
    rng: np.random.Generator,
    seed: int,
    top_k: int,
) -> tuple[tuple[str, float], ...]:
    """The ``top_k`` features by permutation importance on (a sample of) one held-out fold."""
    from sklearn.inspection import permutation_importance

    held = test
    if held.size > IMPORTANCE_ROWS:
        held = np.sort(rng.choice(test, size=IMPORTANCE_ROWS, replace=False))
    imp: Any = permutation_importance(
        model,
        x[held],
        y[held],
        scoring="roc_auc",
        n_repeats=IMPORTANCE_REPEATS,
        random_state=seed,
    )
    order = np.argsort(-imp.importances_mean, kind="stable")
    return tuple((names[j], float(imp.importances_mean[j])) for j in order[:top_k])


def hash_folds(
    x: np.ndarray, y: np.ndarray, folds: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Fold of every row, equal rows in one fold, classes balanced; rows with a duplicate.

    Rows are grouped by a hash of their values (``pandas.util.hash_pandas_object``). The
    groups, ordered by their share of window rows (ties at random), are dealt round-robin to
    the folds, so each fold gets the same mix of reference and window rows (stratified).
    """
    hashes = pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy()
    _, inverse, sizes = np.unique(hashes, return_inverse=True, return_counts=True)
    share = np.bincount(inverse, weights=y, minlength=sizes.size) / sizes
    order = np.lexsort((rng.random(sizes.size), share))
    fold_of_group = np.empty(sizes.size, dtype=np.int64)
    fold_of_group[order] = np.arange(sizes.size) % folds
    return fold_of_group[inverse], int(sizes[sizes > 1].sum())


def delong(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """ROC AUC and its DeLong variance (DeLong et al. 1988, midrank form of Sun & Xu 2014).

    The AUC equals ``sklearn.metrics.roc_auc_score(y, scores)``.
    """
    from scipy import stats

    pos, neg = scores[y == 1], scores[y == 0]
    n1, n0 = pos.size, neg.size
    tz = stats.rankdata(np.concatenate([pos, neg]), method="average")
    tx = stats.rankdata(pos, method="average")
    ty = stats.rankdata(neg, method="average")
    auc = float((tz[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    v10 = (tz[:n1] - tx) / n0
    v01 = 1.0 - (tz[n1:] - ty) / n1
    return auc, float(np.var(v10, ddof=1) / n1 + np.var(v01, ddof=1) / n0)


def cross_validated_auc(
    y: np.ndarray, scores: np.ndarray, fold: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """Mean of the folds' held-out AUCs and its two-sided confidence interval.

    The folds' training sets overlap, so their AUCs are positively correlated and the naive
    variance of their mean (mean DeLong variance / K) is too small: under no drift a 95 %
    interval built on it excluded 0.5 in about 10 % of simulated windows. The variance used
    is Nadeau & Bengio's (2003) correction, ``(1/K + n_test/n_train) * mean DeLong
    variance``. Folds holding one class only are skipped; with none left: ``(0.5, 0.5, 0.5)``.
    """
    from scipy import stats

    aucs, variances, ratios = [], [], []
    for k in np.unique(fold):
        test = fold == k
        if np.unique(y[test]).size < 2:
            continue
        auc, var = delong(y[test], scores[test])
        aucs.append(auc)
        variances.append(var)
        ratios.append(test.sum() / max((~test).sum(), 1))
    if not aucs:
        return 0.5, 0.5, 0.5
    mean = float(np.mean(aucs))
    se = float(np.sqrt((1 / len(aucs) + np.mean(ratios)) * np.mean(variances)))
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * se
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def _fit_predict(
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    categorical: np.ndarray,
    seed: int,
    config: DriftConfig,
) -> tuple[Any, np.ndarray]:
    """A classifier fitted on ``train`` and its scores on ``test`` (constant if one class)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    if np.unique(y[train]).size < 2:  # identical rows everywhere: nothing to learn
        return None, np.full(test.size, float(y[train].mean()) if train.size else 0.5)
    model = HistGradientBoostingClassifier(
        max_iter=config.multivariate_max_iter,
        early_stopping=False,
        categorical_features=categorical if categorical.any() else None,
        random_state=seed,
    )
    model.fit(x[train], y[train])
    return model, model.predict_proba(x[test])[:, 1]


def _out_of_fold_scores(
    x: np.ndarray,
    y: np.ndarray,
    categorical: np.ndarray,
    names: list[str],
    fold: np.ndarray,
    *,
    rng: np.random.Generator,
    seed: int,
    config: DriftConfig,
) -> tuple[np.ndarray, tuple[tuple[str, float], ...]]:
    """Out-of-fold classifier scores of every row, and the top features of the first fold."""
    from threadpoolctl import threadpool_limits

    scores = np.full(len(y), 0.5)
    top: tuple[tuple[str, float], ...] = ()
    # One OpenMP thread: deterministic, and oversubscribed OpenMP on a shared machine is
    # slower by an order of magnitude than a single thread.
    with threadpool_limits(limits=1, user_api="openmp"):
        for i in range(config.multivariate_folds):
            test = np.flatnonzero(fold == i)
            if test.size == 0:
                continue
            train = np.flatnonzero(fold != i)
            model, scores[test] = _fit_predict(x, y, train, test, categorical, seed, config)
            if not top and model is not None and np.unique(y[test]).size == 2:
                top = _top_features(
                    model, x, y, test, names, rng=rng, seed=seed, top_k=config.multivariate_top_k
                )
    return scores, top


def multivariate_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    schema: ModelSchema,
    config: DriftConfig,
) -> MultivariateDrift:
    """Domain-classifier drift of the feature columns (see module docstring for the method).

    Parameters
    ----------
    reference, current : DataFrame
        Reference and window rows (user column names).
    schema : ModelSchema
    config : DriftConfig
        ``multivariate_*`` settings and ``seed``.

    Returns
    -------
    MultivariateDrift
        ``insufficient_data`` when either side has fewer than ``multivariate_min_rows`` rows,
        there are no feature columns, or ``config.multivariate`` is false.
    """
    names = [
        s.name for s in schema.features if s.name in reference.columns and s.name in current.columns
    ]
    not_run = _why_not(reference, current, names, config)
    if not_run is not None:
        return not_run
    rng = np.random.default_rng(config.seed)
    k = config.multivariate_sample
    ref_s, cur_s = _subsample(reference, k, rng), _subsample(current, k, rng)
    x, y, categorical = _encode(ref_s, cur_s, schema, names)
    seed = int(rng.integers(0, 2**31 - 1))
    folds = config.multivariate_folds
    fold, n_dup = hash_folds(x, y, folds, rng)
    scores, top = _out_of_fold_scores(
        x, y, categorical, names, fold, rng=rng, seed=seed, config=config
    )
    auc, low, high = cross_validated_auc(y, scores, fold, config.multivariate_confidence)
    drifted = auc >= config.multivariate_threshold and low > 0.5
    level = f"{config.multivariate_confidence:.0%}"
    return MultivariateDrift(
        auc=auc,
        threshold=config.multivariate_threshold,
        drifted=drifted,
        status=DRIFT if drifted else OK,
        n_reference=len(ref_s),
        n_current=len(cur_s),
        folds=folds,
        top_features=top,
        importance=IMPORTANCE,
        features=tuple(names),
        reason=(
            f"HistGradientBoostingClassifier, {folds} stratified folds grouped by row hash "
            f"(equal rows in one fold), mean held-out ROC AUC {auc:.3f} ({level} interval "
            f"[{low:.3f}, {high:.3f}], DeLong with Nadeau-Bengio's correction); drift when AUC "
            f">= {config.multivariate_threshold:g} and the interval's lower bound > 0.5"
        ),
        auc_ci=(low, high),
        confidence=config.multivariate_confidence,
        n_duplicate_rows=n_dup,
    )
