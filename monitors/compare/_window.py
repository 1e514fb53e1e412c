"""One window of a comparison: every metric of both models, differences, verdicts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from monitors.analyzers.estimated import Estimator
from monitors.analyzers.performance import PerformanceConfig
from monitors.compare._bootstrap import bootstrap, infer, mcnemar, verdict, wilson
from monitors.compare._config import (
    INSUFFICIENT,
    ComparisonConfig,
    Mode,
    direction,
)
from monitors.compare._estimated import RowEstimates, estimated_metrics, row_estimates
from monitors.compare._groups import group_metrics, group_sizes
from monitors.compare._metrics import Key, Masks, Values, confusion, model_metrics
from monitors.compare._overall import overall_verdict
from monitors.compare._sample import Sample, align_shadow, align_split
from monitors.compare._types import MetricDelta, ScoreDrift, Share, Traffic, WindowComparison
from monitors.errors import ConfigError
from storage.schema import ModelSchema

_SCORE_METRICS = ("roc_auc", "log_loss", "brier_score", "expected_calibration_error")


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


@dataclass(frozen=True, slots=True, eq=False)
class _Side:
    """One model's sample, masks and per-row estimates."""

    sample: Sample
    masks: Masks
    estimates: RowEstimates | None
    estimate_mask: np.ndarray


def _own_masks(s: Sample) -> Masks:
    """Rows with a prediction / label / score / latency of one sample."""
    pred = s.pred >= 0 if s.classification else np.isfinite(s.pred)
    label = s.labelled()
    score = label & (np.isfinite(s.score) if s.score is not None else False)
    latency = np.isfinite(s.latency) if s.latency is not None else np.zeros(s.n, dtype=bool)
    return Masks(pred, label, np.asarray(score, dtype=bool), latency)


def _sides(
    b: Sample, c: Sample, mode: Mode, estimators: tuple[Estimator | None, Estimator | None]
) -> tuple[_Side, _Side]:
    """Masks (shared in shadow mode, so both models use the same rows) and estimates."""
    mb, mc = _own_masks(b), _own_masks(c)
    eb = row_estimates(estimators[0], b.frame) if estimators[0] is not None else None
    ec = row_estimates(estimators[1], c.frame) if estimators[1] is not None else None
    if eb is None or ec is None or eb.method != ec.method:
        eb = ec = None
    vb = eb.valid if eb is not None else np.zeros(b.n, dtype=bool)
    vc = ec.valid if ec is not None else np.zeros(c.n, dtype=bool)
    if mode == "shadow":
        both = Masks(
            *(
                x & y
                for x, y in zip(
                    (mb.pred, mb.label, mb.score, mb.latency),
                    (mc.pred, mc.label, mc.score, mc.latency),
                    strict=True,
                )
            )
        )
        mb = mc = both
        vb = vc = vb & vc
    return _Side(b, mb, eb, vb), _Side(c, mc, ec, vc)


def _present(sides: tuple[_Side, _Side]) -> np.ndarray:
    """Classes present (labels or predictions) in either window: the macro average's set."""
    s = sides[0].sample
    k = len(s.classes)
    if not s.classification or k == 0:
        return np.zeros(0, dtype=bool)
    total = np.zeros((k, k))
    for side in sides:
        total += confusion(side.sample, np.ones((side.sample.n, 1)), side.masks.label)[0]
    return (total.sum(axis=0) + total.sum(axis=1)) > 0


def _evaluator(side: _Side, config: ComparisonConfig, perf: PerformanceConfig, present: np.ndarray):
    """The function from resample weights to every metric of one side."""

    def evaluate(w: np.ndarray) -> Values:
        out = model_metrics(side.sample, w, side.masks, config=perf, present=present)
        if config.fairness:
            out.update(group_metrics(side.sample, w, side.masks, config=perf, present=present))
        if side.estimates is not None:
            for name, v in estimated_metrics(side.estimates, w, side.estimate_mask).items():
                out[(name, None, None)] = v
        return out

    return evaluate


def _sizes(side: _Side, keys: set[Key]) -> dict[Key, int]:
    """Rows behind every compared value of one side."""
    m = side.masks
    out = group_sizes(side.sample, m)
    for key in keys:
        name = key[0]
        if key[1] is not None:
            continue
        if name.startswith("estimated_"):
            out[key] = int(side.estimate_mask.sum())
        elif name.startswith("latency_"):
            out[key] = int(m.latency.sum())
        elif name in _SCORE_METRICS:
            out[key] = int(m.score.sum())
        else:
            out[key] = int(m.label.sum())
    return out


def _kind(key: Key) -> str:
    if key[1] is None:
        return "estimated" if key[0].startswith("estimated_") else "performance"
    return "disparity" if key[2] is None else "group"


def _delta(
    key: Key,
    point: tuple[float | None, float | None],
    boot: tuple[np.ndarray, np.ndarray],
    n: tuple[int, int],
    *,
    config: ComparisonConfig,
    test: str,
) -> MetricDelta:
    """One :class:`MetricDelta` from the point values, the resamples and the sizes."""
    metric = key[0]
    base, cand = point
    delta = None if base is None or cand is None else cand - base
    inf = infer(boot[1] - boot[0], alpha=config.alpha, power=config.power, n=max(1, min(n)))
    details: dict[str, Any] = {"alpha": config.alpha, "n_valid_resamples": inf.n_valid}
    result = verdict(
        delta,
        inf.ci_low,
        inf.ci_high,
        direction=direction(metric),
        min_effect=config.min_effect.get(metric, 0.0),
    )
    if min(n) < config.min_rows:
        result = INSUFFICIENT
        details["reason"] = f"{min(n)} row(s); a verdict needs {config.min_rows}"
    elif delta is None:
        details["reason"] = "undefined for this window (e.g. no positives)"
    elif result == INSUFFICIENT:
        details["reason"] = "undefined in most resamples"
    if _kind(key) == "disparity":
        for name, values in (("baseline_ci", boot[0]), ("candidate_ci", boot[1])):
            ok = values[np.isfinite(values)]
            if ok.size:
                lo, hi = np.quantile(ok, [config.alpha / 2, 1 - config.alpha / 2])
                details[name] = [float(lo), float(hi)]
    return MetricDelta(
        kind=_kind(key),
        metric=metric,
        feature=key[1],
        group=key[2],
        direction=direction(metric),
        baseline=base,
        candidate=cand,
        delta=delta,
        ci_low=inf.ci_low,
        ci_high=inf.ci_high,
        p_value=inf.p_value,
        se=inf.se,
        mde=inf.mde,
        n_baseline=n[0],
        n_candidate=n[1],
        test=test,
        verdict=result,
        details=details,
    )


def _with_mcnemar(d: MetricDelta, b: _Side, c: _Side, config: ComparisonConfig) -> MetricDelta:
    """Shadow-mode accuracy: McNemar's exact test decides; the interval stays bootstrap."""
    rows = b.masks.label
    right_b = b.sample.y[rows] == b.sample.pred[rows]
    right_c = c.sample.y[rows] == c.sample.pred[rows]
    only_b, only_c, p = mcnemar(right_b, right_c)
    result = d.verdict
    if result != INSUFFICIENT and d.delta is not None:
        better = d.delta > 0 and abs(d.delta) >= config.min_effect.get("accuracy", 0.0)
        worse = d.delta < 0 and abs(d.delta) >= config.min_effect.get("accuracy", 0.0)
        significant = p < config.alpha
        result = "no_difference"
        if significant and better:
            result = "candidate_better"
        elif significant and worse:
            result = "candidate_worse"
    details = {**d.details, "baseline_only_correct": only_b, "candidate_only_correct": only_c}
    test = f"McNemar exact test; interval: {d.test}"
    return replace(d, p_value=p, verdict=result, test=test, details=details)


def _agreement(b: Sample, c: Sample, masks: Masks, alpha: float) -> Share | None:
    """Shadow mode, classifiers: share of requests both models gave the same class."""
    if not b.classification:
        return None
    rows = masks.pred
    n = int(rows.sum())
    same = int(np.count_nonzero(b.pred[rows] == c.pred[rows]))
    low, high = wilson(same, n, alpha)
    return Share(same / n if n else None, low, high, n)


def _score_drift(b: Sample, c: Sample, b_schema: ModelSchema) -> ScoreDrift | None:
    """Shadow mode: KS distance between the two score (regression: prediction) columns."""
    if b.classification:
        if b.score is None or c.score is None or b_schema.score is None:
            return None
        xb, xc, column = b.score, c.score, b_schema.score.name
    else:
        xb, xc, column = b.pred, c.pred, b_schema.prediction.name
    rows = np.isfinite(xb) & np.isfinite(xc)
    n = int(rows.sum())
    if n < 2:
        return ScoreDrift(column, None, None, None, None, n)
    test = stats.ks_2samp(xb[rows], xc[rows])
    corr = None
    if np.std(xb[rows]) > 0 and np.std(xc[rows]) > 0:
        corr = _finite(np.corrcoef(xb[rows], xc[rows])[0, 1])
    return ScoreDrift(
        column,
        _finite(test.statistic),
        _finite(test.pvalue),
        _finite(np.abs(xb[rows] - xc[rows]).mean()),
        corr,
        n,
    )


def _traffic(n_b: int, n_c: int, split: float, config: ComparisonConfig) -> Traffic:
    """Split mode: the candidate's share of rows and the sample-ratio-mismatch test."""
    total = n_b + n_c
    low, high = wilson(n_c, total, config.alpha)
    share = Share(n_c / total if total else None, low, high, total)
    if total == 0:
        return Traffic(share, split, None, None, False)
    expected = np.array([total * (1 - split), total * split])
    chi2 = float((((np.array([n_b, n_c]) - expected) ** 2) / expected).sum())
    p = float(stats.chi2.sf(chi2, 1))
    return Traffic(share, split, chi2, p, p < config.srm_alpha)


def _all_deltas(
    sb: _Side, sc: _Side, *, mode: Mode, config: ComparisonConfig, performance: PerformanceConfig
) -> list[MetricDelta]:
    """Point values, the bootstrap and one :class:`MetricDelta` per compared value."""
    present = _present((sb, sc))
    eval_b = _evaluator(sb, config, performance, present)
    eval_c = _evaluator(sc, config, performance, present)
    point_b = eval_b(np.ones((sb.sample.n, 1)))
    point_c = eval_c(np.ones((sc.sample.n, 1)))
    boot = bootstrap(
        eval_b,
        eval_c,
        n_baseline=sb.sample.n,
        n_candidate=sc.sample.n,
        paired=mode == "shadow",
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )
    keys = point_b.keys() & point_c.keys() & boot.keys()
    n_b, n_c = _sizes(sb, keys), _sizes(sc, keys)
    kind = "paired" if mode == "shadow" else "unpaired"
    test = f"{kind} bootstrap ({config.n_bootstrap} resamples), expanded percentile interval"
    deltas = []
    for key in sorted(keys, key=lambda k: (k[1] or "", k[2] or "", k[0])):
        d = _delta(
            key,
            (_finite(point_b[key][0]), _finite(point_c[key][0])),
            boot[key],
            (n_b.get(key, 0), n_c.get(key, 0)),
            config=config,
            test=test,
        )
        if mode == "shadow" and key == ("accuracy", None, None):
            d = _with_mcnemar(d, sb, sc, config)
        deltas.append(d)
    return deltas


def _check(
    baseline_schema: ModelSchema, candidate_schema: ModelSchema, mode: str, split: float | None
) -> None:
    if baseline_schema.task is not candidate_schema.task:
        raise ConfigError(
            f"the two models must have the same task; baseline is "
            f"{baseline_schema.task.value!r}, candidate {candidate_schema.task.value!r}"
        )
    if mode not in ("shadow", "split"):
        raise ConfigError(f"mode: expected 'shadow' or 'split'; got {mode!r}")
    if mode == "split" and (split is None or not 0.0 < split < 1.0):
        raise ConfigError(f"split: expected the candidate's share in (0, 1); got {split!r}")


def compare_window(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    baseline_schema: ModelSchema,
    candidate_schema: ModelSchema,
    mode: Mode,
    config: ComparisonConfig,
    performance: PerformanceConfig | None = None,
    split: float | None = None,
    estimators: tuple[Estimator | None, Estimator | None] = (None, None),
) -> WindowComparison:
    """Compare a candidate model with the baseline on one window.

    Parameters
    ----------
    baseline, candidate : pandas.DataFrame
        The two models' rows of the window (user column names).
    baseline_schema, candidate_schema : ModelSchema
        Same task; in shadow mode the ids join the two windows.
    mode : {"shadow", "split"}
        Paired (same requests) or unpaired (each its own traffic).
    config : ComparisonConfig
        Significance, bootstrap, minimum rows, primary metric.
    performance : PerformanceConfig, optional
        The candidate's performance settings (multiclass averaging, calibration bins).
    split : float, optional
        Split mode: the declared share of traffic sent to the candidate.
    estimators : (Estimator or None, Estimator or None)
        Fitted CBPE / DLE estimators of baseline and candidate, for ``estimated_*``
        differences (both needed).

    Returns
    -------
    WindowComparison

    Raises
    ------
    ConfigError
        If the tasks differ, the mode is unknown or the split is not in (0, 1).
    """
    _check(baseline_schema, candidate_schema, mode, split)
    perf = performance or PerformanceConfig()
    align = align_shadow if mode == "shadow" else align_split
    b, c = align(
        baseline,
        candidate,
        baseline_schema=baseline_schema,
        candidate_schema=candidate_schema,
        max_groups=config.max_groups,
    )
    sb, sc = _sides(b, c, mode, estimators)
    deltas = _all_deltas(sb, sc, mode=mode, config=config, performance=perf)
    traffic = _traffic(b.n, c.n, split or 0.5, config) if mode == "split" else None
    task = candidate_schema.task
    return WindowComparison(
        mode=mode,
        alpha=config.alpha,
        n_bootstrap=config.n_bootstrap,
        n_baseline=len(baseline),
        n_candidate=len(candidate),
        n_shared=b.n if mode == "shadow" else None,
        n_labelled=int(sb.masks.label.sum() + (0 if mode == "shadow" else sc.masks.label.sum())),
        deltas=tuple(deltas),
        agreement=_agreement(b, c, sb.masks, config.alpha) if mode == "shadow" else None,
        score_drift=_score_drift(b, c, baseline_schema) if mode == "shadow" else None,
        traffic=traffic,
        verdict=overall_verdict(deltas, task=task, config=config, traffic=traffic),
    )
