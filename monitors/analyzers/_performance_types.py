"""Result types of the performance analyzer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

ANALYZER: Final = "performance"


@dataclass(frozen=True, slots=True)
class PerformanceMetric:
    """One performance number with its threshold, direction and verdict."""

    metric: str
    value: float | None
    threshold: float | None
    direction: str
    """``higher_is_better``, ``lower_is_better`` or ``none``."""
    status: str
    n: int
    """Rows the value was computed on."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Performance of one window."""

    task: str
    n_rows: int
    n_labelled: int
    metrics: tuple[PerformanceMetric, ...]

    def get(self, metric: str) -> PerformanceMetric:
        """The metric called ``metric``; :class:`KeyError` if it was not computed."""
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise KeyError(f"no performance metric {metric!r}")

    @property
    def names(self) -> list[str]:
        """Names of the metrics in the report."""
        return [m.metric for m in self.metrics]
