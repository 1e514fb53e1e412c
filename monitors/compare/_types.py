"""Result types of a comparison (import them from :mod:`monitors.compare`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One compared metric: both values, the difference candidate − baseline, its verdict.

    ``kind`` is ``performance`` (model level), ``group`` (one fairness group),
    ``disparity`` (one attribute's disparity) or ``estimated`` (CBPE / DLE, no labels).
    ``ci_low`` / ``ci_high`` bound the difference at confidence ``1 - alpha``; ``se`` is
    its bootstrap standard error and ``mde`` the smallest true difference this sample
    would detect with the configured power. ``verdict`` is ``candidate_better``,
    ``no_difference``, ``candidate_worse`` or ``insufficient_data``.
    """

    kind: str
    metric: str
    feature: str | None
    group: str | None
    direction: str
    baseline: float | None
    candidate: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    se: float | None
    mde: float | None
    n_baseline: int
    n_candidate: int
    test: str
    verdict: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Share:
    """A proportion with its Wilson interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass(frozen=True, slots=True)
class Traffic:
    """Split mode: the candidate's share of the traffic against the declared split."""

    share: Share
    expected: float
    chi2: float | None
    p_value: float | None
    mismatch: bool


@dataclass(frozen=True, slots=True)
class ScoreDrift:
    """Shadow mode: how far apart the two models' score distributions are."""

    column: str
    ks: float | None
    p_value: float | None
    mean_abs_difference: float | None
    correlation: float | None
    n: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The overall verdict of a window or period, taken on the primary metric."""

    verdict: str
    metric: str
    basis: str
    """``realized`` (labels), ``estimated`` (CBPE / DLE) or ``none``."""
    delta: MetricDelta | None
    worse_on: tuple[str, ...] = ()
    better_on: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """The verdict in words."""
        return verdict_sentence(self)


@dataclass(frozen=True, slots=True)
class WindowComparison:
    """Everything compared in one window."""

    mode: str
    alpha: float
    n_bootstrap: int
    n_baseline: int
    n_candidate: int
    n_shared: int | None
    """Shadow mode: rows both models scored (joined on the id)."""
    n_labelled: int
    deltas: tuple[MetricDelta, ...]
    agreement: Share | None
    score_drift: ScoreDrift | None
    traffic: Traffic | None
    verdict: Verdict

    def get(self, metric: str, feature: str | None = None, group: str | None = None) -> MetricDelta:
        """The compared metric with that name, feature and group; :class:`KeyError` if none."""
        for d in self.deltas:
            if (d.metric, d.feature, d.group) == (metric, feature, group):
                return d
        raise KeyError(f"no compared metric {metric!r} (feature {feature!r}, group {group!r})")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4g}"


def verdict_sentence(v: Verdict) -> str:
    """``Verdict`` in one sentence (plain text, no markup)."""
    d = v.delta
    basis = " (estimated without labels)" if v.basis == "estimated" else ""
    if v.verdict == "insufficient_data" or d is None:
        why = d.details.get("reason") if d is not None else None
        return f"Not enough data for a verdict on {v.metric}{basis}" + (f": {why}." if why else ".")
    alpha = d.details.get("alpha")
    interval = f"[{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]"
    words = {
        "candidate_better": "The candidate is better",
        "candidate_worse": "The candidate is worse",
        "no_difference": "No significant difference",
    }[v.verdict]
    text = (
        f"{words} on {v.metric}{basis}: candidate − baseline = {_fmt(d.delta)}, interval {interval}"
    )
    if alpha is not None:
        text += f" at α = {alpha:g}"
    if d.mde is not None:
        text += f"; smallest detectable difference at this size ≈ {abs(d.mde):.3g}"
    return text + "."
