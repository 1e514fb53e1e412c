"""The overall verdict of a window or a period: the primary metric's, with what else moved."""

from __future__ import annotations

from collections.abc import Sequence

from monitors.compare._config import (
    BETTER,
    INSUFFICIENT,
    WORSE,
    ComparisonConfig,
    default_primary,
)
from monitors.compare._types import MetricDelta, Traffic, Verdict
from storage.schema import Task


def describe(d: MetricDelta) -> str:
    """``recall``, ``recall (sex=F)`` or ``demographic_parity_difference (sex)``.

    Examples
    --------
    >>> from monitors.compare._types import MetricDelta
    >>> d = MetricDelta("group", "recall", "sex", "sex=F", "higher_is_better", 0.8, 0.7,
    ...                 -0.1, -0.2, -0.01, 0.01, 0.05, 0.1, 100, 100, "t", "candidate_worse")
    >>> describe(d)
    'recall (sex=F)'
    """
    where = d.group or d.feature
    return f"{d.metric} ({where})" if where else d.metric


def overall_verdict(
    deltas: Sequence[MetricDelta],
    *,
    task: Task,
    config: ComparisonConfig,
    traffic: Traffic | None = None,
) -> Verdict:
    """The verdict on the primary metric (realized, else estimated), and what else moved.

    ``worse_on`` / ``better_on`` list every other compared value whose own verdict is
    ``candidate_worse`` / ``candidate_better`` (each at ``alpha``, not corrected for the
    number of metrics and groups: read them as leads, not as the verdict).
    """
    primary = config.primary_metric or default_primary(task)
    by_key = {(d.metric, d.feature, d.group): d for d in deltas}
    chosen = by_key.get((primary, None, None))
    basis = "realized"
    if chosen is None or chosen.verdict == INSUFFICIENT:
        estimated = by_key.get((f"estimated_{primary}", None, None))
        if estimated is not None and estimated.verdict != INSUFFICIENT:
            chosen, basis = estimated, "estimated"
    if chosen is None:
        basis = "none"
    warnings = []
    if traffic is not None and traffic.mismatch:
        warnings.append(
            f"sample ratio mismatch: the candidate got {traffic.share.value:.1%} of the rows, "
            f"{traffic.expected:.1%} declared (chi-square p = {traffic.p_value:.2g}); "
            "the split is not random and the verdict may be biased"
        )
    others = [d for d in deltas if d is not chosen]
    return Verdict(
        verdict=chosen.verdict if chosen is not None else INSUFFICIENT,
        metric=chosen.metric if chosen is not None else primary,
        basis=basis if chosen is None or chosen.verdict != INSUFFICIENT else "none",
        delta=chosen,
        worse_on=tuple(describe(d) for d in others if d.verdict == WORSE),
        better_on=tuple(describe(d) for d in others if d.verdict == BETTER),
        warnings=tuple(warnings),
    )
