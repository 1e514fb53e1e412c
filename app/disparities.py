"""What the fairness page says about a window: which breach matters most, and who it hurts.

Pure functions over the frames of :mod:`app.data` (no Streamlit, no database):

* :func:`most_severe` ranks the breaching disparities of every attribute and
  intersection of the last window. Breaches that hold over the groups with enough
  rows (``restricted_value``) come before those that only tiny groups produce; then
  the distance past the threshold decides.
* :func:`finding` names, for one disparity, the group at the extreme of the rate it
  compares (lowest selection rate, lowest true positive rate, …) and the group it is
  compared with.
* :func:`group_status` explains each group's row in words (``lowest selection rate,
  0.17 vs 0.73``, ``waiting for labels (coverage 0 %)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from app import format as fmt
from monitors.reports import findings
from monitors.reports.findings import BASE_RATES

#: Rates named in words: the report's, and the other per-group metrics the page shows.
RATE_NAMES: Final = {
    **findings.RATE_NAMES,
    "fnr": "false negative rate",
    "precision": "precision",
    "accuracy": "accuracy",
    "count": "rows",
    "mean_prediction": "mean prediction",
    "mae": "mean absolute error",
}
#: Disparities where higher values are worse (differences); the others are ratios.
HIGHER_IS_WORSE: Final = frozenset(
    {"demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference"}
)
#: Per-group metrics that need labels.
LABEL_METRICS: Final = frozenset({"tpr", "fpr", "fnr", "precision", "accuracy", "mae"})
#: A false positive rate is worse when high; the other rates when low.
_HIGH_IS_WORSE_RATES: Final = frozenset({"fpr", "fnr", "mae"})


def metric_name(metric: str) -> str:
    """A metric in words (``disparate_impact_ratio`` → ``disparate impact ratio``)."""
    return RATE_NAMES.get(metric, metric.replace("_", " "))


@dataclass(frozen=True, slots=True)
class Breach:
    """A breaching disparity of one attribute, with how far past its threshold it is."""

    feature: str
    metric: str
    value: float
    threshold: float
    ci_low: float | None
    ci_high: float | None
    restricted_value: float | None
    excess: float
    robust: bool
    """Whether the disparity breaches over the groups with enough rows too."""


def _excess(metric: str, value: float | None, threshold: float) -> float | None:
    """How far ``value`` is past ``threshold`` (positive when breaching), or ``None``."""
    if value is None or pd.isna(value) or pd.isna(threshold):
        return None
    return float(value - threshold if metric in HIGHER_IS_WORSE else threshold - value)


def _number(value: Any) -> float | None:
    """``value`` as a float, ``None`` for absent or NaN."""
    return None if fmt.missing(value) else float(value)


def breaches(last: pd.DataFrame) -> list[Breach]:
    """Breaching disparities of a window (``last``: disparity rows with ``details``), worst first.

    A breach whose ``restricted_value`` (over groups with at least the minimum size) also
    breaches ranks before one that only insufficient groups produce; then the larger
    distance past the threshold, then the feature name.
    """
    found = []
    for row in last[last["status"] == "breach"].itertuples(index=False):
        details = row.details if isinstance(row.details, Mapping) else {}
        value = _number(row.value)
        threshold = _number(row.threshold)
        if value is None or threshold is None:
            continue
        restricted = _number(details.get("restricted_value"))
        restricted_excess = _excess(row.metric, restricted, threshold)
        robust = restricted_excess is not None and restricted_excess > 0
        found.append(
            Breach(
                feature=str(row.feature),
                metric=str(row.metric),
                value=value,
                threshold=threshold,
                ci_low=_number(details.get("ci_low")),
                ci_high=_number(details.get("ci_high")),
                restricted_value=restricted,
                excess=float(
                    restricted_excess if robust else _excess(row.metric, value, threshold)
                ),
                robust=robust,
            )
        )
    return sorted(
        found,
        key=lambda b: (
            not b.robust,
            -round(b.excess, 9),
            b.feature,
            b.metric != "disparate_impact_ratio",  # on a tie, the four-fifths ratio first
            b.metric,
        ),
    )


def most_severe(last: pd.DataFrame) -> Breach | None:
    """The worst breach of the window (see :func:`breaches`), or ``None``."""
    ranked = breaches(last)
    return ranked[0] if ranked else None


@dataclass(frozen=True, slots=True)
class Finding:
    """Who a disparity puts at a disadvantage, on which rate, against whom."""

    rate: str
    group: str
    value: float
    reference_group: str
    reference_value: float
    insufficient: bool
    """Whether the disadvantaged group is smaller than the minimum group size."""

    def sentence(self) -> str:
        """``group=D has the lowest selection rate, 0.17 vs 0.73 for group=A`` (Markdown)."""
        word = "highest" if self.rate in _HIGH_IS_WORSE_RATES else "lowest"
        small = " (a group too small to be reliable)" if self.insufficient else ""
        return (
            f"**{fmt.md(self.group)}** has the {word} {metric_name(self.rate)}, "
            f"{fmt.fixed(self.value)} vs {fmt.fixed(self.reference_value)} for "
            f"**{fmt.md(self.reference_group)}**{small}"
        )

    def short(self) -> str:
        """``lowest selection rate, 0.17 vs 0.73`` (plain text)."""
        word = "highest" if self.rate in _HIGH_IS_WORSE_RATES else "lowest"
        return (
            f"{word} {metric_name(self.rate)}, {fmt.fixed(self.value)} vs "
            f"{fmt.fixed(self.reference_value)} ({self.reference_group})"
        )


def _extremes(rates: pd.DataFrame, rate: str) -> Finding | None:
    """The worst and best group of one rate in ``rates`` (last window, per group)."""
    part = rates[(rates["metric"] == rate) & rates["value"].notna()]
    if len(part) < 2:
        return None
    part = part.sort_values(["value", "group"])
    worst, best = (part.iloc[-1], part.iloc[0])
    if rate not in _HIGH_IS_WORSE_RATES:
        worst, best = best, worst
    return Finding(
        rate=rate,
        group=str(worst["group"]),
        value=float(worst["value"]),
        reference_group=str(best["group"]),
        reference_value=float(best["value"]),
        insufficient=worst.get("status") == "insufficient_data",
    )


def finding(metric: str, rates: pd.DataFrame) -> Finding | None:
    """The group a disparity puts at a disadvantage, from the window's per-group ``rates``.

    ``rates``: ``group``, ``metric``, ``value``, ``status`` of one attribute and window.
    Equalized odds take whichever of the true and false positive rate gaps is larger.
    """
    candidates = [f for r in BASE_RATES.get(metric, ()) if (f := _extremes(rates, r))]
    if not candidates:
        return None
    return max(candidates, key=lambda f: abs(f.value - f.reference_value))


def roles(findings: list[Finding], rate: str | None = None) -> dict[str, str]:
    """Group → ``"disadvantaged"``/``"reference"`` for the chart colours (of ``rate`` if given)."""
    out: dict[str, str] = {}
    for f in findings:
        if rate is not None and f.rate != rate:
            continue
        out.setdefault(f.reference_group, "reference")
        out[f.group] = "disadvantaged"
    return out


def waiting_for_labels(coverage: float | None) -> str:
    """``waiting for labels (coverage 0 %)``."""
    return f"waiting for labels (coverage {fmt.pct(coverage or 0.0)})"


def _insufficient(metric: str, details: Mapping[str, Any], value: float | None) -> str:
    """Why a group's value is flagged: no labels yet, too few rows or labels, undefined."""
    n = int(details.get("n") or 0)
    labelled = int(details.get("n_labelled") or 0)
    minimum = details.get("min_group_size")
    if metric in LABEL_METRICS:
        coverage = labelled / n if n else 0.0
        if labelled == 0:
            return waiting_for_labels(coverage)
        if minimum is not None and labelled < int(minimum):
            return (
                f"too few labels yet: {labelled:,} of {n:,} rows labelled "
                f"(coverage {fmt.pct(coverage)}; minimum {int(minimum)})"
            )
    if minimum is not None and n < int(minimum):
        return f"too few rows: {n:,} (minimum {int(minimum)})"
    if value is None:
        return f"undefined: {details.get('reason') or 'no value'}"
    return "insufficient data"


def group_status(
    row: Mapping[str, Any], metric: str, findings: list[Finding], ratios: Mapping[str, Any]
) -> str:
    """One group's status in words, for its row of the per-group table.

    ``row``: ``group``, ``value``, ``status``, ``details`` of the group and ``metric``;
    ``findings``: the breaching disparities' findings; ``ratios``: the impact ratio of
    each group (``group_ratios`` of ``disparate_impact_ratio``), if stored.
    """
    details = row.get("details") if isinstance(row.get("details"), Mapping) else {}
    value = _number(row.get("value"))
    group = str(row.get("group"))
    if row.get("status") == "insufficient_data" or value is None:
        return _insufficient(metric, details or {}, value)
    for f in findings:
        if f.rate == metric and f.group == group:
            return f.short()
    for f in findings:
        if f.rate == metric and f.reference_group == group:
            word = "highest" if metric not in _HIGH_IS_WORSE_RATES else "lowest"
            return f"{word} {metric_name(metric)}: the group the others are compared with"
    ratio = _number(ratios.get(group)) if metric == "selection_rate" else None
    if ratio is not None:
        return f"ok: {fmt.pct(ratio)} of the highest selection rate"
    return "ok"


def disparity_status(row: Mapping[str, Any], coverage: float | None) -> str:
    """A disparity's status in words: breach/ok with its rule, or why it has no value."""
    details = row.get("details") if isinstance(row.get("details"), Mapping) else {}
    value = _number(row.get("value"))
    threshold = _number(row.get("threshold"))
    rule = "≤" if row.get("metric") in HIGHER_IS_WORSE else "≥"
    if value is None:
        if row.get("metric") in BASE_RATES and "tpr" in BASE_RATES[str(row.get("metric"))]:
            if not coverage:
                return waiting_for_labels(coverage)
            return f"too few labels yet (coverage {fmt.pct(coverage)})"
        return f"undefined: {(details or {}).get('reason') or 'not enough data'}"
    limit = f"must be {rule} {fmt.fixed(threshold)}" if threshold is not None else ""
    if row.get("status") == "breach":
        return f"BREACH ({limit})"
    if row.get("status") == "insufficient_data":
        return f"insufficient data: {(details or {}).get('reason') or 'groups too small'}"
    return f"ok ({limit})" if limit else "ok"
