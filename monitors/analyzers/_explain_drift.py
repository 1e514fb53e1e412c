"""Attribution drift: how each feature's share of total mean |SHAP| and their ranking moved."""

from __future__ import annotations

from scipy import stats

from monitors.analyzers._explain_config import ExplainConfig
from monitors.analyzers._explain_types import (
    AttributionDrift,
    ExplainError,
    FeatureAttributionShift,
    GlobalImportance,
)
from monitors.analyzers.base import DRIFT, INSUFFICIENT_DATA, OK, finite_or_none
from monitors.errors import ConfigError


def _check_comparable(
    reference: GlobalImportance, current: GlobalImportance, config: ExplainConfig
) -> None:
    """Raise unless both importances share explainer and features and overrides name features."""
    if reference.features != current.features or reference.method != current.method:
        raise ExplainError(
            "Explain: reference and current importance must come from the same explainer; "
            f"got {reference.method} {list(reference.features)!r} and "
            f"{current.method} {list(current.features)!r}."
        )
    unknown = sorted(set(config.features) - set(current.features))
    if unknown:
        raise ConfigError(
            f"Explain config key 'features.{unknown[0]}': not an explained feature; expected one "
            f"of {list(current.features)!r}."
        )


def _feature_shifts(
    reference: GlobalImportance, current: GlobalImportance, config: ExplainConfig, enough: bool
) -> list[FeatureAttributionShift]:
    """Each feature's share change, judged against its (possibly overridden) threshold."""
    shifts = []
    for feature, ref, cur in zip(current.features, reference.shares, current.shares, strict=True):
        override = config.features.get(feature)
        threshold = config.attribution_drift_threshold
        if override is not None and override.attribution_drift_threshold is not None:
            threshold = override.attribution_drift_threshold
        change = None if ref is None or cur is None else cur - ref
        if change is None or not enough:
            status = INSUFFICIENT_DATA
        else:
            status = DRIFT if abs(change) > threshold else OK
        shifts.append(FeatureAttributionShift(feature, ref, cur, change, threshold, status))
    return shifts


def _largest_change(
    shifts: list[FeatureAttributionShift], enough: bool
) -> tuple[float | None, str]:
    """The largest |share change| (``None`` unless every feature has one) and the status."""
    changes = [abs(s.change) for s in shifts if s.change is not None]
    max_change = max(changes) if changes and len(changes) == len(shifts) else None
    if max_change is None or not enough:
        return max_change, INSUFFICIENT_DATA
    return max_change, DRIFT if any(s.status == DRIFT for s in shifts) else OK


def _rank_correlation(
    reference: GlobalImportance, current: GlobalImportance, config: ExplainConfig, enough: bool
) -> tuple[float | None, str]:
    """Spearman correlation of mean |SHAP| (three features or more) and its status."""
    rho: float | None = None
    if len(current.features) >= 3 and None not in reference.shares and None not in current.shares:
        rho = finite_or_none(stats.spearmanr(reference.mean_abs_shap, current.mean_abs_shap)[0])
    if rho is None or not enough:
        return rho, INSUFFICIENT_DATA
    return rho, DRIFT if rho < config.rank_correlation_threshold else OK


def attribution_drift(
    reference: GlobalImportance, current: GlobalImportance, *, config: ExplainConfig
) -> AttributionDrift:
    """Compare the attribution profile of a window with the reference.

    Each feature's share of total mean |SHAP| is compared (drift if the absolute change
    exceeds its threshold), and the Spearman rank correlation of the mean |SHAP|
    values (:func:`scipy.stats.spearmanr`) is compared with
    ``rank_correlation_threshold`` (drift if lower).

    Parameters
    ----------
    reference, current : GlobalImportance
        From :func:`global_importance` with the same explainer.
    config : ExplainConfig
        Thresholds, per-feature overrides and ``min_rows``.

    Returns
    -------
    AttributionDrift

    Raises
    ------
    ExplainError
        If the two importances come from different explainers or features.
    ConfigError
        If an override names a feature that is not explained.
    """
    _check_comparable(reference, current, config)
    enough = reference.status == OK and current.status == OK
    shifts = _feature_shifts(reference, current, config, enough)
    max_change, status = _largest_change(shifts, enough)
    rho, rank_status = _rank_correlation(reference, current, config, enough)
    return AttributionDrift(
        method=current.method,
        output=current.output,
        features=tuple(shifts),
        max_abs_change=max_change,
        threshold=config.attribution_drift_threshold,
        status=status,
        rank_correlation=rho,
        rank_correlation_threshold=config.rank_correlation_threshold,
        rank_status=rank_status,
        n_reference=reference.n_rows,
        n_current=current.n_rows,
    )
