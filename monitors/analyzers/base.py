"""What every analyzer hands to storage: flat metric records.

Analyzers return their own frozen dataclasses (``FeatureDrift``, ``GroupMetrics`` …)
and a function that flattens them into :class:`MetricRecord` rows. The pipeline
stores those rows (unique on model, window, analyzer, metric, feature, group) and
the alert engine and ``driftwarden metrics`` read them back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

OK: Final = "ok"
DRIFT: Final = "drift"
BREACH: Final = "breach"
INSUFFICIENT_DATA: Final = "insufficient_data"
STATUSES: Final = (OK, DRIFT, BREACH, INSUFFICIENT_DATA)


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One stored number.

    Attributes
    ----------
    analyzer : str
        ``drift``, ``quality``, ``performance``, ``fairness`` or ``explain``.
    metric : str
        Lowercase snake-case metric name (``ks``, ``psi``, ``accuracy`` …).
    feature : str or None
        Column name, fairness attribute (``sex`` or ``sex&age_band``), or ``None``
        for model-level metrics.
    group : str or None
        Fairness group (``sex=F&age_band=25-34``); ``None`` otherwise.
    value : float or None
        The statistic, distance or metric value; ``None`` when it cannot be computed.
    threshold : float or None
        The threshold the verdict was taken against, if any.
    status : str
        ``ok``, ``drift``, ``breach`` or ``insufficient_data``.
    details : dict
        JSON-serialisable extras: test name and reason, p-value, sample sizes, bins,
        confidence interval (``ci_low``, ``ci_high``) …
    """

    analyzer: str
    metric: str
    feature: str | None
    group: str | None
    value: float | None
    threshold: float | None
    status: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {self.status!r}")


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` if it is missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
