"""The report's findings in words: who each failing disparity disadvantages, and by how much.

For every disparity that fails its threshold, the group at the unfavourable extreme of
the rate it compares (lowest selection rate for demographic parity and the impact
ratio, lowest true positive rate for equal opportunity, whichever of the true or false
positive rate gaps is larger for equalized odds), that group's rate against the
reference group's (the other extreme), their ratio, and the disparity with its interval
and threshold. Findings of one attribute are gathered in one entry, attributes before
intersections, the worst first; the headline of an attribute is its worst check of the
selection rate (who gets the favourable outcome) when one fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from monitors.analyzers.fairness import DISPARITIES, Disparity, FairnessReport, GroupMetrics

#: Per-group rates a disparity compares.
BASE_RATES: Final[dict[str, tuple[str, ...]]] = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "disparate_impact_ratio": ("selection_rate",),
    "equal_opportunity_difference": ("tpr",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "equalized_odds_ratio": ("tpr", "fpr"),
}
RATE_NAMES: Final = {
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
}
#: Rates that are unfavourable when high (the others when low).
_HIGH_IS_WORSE: Final = frozenset({"fpr"})


@dataclass(frozen=True, slots=True)
class _Extreme:
    """The unfavourable and the favourable group of one rate."""

    rate: str
    group: str
    value: float
    reference_group: str
    reference_value: float
    insufficient: bool


def _extreme(groups: list[GroupMetrics], rate: str) -> _Extreme | None:
    """The groups at both ends of ``rate`` (ties by name), or ``None`` with fewer than two."""
    known = []
    for g in groups:
        try:
            est = g.estimate(rate)
        except KeyError:
            continue
        if est.value is not None:
            known.append((est.value, g.group, g.insufficient_data))
    if len(known) < 2:
        return None
    known.sort()
    low, high = known[0], known[-1]
    worst, best = (high, low) if rate in _HIGH_IS_WORSE else (low, high)
    return _Extreme(rate, worst[1], worst[0], best[1], best[0], worst[2])


def _worst_of(d: Disparity, groups: list[GroupMetrics]) -> _Extreme | None:
    """The extreme of the rate behind ``d`` with the larger gap."""
    found = [e for r in BASE_RATES.get(d.metric, ()) if (e := _extreme(groups, r)) is not None]
    return max(found, key=lambda e: abs(e.value - e.reference_value), default=None)


def _ratio(value: float, reference: float) -> float | None:
    """``value / reference`` or ``None`` when the reference is 0."""
    return value / reference if reference else None


def _disparity_words(d: Disparity, confidence: float) -> str:
    """``disparate impact ratio 0.6071 (95 % interval 0.52–0.70; must be ≥ 0.8)``."""
    rule = "≤" if DISPARITIES[d.metric] else "≥"
    interval = (
        f"{confidence * 100:.0f} % interval {d.ci_low:.4f}–{d.ci_high:.4f}; "
        if d.ci_low is not None and d.ci_high is not None
        else ""
    )
    value = "undefined" if d.value is None else f"{d.value:.4f}"
    return f"{d.metric.replace('_', ' ')} {value} ({interval}must be {rule} {d.threshold:g})"


def _entry(
    feature: str, failing: list[Disparity], groups: list[GroupMetrics], confidence: float
) -> dict[str, Any]:
    """One attribute's findings: the disadvantaged group in words, then each failing check."""
    worst = _worst_of(failing[0], groups)
    checks = []
    for d in failing:
        e = _worst_of(d, groups)
        checks.append(
            {
                "metric": d.metric,
                "value": d.value,
                "threshold": d.threshold,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
                "restricted_value": d.restricted_value,
                "rate": None if e is None else e.rate,
                "group": None if e is None else e.group,
                "group_rate": None if e is None else e.value,
                "reference_group": None if e is None else e.reference_group,
                "reference_rate": None if e is None else e.reference_value,
                "ratio": None if e is None else _ratio(e.value, e.reference_value),
                "text": _disparity_words(d, confidence),
            }
        )
    if worst is None:
        text = f"{feature}: {len(failing)} disparity check(s) fail."
    else:
        word = "highest" if worst.rate in _HIGH_IS_WORSE else "lowest"
        ratio = _ratio(worst.value, worst.reference_value)
        small = " (a group below the minimum size: unreliable)" if worst.insufficient else ""
        text = (
            f"{feature}: {worst.group} has the {word} {RATE_NAMES[worst.rate]}, "
            f"{worst.value:.4f} vs {worst.reference_value:.4f} for {worst.reference_group}"
            + (f" (ratio {ratio:.2f})" if ratio is not None else "")
            + f"{small}."
        )
    return {
        "feature": feature,
        "intersectional": "&" in feature,
        "group": None if worst is None else worst.group,
        "reference_group": None if worst is None else worst.reference_group,
        "text": text,
        "failing": checks,
    }


def _severity(d: Disparity) -> float:
    """How far past its threshold a failing disparity is (over groups with enough rows)."""
    value = d.restricted_value if d.restricted_value is not None else d.value
    if value is None:
        return 0.0
    return value - d.threshold if DISPARITIES[d.metric] else d.threshold - value


def findings(report: FairnessReport) -> list[dict[str, Any]]:
    """The failing disparities grouped by attribute, each with its disadvantaged group.

    Parameters
    ----------
    report : FairnessReport
        The fairness analyzer's result over the report's period.

    Returns
    -------
    list of dict
        One entry per attribute or intersection with a failing disparity: ``feature``,
        ``intersectional``, ``group`` and ``reference_group`` (the unfavourable and
        favourable extremes of the worst failing check's rate), ``text`` (a sentence)
        and ``failing`` (per failing disparity: value, threshold, interval, restricted
        value, the rate compared, both groups and rates, their ratio, and ``text``;
        checks of selection rates first, then the largest excess). Attributes come
        before intersections; within each, the largest excess first.
    """
    by_feature: dict[str, list[Disparity]] = {}
    for d in report.disparities:
        if d.breach:
            by_feature.setdefault(d.feature, []).append(d)
    groups: dict[str, list[GroupMetrics]] = {}
    for g in report.groups:
        groups.setdefault(g.feature, []).append(g)
    entries = []
    for feature, failing in by_feature.items():
        failing = sorted(
            failing,
            key=lambda d: (
                BASE_RATES.get(d.metric) != ("selection_rate",),  # outcomes first
                -round(_severity(d), 9),
                d.metric != "disparate_impact_ratio",
                d.metric,
            ),
        )
        entries.append((("&" in feature), -_severity(failing[0]), feature, failing))
    entries.sort(key=lambda t: t[:3])
    return [_entry(f, failing, groups.get(f, []), report.confidence) for *_, f, failing in entries]
